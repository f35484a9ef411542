/**
 * Reading a built disk back: partitions, the two slots with their versions and root hashes (a
 * slot's root hash is its two partition UUIDs joined), the UKIs on the ESP and the packages inside.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecipeError, errorMessage } from '../errors.ts';
import { EMPTY_LABEL, PARTITION_TYPES } from '../shared/layout.ts';
import { PACKAGES_FILE, parsePackagesFile, type PackageRecord } from '../shared/packages.ts';
import { runTool } from '../tools.ts';
import { readGpt, type GptTable } from './gpt.ts';

export interface SlotInfo {
  slot: 'a' | 'b';
  label: string;
  version: string | null;
  rootHash: string | null;
  rootPartition: number;
  verityPartition: number;
}

export interface ImageInfo {
  image: string;
  size: number;
  diskGuid: string;
  partitions: Array<{ number: number; role: string; label: string; type: string; uuid: string; offset: number; size: number }>;
  slots: SlotInfo[];
  ukis: string[];
  /** With installed sizes and chains when the build's lockfile recorded them. */
  packages: PackageRecord[];
}

function readAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function roleOf(type: string): string {
  const names: Record<string, string> = {
    [PARTITION_TYPES.esp]: 'esp',
    [PARTITION_TYPES.root]: 'root',
    [PARTITION_TYPES.rootVerity]: 'root-verity',
    [PARTITION_TYPES.var]: 'var',
  };
  return names[type] ?? 'other';
}

function slotsOf(table: GptTable): SlotInfo[] {
  const roots = table.partitions.filter((p) => p.type === PARTITION_TYPES.root);
  const verities = table.partitions.filter((p) => p.type === PARTITION_TYPES.rootVerity);
  return roots.map((root, i) => {
    const verity = verities[i]!;
    const empty = root.name === EMPTY_LABEL;
    const match = /^(.+)_([^_]+)$/.exec(root.name);
    return {
      slot: i === 0 ? 'a' : 'b',
      label: root.name,
      version: empty ? null : (match?.[2] ?? null),
      rootHash: empty ? null : `${root.uuid}${verity.uuid}`.replace(/-/g, ''),
      rootPartition: root.number,
      verityPartition: verity.number,
    };
  });
}

async function listUkis(image: string, espOffset: number): Promise<string[]> {
  const { stdout } = await runTool('mdir', ['-i', `${image}@@${espOffset}`, '-b', '::/EFI/Linux'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  return stdout
    .split('\n')
    .map((line) => line.trim().replace(/^.*\//, ''))
    .filter((name) => name.toLowerCase().endsWith('.efi'))
    .sort();
}

async function listPackages(image: string, offset: number): Promise<ImageInfo['packages']> {
  // unsquashfs reads whole files only: copy the filesystem (its superblock says how long it is) out.
  const bytesUsed = Number(readAt(image, offset + 40, 8).readBigUInt64LE(0));
  const dir = mkdtempSync(join(tmpdir(), 'slipway-inspect-'));
  try {
    const file = join(dir, 'root.squashfs');
    writeFileSync(file, readAt(image, offset, bytesUsed));
    const { stdout } = await runTool('unsquashfs', ['-cat', file, PACKAGES_FILE]);
    return parsePackagesFile(stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function inspectImage(image: string): Promise<ImageInfo> {
  let size: number;
  try {
    size = statSync(image).size;
  } catch (error) {
    throw new RecipeError(`cannot read ${image}: ${errorMessage(error)}`, 'give the path of a .raw image that slipway built');
  }
  const table = readGpt(readAt(image, 0, 34 * 512));
  if (!table) throw new RecipeError(`${image} has no valid GPT`, 'inspect reads .raw disks; for .qcow2 run: qemu-img convert -O raw IMAGE.qcow2 IMAGE.raw');
  const slots = slotsOf(table);
  const esp = table.partitions.find((p) => p.type === PARTITION_TYPES.esp);
  const active = slots.find((s) => s.rootHash !== null);
  const activeRoot = active ? table.partitions.find((p) => p.number === active.rootPartition) : undefined;
  return {
    image,
    size,
    diskGuid: table.diskGuid,
    partitions: table.partitions.map((p) => ({ number: p.number, role: roleOf(p.type), label: p.name, type: p.type, uuid: p.uuid, offset: p.offset, size: p.size })),
    slots,
    ukis: esp ? await listUkis(image, esp.offset) : [],
    packages: activeRoot ? await listPackages(image, activeRoot.offset) : [],
  };
}
