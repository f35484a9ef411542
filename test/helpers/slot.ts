/**
 * Puts another build of the same recipe into slot B of a disk, from the build host, with the tools
 * an installer would use: sfdisk names the slot's partitions by the new root hash, dd writes the
 * root and verity images, mcopy puts the new UKI on the ESP (systemd-boot then boots it, as the
 * newest entry). Until the update agent does this on the host itself, tests switch slots this way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { rootLabel, slotUuids, ukiFileName, verityLabel } from '../../src/shared/layout.ts';

interface Manifest {
  name: string;
  version: string;
  rootHash: string;
  artifacts: Record<string, { file: string }>;
}

const ROOT_B = 4;
const VERITY_B = 5;
const ESP = 1;

/** Where partition `number` of a raw disk starts, in bytes. */
export async function partitionStart(disk: string, number: number): Promise<number> {
  const { stdout } = await execa('sfdisk', ['--json', disk]);
  const table = JSON.parse(stdout) as { partitiontable: { partitions: Array<{ node: string; start: number }> } };
  const partition = table.partitiontable.partitions.find((p) => p.node.endsWith(String(number)));
  if (!partition) throw new Error(`${disk} has no partition ${number}`);
  return partition.start * 512;
}

export async function installIntoSlotB(disk: string, buildDir: string, basename: string): Promise<Manifest> {
  const manifest = JSON.parse(readFileSync(join(buildDir, `${basename}.manifest.json`), 'utf8')) as Manifest;
  const uuids = slotUuids(manifest.rootHash);
  for (const [number, image, uuid, label] of [
    [ROOT_B, manifest.artifacts.root!.file, uuids.root, rootLabel(manifest.name, manifest.version)],
    [VERITY_B, manifest.artifacts.verity!.file, uuids.verity, verityLabel(manifest.name, manifest.version)],
  ] as const) {
    const start = await partitionStart(disk, number);
    await execa('dd', [`if=${join(buildDir, image)}`, `of=${disk}`, 'bs=1M', `seek=${start}`, 'oflag=seek_bytes', 'conv=notrunc,fsync', 'status=none']);
    await execa('sfdisk', ['--part-uuid', disk, String(number), uuid]);
    await execa('sfdisk', ['--part-label', disk, String(number), label]);
  }
  const espStart = await partitionStart(disk, ESP);
  await execa('mcopy', ['-i', `${disk}@@${espStart}`, join(buildDir, manifest.artifacts.uki!.file), `::/EFI/Linux/${ukiFileName(manifest.name, manifest.version)}`], { env: { MTOOLS_SKIP_CHECK: '1' } });
  return manifest;
}
