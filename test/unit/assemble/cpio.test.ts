import { describe, expect, it } from 'vitest';
import { writeCpio, type CpioEntry } from '../../../src/assemble/cpio.ts';

interface ArchiveRecord {
  /** Byte offset of the header. */
  at: number;
  ino: number;
  mode: number;
  nlink: number;
  mtime: number;
  devMajor: number;
  devMinor: number;
  name: string;
  body: Buffer;
}

/** Reads a newc archive back, checking the layout rules as it goes. */
function readCpio(archive: Buffer): ArchiveRecord[] {
  const records: ArchiveRecord[] = [];
  let at = 0;
  for (;;) {
    expect(at % 4).toBe(0);
    const header = archive.toString('latin1', at, at + 110);
    expect(header.slice(0, 6)).toBe('070701');
    const field = (i: number) => Number.parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const nameSize = field(11);
    const fileSize = field(6);
    const name = archive.toString('latin1', at + 110, at + 110 + nameSize - 1);
    expect(archive[at + 110 + nameSize - 1]).toBe(0);
    const dataAt = Math.ceil((at + 110 + nameSize) / 4) * 4;
    const body = archive.subarray(dataAt, dataAt + fileSize);
    records.push({ at, ino: field(0), mode: field(1), nlink: field(4), mtime: field(5), devMajor: field(9), devMinor: field(10), name, body });
    at = Math.ceil((dataAt + fileSize) / 4) * 4;
    if (name === 'TRAILER!!!') break;
  }
  expect(at).toBe(archive.length);
  return records;
}

const ENTRIES: CpioEntry[] = [
  { path: 'usr/bin/init', type: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\nexec /sbin/init\n') },
  { path: 'usr', type: 'directory', mode: 0o755 },
  { path: 'bin', type: 'symlink', mode: 0o777, target: 'usr/bin' },
  { path: 'dev/console', type: 'char', mode: 0o600, devMajor: 5, devMinor: 1 },
  { path: 'usr/bin', type: 'directory', mode: 0o755 },
  { path: 'etc/initrd-release', type: 'file', mode: 0o644, data: Buffer.from('ID=x') },
  { path: 'dev', type: 'directory', mode: 0o755 },
  { path: 'etc', type: 'directory', mode: 0o755 },
  { path: 'empty', type: 'file', mode: 0o4755 },
];

describe('writeCpio', () => {
  const archive = writeCpio(ENTRIES, 1700000000);
  const records = readCpio(archive);

  it('writes the entries sorted by path, then the trailer', () => {
    expect(records.map((r) => r.name)).toEqual([
      'bin', 'dev', 'dev/console', 'empty', 'etc', 'etc/initrd-release', 'usr', 'usr/bin', 'usr/bin/init', 'TRAILER!!!',
    ]);
  });

  it('numbers the inodes from 1 and stamps the given mtime', () => {
    expect(records.slice(0, -1).map((r) => r.ino)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const r of records.slice(0, -1)) expect(r.mtime).toBe(1700000000);
  });

  it('keeps type bits and permissions, setuid included', () => {
    const mode = (name: string) => records.find((r) => r.name === name)!.mode;
    expect(mode('usr/bin/init')).toBe(0o100755);
    expect(mode('empty')).toBe(0o104755);
    expect(mode('usr')).toBe(0o040755);
    expect(mode('bin')).toBe(0o120777);
    expect(mode('dev/console')).toBe(0o020600);
  });

  it('stores file contents, symlink targets and device numbers', () => {
    const byName = new Map(records.map((r) => [r.name, r]));
    expect(byName.get('usr/bin/init')!.body.toString()).toBe('#!/bin/sh\nexec /sbin/init\n');
    expect(byName.get('etc/initrd-release')!.body.toString()).toBe('ID=x');
    expect(byName.get('bin')!.body.toString()).toBe('usr/bin');
    expect(byName.get('empty')!.body.length).toBe(0);
    expect(byName.get('usr')!.body.length).toBe(0);
    expect(byName.get('usr')!.nlink).toBe(2);
    expect(byName.get('dev/console')).toMatchObject({ devMajor: 5, devMinor: 1, body: Buffer.alloc(0) });
  });

  it('pads names and data to 4 bytes with zeros', () => {
    // 'etc/initrd-release' + NUL is 19 bytes: 110 + 19 = 129, padded to 132; its 4-byte body needs no padding.
    const release = records.find((r) => r.name === 'etc/initrd-release')!;
    expect(archive.subarray(release.at + 129, release.at + 132)).toEqual(Buffer.alloc(3));
    expect(archive.toString('latin1', release.at + 132, release.at + 136)).toBe('ID=x');
    const next = records[records.indexOf(release) + 1]!;
    expect(next.at).toBe(release.at + 136);
  });

  it('gives the same bytes for the same entries in any order', () => {
    expect(writeCpio([...ENTRIES].reverse(), 1700000000)).toEqual(archive);
    expect(writeCpio(ENTRIES, 1700000001)).not.toEqual(archive);
  });

  it('writes only a trailer for no entries', () => {
    const empty = writeCpio([], 0);
    expect(readCpio(empty).map((r) => r.name)).toEqual(['TRAILER!!!']);
    expect(empty.length).toBe(124); // 110 + 11 for the name, padded to 4
  });
});
