/**
 * The cloud disk formats, made from a small GPT disk laid out as a build lays one out and checked
 * by the tools that define them: qemu-img for the VHD and the VMDK, GNU tar and sfdisk for GCE's
 * tar.gz. Each is made twice, to the same bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, ftruncateSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { partition, planLayout, type DiskLayout } from '../../src/bootimage/disk.ts';
import { ImageError } from '../../src/errors.ts';
import { FORMATS } from '../../src/pipeline/formats.ts';
import { readGpt, writeGpt } from '../../src/shared/gpt.ts';
import { MiB, stableUuid } from '../../src/shared/layout.ts';
import { tempDir } from '../helpers/archive.ts';

const GiB = 1024 * MiB;
/** 2025-05-10T09:30:00Z */
const EPOCH = 1_746_869_400;
const BUILD = { sourceDateEpoch: EPOCH };

let layout: DiskLayout;
let raw: string;

/** A disk as writeDisk makes one: GPT at both ends, data in some partitions, holes elsewhere. */
function makeDisk(file: string, size?: number): DiskLayout {
  const planned = planLayout({ name: 'host', version: '1.0.0', rootHash: 'a1'.repeat(32), espSize: 8 * MiB, slotSize: 24 * MiB, dataSize: 8 * MiB });
  const disk = { ...planned, size: size ?? planned.size };
  const gpt = writeGpt(disk.size, disk.diskGuid, disk.partitions.map((p) => ({ type: p.type, uuid: p.uuid, name: p.label, offset: p.offset, size: p.size, attributes: p.attributes })));
  const fd = openSync(file, 'w');
  ftruncateSync(fd, disk.size);
  writeSync(fd, gpt.head, 0, gpt.head.length, 0);
  for (const [role, bytes] of [['esp', 3 * MiB], ['root-a', 5 * MiB + 1234], ['data', 64 * 1024]] as const) writeSync(fd, randomBytes(bytes), 0, bytes, partition(disk, role).offset);
  writeSync(fd, gpt.tail, 0, gpt.tail.length, gpt.tailOffset);
  closeSync(fd);
  return disk;
}

async function convert(format: string, name = 'a'): Promise<string> {
  const output = join(tempDir(`format-${name}`), `host_1.0.0.${FORMATS[format]!.extension}`);
  await FORMATS[format]!.convert(raw, output, BUILD);
  return output;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function info(file: string, format?: string): Promise<{ format: string; 'virtual-size': number; 'format-specific'?: { data: { 'create-type': string } } }> {
  const { stdout, stderr } = await execa('qemu-img', ['info', '--output=json', ...(format ? ['-f', format] : []), file]);
  expect(stderr).toBe('');
  return JSON.parse(stdout) as never;
}

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(length);
  readSync(fd, buffer, 0, length, offset);
  closeSync(fd);
  return buffer;
}

beforeAll(() => {
  raw = join(tempDir('format-raw'), 'disk.raw');
  layout = makeDisk(raw);
});

describe('vhd', () => {
  it('is a fixed VHD of exactly the raw disk\'s size, a whole number of MiB, with the same contents', async () => {
    const vhd = await convert('vhd');
    expect(layout.size % MiB).toBe(0);
    expect(statSync(vhd).size).toBe(layout.size + 512);
    const { format, 'virtual-size': size } = await info(vhd, 'vpc');
    expect(format).toBe('vpc');
    expect(size).toBe(layout.size);
    // Fixed VHDs carry their footer only at the end, so qemu-img's probe reads one as raw: `slipway
    // boot` and the test machines name the format (qemu/args.ts diskFormatOf).
    expect((await info(vhd)).format).toBe('raw');
    expect((await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'vpc', raw, vhd])).stdout).toBe('Images are identical.');
    // qemu-img checks no VHD: it says so, and the footer is checked above by qemu-img reading it.
    const check = await execa('qemu-img', ['check', '-f', 'vpc', vhd], { reject: false });
    expect(check.exitCode).toBe(63);
    expect(check.stderr).toContain('This image format does not support checks');
  });

  it('carries the build\'s time and a UUID from the disk\'s GUID in its footer, so a second conversion is the same file', async () => {
    const first = await convert('vhd', 'a');
    const footer = readAt(first, layout.size, 512);
    expect(footer.toString('latin1', 0, 8)).toBe('conectix');
    expect(footer.readUInt32BE(24) + Date.UTC(2000, 0, 1) / 1000).toBe(EPOCH);
    expect(footer.subarray(68, 84).toString('hex')).toBe(stableUuid('vhd', layout.diskGuid).replace(/-/g, ''));
    expect(sha256(await convert('vhd', 'b'))).toBe(sha256(first));
  });

  it('refuses a raw disk that is not a whole number of MiB, instead of padding it', async () => {
    const odd = join(tempDir('format-odd'), 'disk.raw');
    makeDisk(odd, layout.size + 512);
    const output = join(tempDir('format-odd-out'), 'host.vhd');
    await expect(FORMATS.vhd!.convert(odd, output, BUILD)).rejects.toThrow(ImageError);
    await expect(FORMATS.vhd!.convert(odd, output, BUILD)).rejects.toThrow(`${odd} is ${layout.size + 512} bytes, not a whole number of MiB, which Azure requires of a VHD`);
    expect(existsSync(output)).toBe(false);
  });
});

describe('vmdk', () => {
  it('is a streamOptimized VMDK that qemu-img checks and finds identical to the raw disk', async () => {
    const vmdk = await convert('vmdk');
    const described = await info(vmdk);
    expect(described.format).toBe('vmdk');
    expect(described['virtual-size']).toBe(layout.size);
    expect(described['format-specific']!.data['create-type']).toBe('streamOptimized');
    expect((await execa('qemu-img', ['check', vmdk])).stdout).toContain('No errors were found on the image.');
    expect((await execa('qemu-img', ['compare', '-f', 'raw', '-F', 'vmdk', raw, vmdk])).stdout).toBe('Images are identical.');
    // Compressed grains, holes left out: far smaller than the disk.
    expect(statSync(vmdk).size).toBeLessThan(layout.size / 4);
  });

  it('has a content ID from the disk\'s GUID, so a second conversion is the same file', async () => {
    const first = await convert('vmdk', 'a');
    expect(readFileSync(first).toString('latin1', 512, 2048)).toMatch(new RegExp(`^CID=${stableUuid('vmdk', layout.diskGuid).slice(0, 8)}$`, 'm'));
    expect(sha256(await convert('vmdk', 'b'))).toBe(sha256(first));
  });
});

describe('gce', () => {
  let tarball: string;
  let disk: string;

  beforeAll(async () => {
    tarball = await convert('gce');
    const dir = tempDir('format-gce-unpacked');
    await execa('tar', ['-xSzf', tarball, '-C', dir]);
    disk = join(dir, 'disk.raw');
  });

  it('is a gzipped GNU tar holding only disk.raw, owned by root, dated by the build, a whole number of GiB', async () => {
    const listing = (await execa('tar', ['-tvzf', tarball], { env: { TZ: 'UTC' } })).stdout.trim().split('\n');
    expect(listing).toEqual([`-rw-r--r-- 0/0      ${GiB} 2025-05-10 09:30 disk.raw`]);
    expect(statSync(disk).size % GiB).toBe(0);
    // GNU's oldgnu header magic ("ustar  \0"), as Google asks for, and no name or time in the gzip header.
    const tar = (await execa('gzip', ['-dc', tarball], { encoding: 'buffer' })).stdout;
    expect(Buffer.from(tar.subarray(257, 265)).toString('latin1')).toBe('ustar  \0');
    const gzip = readAt(tarball, 0, 10);
    expect(gzip.readUInt32LE(4)).toBe(0);
    expect(gzip[3]! & 0x08).toBe(0);
  });

  it('is sparse: the archive holds the data, not the GiB', () => {
    expect(statSync(tarball).size).toBeLessThan(12 * MiB);
  });

  it('starts with the raw disk\'s bytes, then zeros, with the GPT written again for the padded size', async () => {
    const size = statSync(disk).size;
    // Sector 0 is the protective MBR (its sector count) and 1 the primary header (backup and last
    // usable LBAs): everything else up to where the raw disk kept its backup GPT is the raw disk's.
    const end = layout.size - 33 * 512;
    for (let offset = 1024; offset < end; offset += 4 * MiB) {
      const length = Math.min(4 * MiB, end - offset);
      expect(readAt(disk, offset, length).equals(readAt(raw, offset, length)), `bytes at ${offset}`).toBe(true);
    }
    const zeros = Buffer.alloc(4 * MiB);
    for (let offset = end; offset < size - 33 * 512; offset += 4 * MiB) {
      const length = Math.min(4 * MiB, size - 33 * 512 - offset);
      expect(readAt(disk, offset, length).equals(zeros.subarray(0, length)), `zeros at ${offset}`).toBe(true);
    }
    expect(readGpt(readAt(disk, 0, 34 * 512))).toEqual(readGpt(readAt(raw, 0, 34 * 512)));
    const verify = await execa('sfdisk', ['--verify', disk]);
    expect(verify.stdout).toContain('No errors detected.');
    expect(verify.stderr).toBe('');
    const dump = (await execa('sfdisk', ['--dump', disk])).stdout;
    expect(dump).toContain(`last-lba: ${size / 512 - 34}`);
    // The backup header is in the last sector and points back at the primary.
    const backup = readAt(disk, size - 512, 512);
    expect(backup.toString('latin1', 0, 8)).toBe('EFI PART');
    expect(backup.readBigUInt64LE(24)).toBe(BigInt(size / 512 - 1));
    expect(backup.readBigUInt64LE(32)).toBe(1n);
    // The partitions, as sfdisk reads them, are the raw disk's.
    const partitions = (file: string) => execa('sfdisk', ['--json', file]).then(({ stdout }) => (JSON.parse(stdout) as { partitiontable: { partitions: Array<Record<string, unknown>> } }).partitiontable.partitions.map(({ node: _, ...p }) => p));
    expect(await partitions(disk)).toEqual(await partitions(raw));
  });

  it('is the same file when made again, from a dense copy of the raw disk under another name', async () => {
    const again = join(tempDir('format-gce-again'), 'host_1.0.0.tar.gz');
    const copy = join(tempDir('format-gce-copy'), 'other.raw');
    copyFileSync(raw, copy); // a raw disk of another name, written at another time
    await FORMATS.gce!.convert(copy, again, BUILD);
    expect(sha256(again)).toBe(sha256(tarball));
  });
});
