/**
 * Installing a release into the inactive slot. The order is what makes it safe:
 * the old entry of that slot leaves the ESP and the slot loses its name (nothing can boot it),
 * the root and verity images are streamed in and checked (sha256 and length as signed, then the
 * dm-verity root hash from the written blocks), the slot is named by its root hash, and only then
 * does the new UKI appear on the ESP (written, then renamed). A failure anywhere leaves the running
 * slot and its entry as they were.
 */
import { closeSync, openSync, rmSync } from 'node:fs';
import { VerificationError } from '../../errors.ts';
import { PARTITION_TYPES, rootLabel } from '../../shared/layout.ts';
import { dropCachedBlocks } from '../blockdev.ts';
import { downloadInto } from '../download.ts';
import { clearSlot, nameSlot, readSlots, slotOfRootHash, type Slot } from '../slots.ts';
import { slotRootHash } from '../verity.ts';
import { mountEsp, removeUkis, stageUki } from './esp.ts';
import { measureRoom, roomProblem } from './room.ts';
import { partitionDevice, type RunningHost } from './host.ts';
import type { Release, UpdateRepository } from './repository.ts';

export interface ApplyProgress {
  (step: string): void;
}

async function streamInto(repository: UpdateRepository, target: Release['root'], device: string, say: ApplyProgress): Promise<void> {
  const fd = openSync(device, 'r+');
  try {
    say(`writing ${target.path} (${(target.length / 1048576).toFixed(1)} MiB) to ${device}`);
    await downloadInto(repository.targetUrl(target), fd, 0, { length: target.length, sha256: target.hashes.sha256! });
  } finally {
    closeSync(fd);
  }
}

export interface Installed {
  slot: Slot;
  /** Seconds spent streaming the root and verity images into the slot (download, hash, write, fsync). */
  writeSeconds: number;
}

/**
 * `beforeBootable` runs once the slot is written, verified and named, just before the UKI makes it
 * bootable: the agent records the update in flight there, so a boot of the new version is never
 * one it does not know about (and can't mark bad if it fails).
 */
export async function installRelease(host: RunningHost, release: Release, repository: UpdateRepository, say: ApplyProgress, beforeBootable: (slot: Slot) => void): Promise<Installed> {
  const disk = readSlots(host.disk);
  const running = slotOfRootHash(disk, host.rootHash);
  if (!running) throw new VerificationError(`no slot on ${host.disk} carries the running root hash`, 'the disk is not the one this host booted from');
  const target = disk.slots.find((slot) => slot !== running)!;
  const esp = mountEsp(partitionDevice(host.disk, disk.table.partitions.find((p) => p.type === PARTITION_TYPES.esp)!.number));
  const tooBig = roomProblem(release, target.name, measureRoom(target, esp));
  if (tooBig) throw tooBig;

  if (target.label) removeUkis(esp, target.label);
  clearSlot(host.disk, disk, target, `${release.version}-${Date.now()}`);
  say(`slot ${target.name} cleared (was ${target.label ?? 'empty'})`);

  const rootDevice = partitionDevice(host.disk, target.root.number);
  const verityDevice = partitionDevice(host.disk, target.verity.number);
  const writeStarted = performance.now();
  await streamInto(repository, release.root, rootDevice, say);
  await streamInto(repository, release.verity, verityDevice, say);
  const writeSeconds = (performance.now() - writeStarted) / 1000;
  // Checked as the next boot will read it: from the disk, not from what the kernel still caches.
  dropCachedBlocks(rootDevice, verityDevice, host.disk);
  const written = slotRootHash({ path: rootDevice, offset: 0 }, { path: verityDevice, offset: 0 });
  if (written !== release.rootHash) {
    throw new VerificationError(`slot ${target.name} verifies to root hash ${written}, not ${release.rootHash}`, 'the slot stays unbootable; apply again');
  }
  say(`slot ${target.name} verified: root hash ${written}`);
  const label = rootLabel(release.name, release.version);
  nameSlot(host.disk, readSlots(host.disk), target, release.rootHash, label);

  const uki = stageUki(esp, label);
  const fd = openSync(uki.path, 'w');
  try {
    await downloadInto(repository.targetUrl(release.uki), fd, 0, { length: release.uki.length, sha256: release.uki.hashes.sha256! });
  } catch (error) {
    closeSync(fd);
    rmSync(uki.path, { force: true });
    throw error;
  }
  closeSync(fd);
  beforeBootable(target);
  uki.commit();
  say(`${label} installed in slot ${target.name}; it boots next, with 3 tries`);
  return { slot: target, writeSeconds };
}
