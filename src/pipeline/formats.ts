/** Disk formats, by name: adding one is adding an entry here. */
import { chmodSync, closeSync, mkdtempSync, openSync, renameSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ImageError } from '../errors.ts';
import { readGpt, writeGpt } from '../shared/gpt.ts';
import { MiB, alignUp, stableUuid } from '../shared/layout.ts';
import { checkTools, runTool } from '../tools.ts';
import { readRange } from '../shared/blockdev.ts';

/** What a conversion knows of the build: its outputs carry the build's time, never the clock's. */
export interface ConvertContext {
  sourceDateEpoch: number;
}

export interface OutputFormat {
  /** After NAME_VERSION. in the file's name. */
  extension: string;
  /** Makes `output` from the raw disk; raw itself is a rename, and leaves no raw behind. */
  convert: (raw: string, output: string, build: ConvertContext) => Promise<void>;
}

const SECTOR = 512;
const GiB = 1024 * MiB;
/** Protective MBR, primary GPT header and its 32 sectors of entries. */
const GPT_HEAD = 34 * SECTOR;
/** The backup entries and header at a GPT disk's end. */
const GPT_TAIL = 33 * SECTOR;

export const FORMATS: Readonly<Record<string, OutputFormat>> = {
  raw: { extension: 'raw', convert: async (raw, output) => renameSync(raw, output) },
  qcow2: {
    extension: 'qcow2',
    convert: async (raw, output) => {
      await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compression_type=zlib', raw, output]);
    },
  },
  vhd: { extension: 'vhd', convert: makeFixedVhd },
  vmdk: { extension: 'vmdk', convert: makeStreamOptimizedVmdk },
  gce: { extension: 'tar.gz', convert: makeGceTar },
};

/** Not a disk: a UKI that boots over the network and fetches the root the build wrote beside it. */
export const NETBOOT_FORMAT = 'netboot';

/** Not a disk either: a hybrid ISO that boots the image live from a CD or USB stick and installs it on a disk. */
export const ISO_FORMAT = 'iso';

/** Every name `--format` takes: the disk formats, then netboot and the installer ISO. */
export const FORMAT_NAMES: readonly string[] = [...Object.keys(FORMATS), NETBOOT_FORMAT, ISO_FORMAT];

export function isFormat(name: string): boolean {
  return FORMAT_NAMES.includes(name);
}

export function isDiskFormat(name: string): boolean {
  return Object.hasOwn(FORMATS, name);
}

/**
 * A fixed VHD, what Azure takes: the raw bytes, then a 512-byte footer. Azure wants a whole number
 * of MiB, which the layout gives (checked here, never padded), and force_size keeps qemu-img from
 * rounding the size to a CHS geometry. qemu-img stamps the footer with the clock and a random
 * UUID; both are set from the build instead.
 */
async function makeFixedVhd(raw: string, output: string, build: ConvertContext): Promise<void> {
  const size = statSync(raw).size;
  if (size % MiB !== 0) {
    throw new ImageError(`${raw} is ${size} bytes, not a whole number of MiB, which Azure requires of a VHD`, 'slipway lays disks out in whole MiB: this is a bug, please report it');
  }
  const disk = diskGuidOf(raw);
  await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vpc', '-o', 'subformat=fixed,force_size=on', raw, output]);
  if (statSync(output).size !== size + SECTOR) throw new ImageError(`qemu-img made ${output} ${statSync(output).size} bytes, not the disk's ${size} and a footer`, 'check the qemu-img version (qemu-utils)');
  writeAt(output, size, stampVhdFooter(readRange(output, size, SECTOR), { size, sourceDateEpoch: build.sourceDateEpoch, uuid: stableUuid('vhd', disk) }));
}

/** VHD times count from 2000-01-01T00:00:00Z. */
const VHD_EPOCH = 946_684_800;

/** A fixed VHD's footer with the build's time and UUID in place of qemu-img's, and its checksum again. */
export function stampVhdFooter(footer: Buffer, stamp: { size: number; sourceDateEpoch: number; uuid: string }): Buffer {
  const out = Buffer.from(footer);
  const problem = out.length !== SECTOR || out.toString('latin1', 0, 8) !== 'conectix'
    ? 'has no VHD footer'
    : out.readUInt32BE(60) !== 2
      ? `is a VHD of disk type ${out.readUInt32BE(60)}, not fixed (2)`
      : out.readBigUInt64BE(48) !== BigInt(stamp.size)
        ? `says the disk has ${out.readBigUInt64BE(48)} bytes, not ${stamp.size}`
        : undefined;
  if (problem) throw new ImageError(`the VHD qemu-img made ${problem}`, 'check the qemu-img version (qemu-utils)');
  out.writeUInt32BE(Math.min(Math.max(stamp.sourceDateEpoch - VHD_EPOCH, 0), 0xffffffff), 24);
  Buffer.from(stamp.uuid.replace(/-/g, ''), 'hex').copy(out, 68);
  out.writeUInt32BE(0, 64);
  let sum = 0;
  for (const byte of out) sum += byte;
  out.writeUInt32BE(~sum >>> 0, 64);
  return out;
}

/**
 * A streamOptimized VMDK, what VMware takes (inside an OVA, or by `govc import.vmdk`): grains of
 * deflated data, holes left out. The adapter type stays qemu-img's (ide): it is only a hint, and
 * the controller is the virtual machine's. The random content ID qemu-img writes becomes one
 * from the disk's GUID.
 */
async function makeStreamOptimizedVmdk(raw: string, output: string): Promise<void> {
  const disk = diskGuidOf(raw);
  await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, output]);
  const { offset, length } = vmdkDescriptorPlace(readRange(output, 0, SECTOR));
  writeAt(output, offset, withVmdkCid(readRange(output, offset, length), stableUuid('vmdk', disk).slice(0, 8)));
}

/** Where a sparse VMDK's header says its text descriptor is. */
export function vmdkDescriptorPlace(header: Buffer): { offset: number; length: number } {
  if (header.length < 44 || header.toString('latin1', 0, 4) !== 'KDMV') throw new ImageError('the VMDK qemu-img made has no sparse extent header', 'check the qemu-img version (qemu-utils)');
  return { offset: Number(header.readBigUInt64LE(28)) * SECTOR, length: Number(header.readBigUInt64LE(36)) * SECTOR };
}

/** The descriptor area with `CID=` set to these 8 hex digits, the rest of the area zeros as before. */
export function withVmdkCid(area: Buffer, cid: string): Buffer {
  const end = area.indexOf(0);
  const text = area.toString('latin1', 0, end === -1 ? area.length : end);
  if (!/^CID=[0-9a-f]+$/m.test(text)) throw new ImageError('the VMDK qemu-img made has no CID in its descriptor', 'check the qemu-img version (qemu-utils)');
  const replaced = Buffer.from(text.replace(/^CID=[0-9a-f]+$/m, `CID=${cid}`), 'latin1');
  if (replaced.length >= area.length) throw new ImageError('the VMDK descriptor has no room for its CID', 'check the qemu-img version (qemu-utils)');
  const out = Buffer.alloc(area.length);
  replaced.copy(out);
  return out;
}

/**
 * What Google Compute Engine imports: a gzipped tar (GNU's oldgnu format, sparse) holding one
 * file, disk.raw, whose size is a whole number of GiB. The copy is padded to the next GiB with
 * its GPT written for the larger disk, the backup header at its new end: the first boot sees room
 * after /var, as on any larger disk, and grows /var into it. Times, owners and order in the tar
 * come from the build. tar finds the holes by SEEK_HOLE where qemu-img left them, wherever the
 * content has 4 KiB of zeros, whatever the raw disk's own holes (a dense copy of it gives the same
 * archive) on a filesystem of 4 KiB blocks. (Reading every block for zeros instead,
 * --hole-detection=raw, took 14 s for a default-sized disk where SEEK_HOLE took 0.8.)
 */
async function makeGceTar(raw: string, output: string, build: ConvertContext): Promise<void> {
  checkTools(['tar', 'gzip']);
  const dir = mkdtempSync(join(dirname(output), '.gce-'));
  try {
    const disk = join(dir, 'disk.raw');
    await copyPadded(raw, disk, alignUp(statSync(raw).size, GiB));
    chmodSync(disk, 0o644);
    await runTool('tar', [
      '--create', '--file', output, '--format=oldgnu', '--sparse', '--use-compress-program=gzip -n',
      '--sort=name', `--mtime=@${build.sourceDateEpoch}`, '--owner=0', '--group=0', '--numeric-owner',
      '--directory', dir, 'disk.raw',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Copies a GPT disk into a larger file, holes kept (qemu-img copies only what holds data), and
 * writes its GPT again for the new size. The partitions stay byte for byte; the old backup GPT is
 * cut off with the end of the old file, so the space after the last partition reads as zeros.
 */
export async function copyPadded(raw: string, output: string, size: number): Promise<void> {
  const old = statSync(raw).size;
  if (size < old || size % SECTOR !== 0) throw new ImageError(`cannot pad ${raw} (${old} bytes) to ${size} bytes`, 'this is a bug in slipway, please report it');
  const head = readRange(raw, 0, GPT_HEAD);
  const table = readGpt(head);
  if (!table) throw new ImageError(`${raw} has no valid GPT`, 'convert a disk that slipway built');
  const gpt = writeGpt(size, table.diskGuid, table.partitions);
  if (!gpt.head.subarray(2 * SECTOR).equals(head.subarray(2 * SECTOR))) {
    throw new ImageError(`the GPT of ${raw} would not be the same written again for ${size} bytes`, 'this is a bug in slipway, please report it');
  }
  await runTool('qemu-img', ['convert', '-f', 'raw', '-O', 'raw', raw, output]);
  truncateSync(output, old - GPT_TAIL);
  truncateSync(output, size);
  writeAt(output, 0, gpt.head);
  writeAt(output, gpt.tailOffset, gpt.tail);
}

/** The GUID of a raw disk's GPT: the disk's identity, stable across builds of one name and version. */
function diskGuidOf(raw: string): string {
  const table = readGpt(readRange(raw, 0, GPT_HEAD));
  if (!table) throw new ImageError(`${raw} has no valid GPT`, 'convert a disk that slipway built');
  return table.diskGuid;
}


function writeAt(path: string, offset: number, data: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}
