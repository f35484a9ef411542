/**
 * Writing the image onto the disk from the install map, and reading it all back. The old partition
 * tables go first and the new one (made for this disk's size, so its backup is at the disk's end)
 * comes last, after every range has been read back and matched its sha256: a disk whose install
 * was cut short has no partition table, and no firmware boots half an image from it.
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { InstallError } from '../errors.ts';
import { dropCachedBlocks } from '../shared/blockdev.ts';
import { writeGpt } from '../shared/gpt.ts';
import { bytesToWrite, type InstallMap, type InstallRange } from '../shared/install-map.ts';
import { MiB } from '../shared/layout.ts';
import type { Medium } from './medium.ts';

const CHUNK = 4 * MiB;

export interface Progress {
  /** Bytes written (or read back) so far, of `total`. */
  (phase: 'write' | 'verify', done: number, total: number): void;
}

/** A range's bytes, chunk by chunk: from the medium, or zeros. */
async function* sourceChunks(range: InstallRange, medium: Medium, zeros: Buffer): AsyncGenerator<Buffer> {
  if (range.source === 'zeros') {
    for (let left = range.length; left > 0; left -= Math.min(left, CHUNK)) yield zeros.subarray(0, Math.min(left, CHUNK));
    return;
  }
  let got = 0;
  for await (const chunk of medium.chunks(range.source.file, range.source.at, range.length)) {
    got += chunk.length;
    yield chunk;
  }
  if (got < range.length) throw new InstallError(`${range.source.file} on ${medium.name} ends before the image does`, 'the ISO (or the served folder) is damaged: make it again');
}

function gptFor(map: InstallMap, diskSize: number) {
  return writeGpt(
    diskSize,
    map.diskGuid,
    map.partitions.map((p) => ({ ...p, attributes: BigInt(p.attributes) })),
  );
}

/** Drops the kernel's cache of a block device; a disk image file (in tests) has none to drop. */
function readFromDisk(device: string): void {
  if (statSync(device).isBlockDevice()) dropCachedBlocks(device);
}

/** Zeros where a partition table may be: the first and the last MiB of the disk. */
function clearPartitionTables(fd: number, diskSize: number): void {
  const zeros = Buffer.alloc(MiB);
  writeSync(fd, zeros, 0, MiB, 0);
  writeSync(fd, zeros, 0, MiB, diskSize - MiB);
}

/** Writes the image; the partition table last. Returns the bytes written. */
export async function writeImage(device: string, diskSize: number, map: InstallMap, medium: Medium, progress: Progress): Promise<number> {
  const total = bytesToWrite(map);
  const fd = openSync(device, 'r+');
  const zeros = Buffer.alloc(CHUNK);
  let done = 0;
  try {
    clearPartitionTables(fd, diskSize);
    fsyncSync(fd);
    for (const range of map.ranges) {
      const hash = createHash('sha256');
      let at = range.offset;
      for await (const chunk of sourceChunks(range, medium, zeros)) {
        hash.update(chunk);
        writeSync(fd, chunk, 0, chunk.length, at);
        at += chunk.length;
        done += chunk.length;
        progress('write', done, total);
      }
      if (hash.digest('hex') !== range.sha256) {
        const what = range.source === 'zeros' ? 'zeros' : range.source.file;
        throw new InstallError(`${what} from ${medium.name} for bytes ${range.offset}+${range.length} does not match the install map`, 'the ISO (or the served folder) is damaged: make it again');
      }
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return done;
}

/** Reads every range back from the disk itself (the kernel's cache of it dropped first) and checks its sha256. */
export function verifyImage(device: string, map: InstallMap, progress: Progress): void {
  readFromDisk(device);
  const total = bytesToWrite(map);
  const fd = openSync(device, 'r');
  const buffer = Buffer.alloc(CHUNK);
  let done = 0;
  try {
    for (const range of map.ranges) {
      const hash = createHash('sha256');
      for (let read = 0; read < range.length;) {
        const got = readSync(fd, buffer, 0, Math.min(CHUNK, range.length - read), range.offset + read);
        if (got === 0) break;
        hash.update(buffer.subarray(0, got));
        read += got;
        done += got;
        progress('verify', done, total);
      }
      if (hash.digest('hex') !== range.sha256) {
        throw new InstallError(`${device} does not hold what was written at bytes ${range.offset}+${range.length}: it read back different`, 'the disk may be failing: check it (smartctl, nvme smart-log) or install on another');
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes the partition table for this disk's size, backup at its end, and reads it back. */
export function writePartitionTable(device: string, diskSize: number, map: InstallMap): void {
  const gpt = gptFor(map, diskSize);
  const fd = openSync(device, 'r+');
  try {
    writeSync(fd, gpt.head, 0, gpt.head.length, 0);
    writeSync(fd, gpt.tail, 0, gpt.tail.length, gpt.tailOffset);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  readFromDisk(device);
  const check = openSync(device, 'r');
  try {
    for (const [bytes, offset] of [[gpt.head, 0], [gpt.tail, gpt.tailOffset]] as const) {
      const read = Buffer.alloc(bytes.length);
      readSync(check, read, 0, read.length, offset);
      if (!read.equals(bytes)) throw new InstallError(`${device} does not hold the partition table just written to it`, 'the disk may be failing: install on another');
    }
  } finally {
    closeSync(check);
  }
}
