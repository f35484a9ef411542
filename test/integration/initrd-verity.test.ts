/**
 * The dm-verity table the initrd gives dmsetup, read off the superblock by runtime/initrd/verity.sh
 * in busybox sh with only busybox's applets (Debian's busybox-static, the package the initrd is made
 * from), against hash files `veritysetup format` wrote; and the refusals of superblocks it cannot use.
 */
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkTools } from '../../src/tools.ts';
import { tempDir } from '../helpers/archive.ts';
import { REPO_ROOT } from '../helpers/cli.ts';

const VERITY_SH = join(REPO_ROOT, 'runtime/initrd/verity.sh');
let applets: string;

beforeAll(async () => {
  checkTools(['busybox', 'veritysetup']);
  applets = tempDir('busybox');
  await execa('busybox', ['--install', '-s', applets]);
});

interface Formatted {
  data: string;
  hash: string;
  rootHash: string;
  /** What `veritysetup dump` says about the superblock. */
  dump: Map<string, string>;
}

/** A data file of `blocks` blocks and its hash file, made by veritysetup with `options`. */
async function format(blocks: number, blockSize: number, options: string[]): Promise<Formatted> {
  const dir = tempDir('verity');
  const data = join(dir, 'data');
  const hash = join(dir, 'hash');
  const bytes = Buffer.alloc(blocks * blockSize);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 12)) & 0xff;
  writeFileSync(data, bytes);
  const formatted = await execa('veritysetup', ['format', data, hash, ...options]);
  const rootHash = /Root hash:\s+([0-9a-f]+)/.exec(formatted.stdout)![1]!;
  const dumped = await execa('veritysetup', ['dump', hash]);
  const dump = new Map(dumped.stdout.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]));
  return { data, hash, rootHash, dump };
}

/** verity_table in busybox sh, `fail` as init's says it; prints the table and the device UUID. */
function verityTable(data: string, hash: string, rootHash: string, dataBytes: number) {
  const script = 'fail() { echo "slipway-initrd: error: $*"; exit 1; }; . "$0"; verity_table "$1" "$2" "$3" "$4"; echo "$VERITY_TABLE"; echo "$VERITY_UUID"';
  return execa('busybox', ['sh', '-c', script, VERITY_SH, data, hash, rootHash, String(dataBytes)], { env: { PATH: applets }, extendEnv: false, reject: false });
}

/** The hash file with `bytes` written at `offset` of its superblock. */
function patched(hash: string, offset: number, bytes: Buffer): string {
  const copy = join(tempDir('forged'), 'hash');
  const content = readFileSync(hash);
  bytes.copy(content, offset);
  writeFileSync(copy, content);
  return copy;
}

const u32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer);

describe('the verity table from the superblock', () => {
  it('has the parameters veritysetup wrote: block sizes, data blocks, salt, hash start 1 and its UUID', async () => {
    const salt = 'c5'.repeat(32);
    const v = await format(40, 4096, ['--hash=sha256', '--data-block-size=4096', '--hash-block-size=4096', `--salt=${salt}`, '--uuid=12d44d49-fa67-42c6-a03f-c633976c5b7f']);
    expect(v.dump.get('Data blocks')).toBe('40');
    const result = await verityTable(v.data, v.hash, v.rootHash, 40 * 4096);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `0 ${(40 * 4096) / 512} verity 1 ${v.data} ${v.hash} 4096 4096 40 1 sha256 ${v.rootHash} ${v.dump.get('Salt')}`,
      `CRYPT-VERITY-${v.dump.get('UUID')!.replaceAll('-', '')}-root`,
    ]);
  });

  it('reads other block sizes, an empty salt (given to dm-verity as "-"), and a partition larger than the data', async () => {
    const v = await format(24, 1024, ['--data-block-size=1024', '--hash-block-size=512', '--salt=-']);
    expect(v.dump.get('Salt')).toBe('-');
    const result = await verityTable(v.data, v.hash, v.rootHash, 24 * 1024 + 1024 * 1024);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(`0 48 verity 1 ${v.data} ${v.hash} 1024 512 24 1 sha256 ${v.rootHash} -`);
  });
});

describe('superblocks the initrd refuses', () => {
  let v: Formatted;
  beforeAll(async () => {
    v = await format(16, 4096, ['--salt', 'ab'.repeat(32)]);
  });

  async function refusal(hash: string, dataBytes = 16 * 4096): Promise<string> {
    const result = await verityTable(v.data, hash, v.rootHash, dataBytes);
    expect(result.exitCode).not.toBe(0);
    return result.stdout;
  }

  it('a hash partition without a superblock, and one too short to hold one', async () => {
    const zeroed = patched(v.hash, 0, Buffer.alloc(512));
    expect(await refusal(zeroed)).toBe(`slipway-initrd: error: ${zeroed} has no verity superblock (no "verity" signature)`);
    const short = patched(v.hash, 0, Buffer.alloc(0));
    truncateSync(short, 100);
    expect(await refusal(short)).toBe(`slipway-initrd: error: cannot read the verity superblock from ${short}`);
  });

  it('another superblock version or hash type', async () => {
    expect(await refusal(patched(v.hash, 8, u32(2)))).toMatch(/has version 2; this initrd reads version 1$/);
    expect(await refusal(patched(v.hash, 12, u32(0)))).toMatch(/has hash type 0; this initrd opens type 1 \(normal\)$/);
  });

  it('a hash other than sha256, as veritysetup writes it and as a forged name', async () => {
    const sha1 = await format(16, 4096, ['--hash=sha1']);
    const result = await verityTable(sha1.data, sha1.hash, sha1.rootHash, 16 * 4096);
    expect(result.stdout).toMatch(/names a hash algorithm other than sha256$/);
    expect(await refusal(patched(v.hash, 32, Buffer.from('sha2567')))).toMatch(/names a hash algorithm other than sha256$/);
  });

  it('block sizes dm-verity cannot take', async () => {
    expect(await refusal(patched(v.hash, 64, u32(8192)))).toMatch(/has a block size of 8192 bytes; dm-verity takes 512, 1024, 2048 or 4096$/);
    expect(await refusal(patched(v.hash, 68, u32(1000)))).toMatch(/has a block size of 1000 bytes/);
  });

  it('more data blocks than the data partition holds, none, or a count that would overflow', async () => {
    expect(await refusal(v.hash, 15 * 4096)).toMatch(/counts 16 data blocks of 4096 bytes, more than the 61440 bytes of \S+\/data$/);
    expect(await refusal(patched(v.hash, 72, Buffer.alloc(8)))).toMatch(/counts 0 data blocks/);
    expect(await refusal(patched(v.hash, 72, Buffer.from('0000000000000080', 'hex')))).toMatch(/counts -\d+ data blocks/);
    expect(await refusal(patched(v.hash, 72, Buffer.from('0000000000000010', 'hex')))).toMatch(/counts \d+ data blocks of 4096 bytes, more than/);
  });

  it('a salt longer than the superblock holds', async () => {
    expect(await refusal(patched(v.hash, 80, Buffer.from([0x2c, 0x01])))).toMatch(/has a salt of 300 bytes; at most 256 fit$/);
  });
});
