/**
 * Reading a built disk back: partitions, the two slots with their versions and root hashes (a
 * slot's root hash is its two partition UUIDs joined), the UKIs on the ESP and the packages inside.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageError, errorMessage } from '../errors.ts';
import { EMPTY_LABEL, PARTITION_TYPES } from '../shared/layout.ts';
import { PACKAGES_FILE, parsePackagesFile, type PackageRecord } from '../shared/packages.ts';
import { runTool } from '../tools.ts';
import { gptProblem, readGpt, type GptTable } from '../shared/gpt.ts';
import { readRange } from '../shared/blockdev.ts';

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

const IMAGE_HINT = 'give the path of a .raw image that slipway built, or of the disk it was written to';

function readAt(path: string, offset: number, length: number): Buffer {
  try {
    return readRange(path, offset, length);
  } catch (error) {
    throw new ImageError(`cannot read ${path}: ${errorMessage(error)}`, IMAGE_HINT);
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

/** The image's size in bytes: a regular file's, or a block device's from sysfs. Anything else is refused before it is opened (a FIFO would block). */
function imageSize(image: string): number {
  let stats;
  try {
    stats = statSync(image);
  } catch (error) {
    throw new ImageError(`cannot read ${image}: ${errorMessage(error)}`, IMAGE_HINT);
  }
  if (stats.isFile()) return stats.size;
  if (stats.isBlockDevice()) {
    // Linux's dev_t: the major number in bits 8-19 and 32 up, the minor in bits 0-7 and 20-31.
    const major = ((stats.rdev >>> 8) & 0xfff) | (Math.floor(stats.rdev / 2 ** 32) & ~0xfff);
    const minor = (stats.rdev & 0xff) | ((stats.rdev >>> 12) & 0xfff00);
    try {
      return Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8')) * 512;
    } catch (error) {
      throw new ImageError(`cannot read the size of ${image}: ${errorMessage(error)}`, 'run it where /sys is mounted');
    }
  }
  throw new ImageError(`${image} is ${stats.isDirectory() ? 'a folder' : 'not a regular file or a block device'}`, IMAGE_HINT);
}

export async function inspectImage(image: string): Promise<ImageInfo> {
  const size = imageSize(image);
  const head = readAt(image, 0, Math.min(size, 34 * 512));
  const problem = gptProblem(head);
  if (problem) {
    const hint = problem.damaged
      ? 'the image is damaged: build or copy it again'
      : 'inspect reads .raw (and fixed .vhd) disks; for a .qcow2 or .vmdk run: qemu-img convert -O raw IMAGE IMAGE.raw; a .tar.gz for GCE holds disk.raw: tar -xSzf IMAGE.tar.gz';
    throw new ImageError(`${image} has no valid GPT: ${problem.what}`, hint);
  }
  const table = readGpt(head)!;
  for (const p of table.partitions) {
    if (p.offset + p.size > size) {
      throw new ImageError(
        `${image} is damaged: partition ${p.number} (${roleOf(p.type)}) ends at byte ${p.offset + p.size}, past the end of the image (${size} bytes)`,
        'the image was cut short (a copy or download that did not finish): build or copy it again',
      );
    }
  }
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
