/**
 * `slipway keygen` and `slipway publish` make a TUF repository that tuf-js (the client the update
 * agent uses) trusts, served by a plain HTTP server on loopback; and tuf-js refuses each attack on
 * it: tampered, wrongly signed, expired, rolled back or frozen metadata, and targets whose bytes
 * or length do not match.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeys } from '../../src/updater/keys.ts';
import { publish, resignTimestamp, rotateKeys } from '../../src/updater/publish.ts';
import { tempDir } from '../helpers/archive.ts';
import { slipway } from '../helpers/cli.ts';
import { serveFolder, type StaticServer } from '../helpers/static-server.ts';

/** A build folder as `slipway build` leaves it, with small artifacts. */
function fakeBuild(version: string, size = 4096): string {
  const dir = tempDir('build');
  const artifacts: Record<string, { file: string; size: number; sha256: string }> = {};
  for (const [artifact, suffix] of [['root', 'root.squashfs'], ['verity', 'root.verity'], ['uki', 'efi']] as const) {
    const file = `host_${version}.${suffix}`;
    writeFileSync(join(dir, file), Buffer.alloc(size, `${artifact}-${version}`));
    artifacts[artifact] = { file, size, sha256: '' };
  }
  writeFileSync(join(dir, `host_${version}.manifest.json`), JSON.stringify({ name: 'host', version, rootHash: 'ab'.repeat(32), artifacts }));
  return dir;
}

let repo: string;
let keys: string;
let server: StaticServer;

beforeEach(async () => {
  repo = tempDir('repo');
  keys = tempDir('keys');
  generateKeys(keys);
  server = await serveFolder(repo);
});

afterEach(async () => {
  await server.close();
});

/** A client that trusts the repository's first root, as an image built with it would; `metadataDir` keeps what it saw. */
function client(metadataDir = tempDir('client')): Updater {
  mkdirSync(join(metadataDir, 'targets'), { recursive: true });
  if (!existsSync(join(metadataDir, 'root.json'))) copyFileSync(join(repo, 'metadata', '1.root.json'), join(metadataDir, 'root.json'));
  return new Updater({ metadataDir, metadataBaseUrl: `${server.url}/metadata`, targetDir: join(metadataDir, 'targets'), targetBaseUrl: `${server.url}/targets` });
}

async function download(updater: Updater, path: string): Promise<Buffer> {
  await updater.refresh();
  const info = await updater.getTargetInfo(path);
  if (!info) throw new Error(`no target ${path}`);
  return readFileSync(await updater.downloadTarget(info));
}

function editJson(path: string, edit: (value: any) => void): void {
  const value = JSON.parse(readFileSync(path, 'utf8'));
  edit(value);
  writeFileSync(path, JSON.stringify(value));
}

describe('the update repository', () => {
  it('is trusted by tuf-js, and serves each published version’s artifacts with their slipway details', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    await publish(fakeBuild('1.1.0'), repo, keys, { channel: 'beta' });
    const updater = client();
    expect((await download(updater, 'host/1.1.0/host_1.1.0.root.squashfs')).subarray(0, 10).toString()).toBe('root-1.1.0');
    const info = await updater.getTargetInfo('host/1.0.0/host_1.0.0.efi');
    expect(info?.custom).toEqual({ slipway: { name: 'host', version: '1.0.0', channel: 'stable', artifact: 'uki', rootHash: 'ab'.repeat(32) } });
    expect(server.requests).toContain('/metadata/2.targets.json');
  });

  it('refuses to publish a version that is not newer, through the command line too', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    await expect(publish(fakeBuild('0.9.0'), repo, keys)).rejects.toThrow(/host 0\.9\.0 is not newer than 1\.0\.0/);
    const result = await slipway(['publish', fakeBuild('1.0.0'), '--repo', repo, '--keys', keys]);
    expect(result.exitCode).toBe(13);
    expect(result.stderr).toMatch(/^slipway: host 1\.0\.0 is not newer than 1\.0\.0, already published\nhint: /);
  });

  it('refuses publishing with keys the repository does not trust', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    const other = tempDir('other-keys');
    generateKeys(other);
    await expect(publish(fakeBuild('2.0.0'), repo, other)).rejects.toThrow(/the targets key in .* is not the one the repository's root trusts/);
  });

  it('rotates every key: a client trusting the first root follows to the second, and the old keys are refused', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    const seen = tempDir('client');
    await client(seen).refresh();
    const fresh = tempDir('new-keys');
    generateKeys(fresh);
    expect(await rotateKeys(repo, keys, fresh)).toBe(2);
    await publish(fakeBuild('2.0.0'), repo, fresh);
    expect((await download(client(seen), 'host/2.0.0/host_2.0.0.efi')).subarray(0, 9).toString()).toBe('uki-2.0.0');
    expect(server.requests).toContain('/metadata/2.root.json');
    await expect(publish(fakeBuild('3.0.0'), repo, keys)).rejects.toThrow(/not the one the repository's root trusts/);
    // Metadata signed with an old key after the rotation is refused by clients.
    await resignTimestamp(repo, keys);
    await expect(client(seen).refresh()).rejects.toThrow(/timestamp was signed by 0\/1 keys/);
  });

  describe('attacks tuf-js refuses', () => {
    beforeEach(async () => {
      await publish(fakeBuild('1.0.0'), repo, keys);
    });

    it('metadata changed after signing (bad signature)', async () => {
      editJson(join(repo, 'metadata', 'timestamp.json'), (t) => {
        t.signed.expires = '2099-01-01T00:00:00Z';
      });
      await expect(client().refresh()).rejects.toThrow(/timestamp was signed by 0\/1 keys/);
    });

    it('metadata signed by a key the root does not name', async () => {
      const other = tempDir('other-keys');
      generateKeys(other);
      copyFileSync(join(other, 'timestamp.key'), join(keys, 'timestamp.key'));
      await resignTimestamp(repo, keys);
      await expect(client().refresh()).rejects.toThrow(/timestamp was signed by 0\/1 keys/);
    });

    it('a frozen repository: a timestamp nobody re-signed, past its expiry', async () => {
      await resignTimestamp(repo, keys, { now: new Date(Date.now() - 3 * 24 * 3600 * 1000) });
      await expect(client().refresh()).rejects.toThrow(/expired/i);
    });

    it('a rollback: an older timestamp after a newer one was seen', async () => {
      const stale = readFileSync(join(repo, 'metadata', 'timestamp.json'));
      const seen = tempDir('client');
      await publish(fakeBuild('1.1.0'), repo, keys);
      await client(seen).refresh();
      writeFileSync(join(repo, 'metadata', 'timestamp.json'), stale);
      await expect(client(seen).refresh()).rejects.toThrow(/New timestamp version 1 is less than/);
    });

    it('a target whose bytes do not match its hash', async () => {
      const updater = client();
      await updater.refresh();
      const info = (await updater.getTargetInfo('host/1.0.0/host_1.0.0.root.squashfs'))!;
      const file = join(repo, 'targets', 'host', '1.0.0', `${info.hashes.sha256}.host_1.0.0.root.squashfs`);
      const bytes = readFileSync(file);
      bytes[100] = bytes[100]! ^ 0xff;
      writeFileSync(file, bytes);
      await expect(updater.downloadTarget(info)).rejects.toThrow(/hash|digest/i);
    });

    it('a target longer than its length', async () => {
      const updater = client();
      await updater.refresh();
      const info = (await updater.getTargetInfo('host/1.0.0/host_1.0.0.root.verity'))!;
      const file = join(repo, 'targets', 'host', '1.0.0', `${info.hashes.sha256}.host_1.0.0.root.verity`);
      writeFileSync(file, Buffer.concat([readFileSync(file), Buffer.from('more')]));
      await expect(updater.downloadTarget(info)).rejects.toThrow(/length|exceed|size/i);
    });
  });
});
