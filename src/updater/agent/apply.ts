/**
 * Installing a release into the inactive slot. The order is what makes it safe:
 * the new UKI is fetched into /run (memory) first and, on a host that signs its UKIs, its signature
 * checked (a UKI the firmware would refuse is refused before anything is written); then
 * the old entry of that slot leaves the ESP and the slot loses its name (nothing can boot it),
 * the root and verity images are streamed in and checked (sha256 and length as signed, then the
 * dm-verity root hash from the written blocks), the slot is named by its root hash, and only then
 * does the new UKI appear on the ESP (written, then renamed). A failure anywhere leaves the running
 * slot and its entry as they were.
 */
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VerificationError } from '../../errors.ts';
import { PARTITION_TYPES, rootLabel } from '../../shared/layout.ts';
import { dropCachedBlocks } from '../../shared/blockdev.ts';
import { downloadInto } from '../download.ts';
import { clearSlot, nameSlot, readSlots, slotOfRootHash, type Slot } from '../slots.ts';
import { slotRootHash } from '../verity.ts';
import { mountEsp, removeUkis, stageUki } from './esp.ts';
import { measureRoom, roomProblem } from './room.ts';
import { partitionDevice, type RunningHost } from './host.ts';
import type { Release, UpdateRepository } from './repository.ts';
import { checkUkiTrust } from './uki-trust.ts';

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

/** Where the UKI waits for its check: /run is memory, so nothing is written to any disk yet. */
const SCRATCH = '/run/slipway/update';

/** Downloads the UKI (length and sha256 as signed) into a file in /run, and checks who signed it. */
async function fetchUki(repository: UpdateRepository, release: Release): Promise<string> {
  mkdirSync(SCRATCH, { recursive: true });
  const file = join(SCRATCH, 'uki.efi');
  try {
    const fd = openSync(file, 'w');
    try {
      await downloadInto(repository.targetUrl(release.uki), fd, 0, { length: release.uki.length, sha256: release.uki.hashes.sha256! });
    } finally {
      closeSync(fd);
    }
    checkUkiTrust(file, release.version);
    return file;
  } catch (error) {
    rmSync(file, { force: true });
    throw error;
  }
}

/** Copies the checked UKI to where the ESP will make it an entry, synced; removed again if that fails. */
function writeUki(path: string, source: string): void {
  try {
    copyFileSync(source, path);
    const fd = openSync(path, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
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
  const ukiFile = await fetchUki(repository, release);
  try {
    return await writeSlot({ host, disk, target, esp, release, repository, ukiFile }, say, beforeBootable);
  } finally {
    rmSync(ukiFile, { force: true });
  }
}

/** What one install works on: the host's disk and the slot it writes, the release and its checked UKI. */
interface SlotWrite {
  host: RunningHost;
  disk: ReturnType<typeof readSlots>;
  target: Slot;
  esp: string;
  release: Release;
  repository: UpdateRepository;
  ukiFile: string;
}

async function writeSlot({ host, disk, target, esp, release, repository, ukiFile }: SlotWrite, say: ApplyProgress, beforeBootable: (slot: Slot) => void): Promise<Installed> {
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
  writeUki(uki.path, ukiFile);
  beforeBootable(target);
  uki.commit();
  say(`${label} installed in slot ${target.name}; it boots next, with 3 tries`);
  return { slot: target, writeSeconds };
}
