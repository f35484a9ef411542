/**
 * The pieces of an update that touch the disk, on real files: slots read from a GPT and renamed
 * (checked by sfdisk), and targets streamed into a partition's place over HTTP on loopback,
 * through dropped connections, 5xx answers and servers that ignore Range, refusing bytes past the
 * length or with the wrong hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { planLayout } from '../../src/bootimage/disk.ts';
import { writeGpt } from '../../src/shared/gpt.ts';
import { MiB, slotUuids } from '../../src/shared/layout.ts';
import { NetworkError, VerificationError } from '../../src/errors.ts';
import { downloadInto } from '../../src/updater/download.ts';
import { clearSlot, nameSlot, readSlots, slotOfRootHash } from '../../src/updater/slots.ts';
import { computeRootHash, parseSuperblock, slotRootHash } from '../../src/updater/verity.ts';
import { tempDir } from '../helpers/archive.ts';

const HASH_1 = 'a1'.repeat(32);
const HASH_2 = 'b2'.repeat(32);

function makeDisk(): string {
  const layout = planLayout({ name: 'host', version: '1.0.0', rootHash: HASH_1, espSize: 8 * MiB, slotSize: 24 * MiB, dataSize: 8 * MiB });
  const disk = join(tempDir('disk'), 'disk.raw');
  const gpt = writeGpt(layout.size, layout.diskGuid, layout.partitions.map((p) => ({ type: p.type, uuid: p.uuid, name: p.label, offset: p.offset, size: p.size })));
  const fd = openSync(disk, 'w');
  ftruncateSync(fd, layout.size);
  writeSync(fd, gpt.head, 0, gpt.head.length, 0);
  writeSync(fd, gpt.tail, 0, gpt.tail.length, gpt.tailOffset);
  closeSync(fd);
  return disk;
}

async function sfdiskJson(disk: string): Promise<Array<{ uuid: string; name: string }>> {
  const { stdout } = await execa('sfdisk', ['--json', disk]);
  return (JSON.parse(stdout) as { partitiontable: { partitions: Array<{ uuid: string; name: string }> } }).partitiontable.partitions;
}

describe('slots', () => {
  it('finds the running slot by its root hash and the empty one beside it', () => {
    const disk = readSlots(makeDisk());
    expect(disk.slots.map((s) => [s.name, s.label, s.root.number, s.verity.number])).toEqual([['a', 'host_1.0.0', 2, 3], ['b', undefined, 4, 5]]);
    expect(slotOfRootHash(disk, HASH_1)?.name).toBe('a');
    expect(slotOfRootHash(disk, HASH_2)).toBeUndefined();
  });

  it('clears, then names, the inactive slot in both GPT copies, as sfdisk reads them', async () => {
    const path = makeDisk();
    const before = readSlots(path);
    clearSlot(path, before, before.slots[1], 'attempt-1');
    await execa('sfdisk', ['--verify', path]);
    const cleared = readSlots(path);
    expect(cleared.slots[1].label).toBeUndefined();
    nameSlot(path, cleared, cleared.slots[1], HASH_2, 'host_2.0.0');
    await execa('sfdisk', ['--verify', path]);
    const partitions = await sfdiskJson(path);
    expect(partitions[3]).toMatchObject({ uuid: slotUuids(HASH_2).root.toUpperCase(), name: 'host_2.0.0' });
    expect(partitions[4]).toMatchObject({ uuid: slotUuids(HASH_2).verity.toUpperCase(), name: 'host_2.0.0_verity' });
    expect(partitions[1]).toMatchObject({ uuid: slotUuids(HASH_1).root.toUpperCase(), name: 'host_1.0.0' });
    expect(slotOfRootHash(readSlots(path), HASH_2)?.name).toBe('b');
    // The backup copy says the same: sfdisk reads it when the primary is gone.
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(512), 0, 512, 512);
    closeSync(fd);
    const fromBackup = await execa('sfdisk', ['--json', path], { reject: false });
    expect(fromBackup.stdout).toContain('host_2.0.0_verity');
  });
});

type Behaviour = (request: { range?: string; attempt: number }, body: Buffer) => { status: number; body?: Buffer; dropAfter?: number; headers?: Record<string, string> };

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(body: Buffer, behaviour: Behaviour): Promise<{ url: string; ranges: Array<string | undefined> }> {
  const ranges: Array<string | undefined> = [];
  server = createServer((request, response) => {
    const range = request.headers.range;
    ranges.push(range);
    const answer = behaviour({ range, attempt: ranges.length }, body);
    response.writeHead(answer.status, { 'content-length': String(answer.body?.length ?? 0), ...answer.headers });
    if (!answer.body) return response.end();
    if (answer.dropAfter !== undefined) {
      response.write(answer.body.subarray(0, answer.dropAfter), () => response.destroy());
      return;
    }
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as { port: number }).port}/root.squashfs`, ranges };
}

function ranged(range: string | undefined, body: Buffer): { status: number; body: Buffer; headers?: Record<string, string> } {
  const from = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
  return from === 0 ? { status: 200, body } : { status: 206, body: body.subarray(from), headers: { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}` } };
}

function target(size = 3 * MiB): { body: Buffer; expected: { length: number; sha256: string } } {
  const body = randomBytes(size);
  return { body, expected: { length: size, sha256: createHash('sha256').update(body).digest('hex') } };
}

function partitionFile(): { path: string; fd: number } {
  const path = join(tempDir('partition'), 'slot');
  const fd = openSync(path, 'w+');
  ftruncateSync(fd, 8 * MiB);
  return { path, fd };
}

describe('downloading a target into a slot', () => {
  const OFFSET = 1 * MiB;

  it('resumes with Range after a dropped connection and retries a 503, writing every byte once', async () => {
    const { body, expected } = target();
    const { url, ranges } = await serve(body, ({ range, attempt }, all) => {
      if (attempt === 1) return { status: 200, body: all, dropAfter: MiB };
      if (attempt === 2) return { status: 503 };
      return ranged(range, all);
    });
    const { path, fd } = partitionFile();
    const result = await downloadInto(url, fd, OFFSET, expected, { backoffMs: 10 });
    closeSync(fd);
    expect(result).toEqual({ bytes: body.length, requests: 3 });
    expect(ranges[0]).toBeUndefined();
    expect(ranges[2]).toMatch(/^bytes=\d+-$/);
    expect(Number(/bytes=(\d+)-/.exec(ranges[2]!)![1])).toBeGreaterThan(0);
    expect(readFileSync(path).subarray(OFFSET, OFFSET + body.length).equals(body)).toBe(true);
  });

  it('starts over when the server ignores Range', async () => {
    const { body, expected } = target();
    const { url } = await serve(body, ({ attempt }, all) => (attempt === 1 ? { status: 200, body: all, dropAfter: 2 * MiB } : { status: 200, body: all }));
    const { path, fd } = partitionFile();
    expect((await downloadInto(url, fd, OFFSET, expected, { backoffMs: 10 })).requests).toBe(2);
    closeSync(fd);
    expect(readFileSync(path).subarray(OFFSET, OFFSET + body.length).equals(body)).toBe(true);
  });

  it('refuses bytes past the signed length', async () => {
    const { body, expected } = target();
    const { url } = await serve(Buffer.concat([body, Buffer.from('extra')]), (_, all) => ({ status: 200, body: all }));
    const { fd } = partitionFile();
    await expect(downloadInto(url, fd, OFFSET, expected, { backoffMs: 10 })).rejects.toThrow(/runs past its length of 3145728 bytes/);
    closeSync(fd);
  });

  it('refuses bytes whose sha256 is not the signed one', async () => {
    const { body, expected } = target();
    const altered = Buffer.from(body);
    altered[12345] = altered[12345]! ^ 1;
    const { url } = await serve(altered, (_, all) => ({ status: 200, body: all }));
    const { fd } = partitionFile();
    const failure = await downloadInto(url, fd, OFFSET, expected, { backoffMs: 10 }).catch((error: unknown) => error);
    closeSync(fd);
    expect(failure).toBeInstanceOf(VerificationError);
    expect(String(failure)).toMatch(/not [0-9a-f]{64} as the signed metadata says/);
  });

  it('gives up after its retries with a network error, when the server keeps failing', async () => {
    const { body, expected } = target(MiB);
    const { url, ranges } = await serve(body, () => ({ status: 502 }));
    const { fd } = partitionFile();
    const failure = await downloadInto(url, fd, OFFSET, expected, { retries: 2, backoffMs: 5 }).catch((error: unknown) => error);
    closeSync(fd);
    expect(failure).toBeInstanceOf(NetworkError);
    expect(String(failure)).toMatch(/answered 502 \(gave up after 3 attempts\)/);
    expect(ranges).toHaveLength(3);
  });
});

describe('verifying a written slot', () => {
  it('computes the root hash veritysetup gives, from the slot and its superblock', async () => {
    const dir = tempDir('verity');
    const data = join(dir, 'root.img');
    const hashes = join(dir, 'root.verity');
    writeFileSync(data, randomBytes(5 * MiB + 4096 * 3));
    const { stdout } = await execa('veritysetup', ['format', '--salt', 'ab'.repeat(32), data, hashes]);
    const expected = /Root hash:\s+([0-9a-f]{64})/.exec(stdout)![1];
    const superblock = parseSuperblock(readFileSync(hashes).subarray(0, 512));
    expect(superblock).toMatchObject({ hashType: 1, algorithm: 'sha256', dataBlockSize: 4096, hashBlockSize: 4096, dataBlocks: (5 * MiB) / 4096 + 3 });
    expect(computeRootHash(data, 0, superblock)).toBe(expected);

    // In place on a disk: the slot's partitions at their offsets.
    const disk = join(dir, 'disk.raw');
    const fd = openSync(disk, 'w');
    writeSync(fd, readFileSync(data), 0, undefined, MiB);
    writeSync(fd, readFileSync(hashes), 0, undefined, 8 * MiB);
    closeSync(fd);
    expect(slotRootHash({ path: disk, offset: MiB }, { path: disk, offset: 8 * MiB })).toBe(expected);
    // Flip the bits of one byte: a fixed value would leave random data unchanged 1 time in 256.
    const corruptAt = MiB + 4096 * 7 + 9;
    const corrupt = openSync(disk, 'r+');
    const byte = Buffer.alloc(1);
    readSync(corrupt, byte, 0, 1, corruptAt);
    writeSync(corrupt, Buffer.from([byte[0]! ^ 0xff]), 0, 1, corruptAt);
    closeSync(corrupt);
    expect(slotRootHash({ path: disk, offset: MiB }, { path: disk, offset: 8 * MiB })).not.toBe(expected);
  });

  it('refuses a verity partition without a superblock', () => {
    expect(() => parseSuperblock(Buffer.alloc(512))).toThrow(/no verity superblock/);
  });
});
