/**
 * `slipway keygen` and `slipway publish` make a TUF repository that tuf-js, with the update agent's
 * fetcher (node:http, as on a host), trusts, served by a plain HTTP server on loopback; and tuf-js
 * refuses each attack on it: tampered, wrongly signed, expired, rolled back or frozen metadata,
 * and targets whose bytes or length do not match.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metadata, MetadataKind, Timestamp } from '@tufjs/models';
import { MetadataFetcher } from '../../src/updater/agent/fetcher.ts';
import { generateKeys, loadRoleKey, signerFor } from '../../src/updater/keys.ts';
import { publish, resignTimestamp, rotateKeys } from '../../src/updater/publish.ts';
import { tempDir } from '../helpers/archive.ts';
import { slipway } from '../helpers/cli.ts';
import { serveFolder, type StaticServer } from '../helpers/static-server.ts';

/** A build folder as `slipway build` leaves it, with small artifacts. */
/** A build as publish reads it: root, verity (made by veritysetup, so the root hash verifies) and UKI, with a manifest. */
function fakeBuild(version: string): string {
  const dir = tempDir('build');
  const artifacts: Record<string, { file: string; size: number; sha256: string }> = {};
  const files = { root: `host_${version}.root.squashfs`, verity: `host_${version}.root.verity`, uki: `host_${version}.efi` };
  writeFileSync(join(dir, files.root), Buffer.alloc(4096, `root-${version}`));
  writeFileSync(join(dir, files.uki), Buffer.alloc(4096, `uki-${version}`));
  const format = execFileSync('veritysetup', ['format', join(dir, files.root), join(dir, files.verity)], { encoding: 'utf8' });
  const rootHash = /Root hash:\s+([0-9a-f]+)/.exec(format)![1]!;
  for (const [artifact, file] of Object.entries(files)) {
    const bytes = readFileSync(join(dir, file));
    artifacts[artifact] = { file, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  writeFileSync(join(dir, `host_${version}.manifest.json`), JSON.stringify({ name: 'host', version, rootHash, artifacts }));
  return dir;
}

/** A newer timestamp signed with any key, as an attacker would write it (the publisher refuses to). */
function forgeTimestamp(keysDir: string): void {
  const path = join(repo, 'metadata', 'timestamp.json');
  const { signed } = Metadata.fromJSON(MetadataKind.Timestamp, JSON.parse(readFileSync(path, 'utf8')));
  const timestamp = new Metadata(new Timestamp({ specVersion: signed.specVersion, version: signed.version + 1, expires: signed.expires, snapshotMeta: signed.snapshotMeta }));
  timestamp.sign(signerFor(loadRoleKey(keysDir, 'timestamp', true)));
  writeFileSync(path, JSON.stringify(timestamp.toJSON()));
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
  return new Updater({ metadataDir, metadataBaseUrl: `${server.url}/metadata`, targetDir: join(metadataDir, 'targets'), targetBaseUrl: `${server.url}/targets`, fetcher: new MetadataFetcher() });
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
    const first = fakeBuild('1.0.0');
    await publish(first, repo, keys);
    await publish(fakeBuild('1.1.0'), repo, keys, { channel: 'beta' });
    const { rootHash } = JSON.parse(readFileSync(join(first, 'host_1.0.0.manifest.json'), 'utf8')) as { rootHash: string };
    const updater = client();
    expect((await download(updater, 'host/1.1.0/host_1.1.0.root.squashfs')).subarray(0, 10).toString()).toBe('root-1.1.0');
    const info = await updater.getTargetInfo('host/1.0.0/host_1.0.0.efi');
    expect(info?.custom).toEqual({ slipway: { name: 'host', version: '1.0.0', channel: 'stable', artifact: 'uki', rootHash } });
    expect(server.requests).toContain('/metadata/2.targets.json');
  });

  it('refuses to publish a version that is not newer, through the command line too', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    await expect(publish(fakeBuild('0.9.0'), repo, keys)).rejects.toThrow(/host 0\.9\.0 is not newer than 1\.0\.0/);
    const result = await slipway(['publish', fakeBuild('1.0.0'), '--repo', repo, '--keys', keys]);
    expect(result.exitCode).toBe(13);
    expect(result.stderr).toMatch(/^slipway: host 1\.0\.0 is not newer than 1\.0\.0, already published\nhint: /);
  });

  it('refuses --expires that is not a whole number of days from 1 to 3650, before touching the repository', async () => {
    for (const days of ['1e9', '3651', '0', '1.5', 'soon']) {
      const result = await slipway(['publish', fakeBuild('1.0.0'), '--repo', repo, '--keys', keys, '--expires', days]);
      expect(result.exitCode, days).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(`slipway: --expires ${days}: expected a whole number of days from 1 to 3650`);
    }
  });

  it('signs only what it checked: an artifact cut short or changed, or a root hash that does not verify, is refused before anything is written', async () => {
    const cases: Array<[string, (dir: string) => void, RegExp]> = [
      ['cut short', (dir) => truncateSync(join(dir, 'host_1.0.0.root.squashfs'), 2048), /host_1\.0\.0\.root\.squashfs is 2048 bytes where the build's manifest says 4096$/],
      ['changed', (dir) => writeFileSync(join(dir, 'host_1.0.0.efi'), Buffer.alloc(4096, 'other')), /host_1\.0\.0\.efi has sha256 [0-9a-f]{64} where the build's manifest says [0-9a-f]{64}$/],
      ['a root hash of other contents', (dir) => {
        const path = join(dir, 'host_1.0.0.manifest.json');
        const manifest = JSON.parse(readFileSync(path, 'utf8')) as { rootHash: string };
        writeFileSync(path, JSON.stringify({ ...manifest, rootHash: 'ab'.repeat(32) }));
      }, /^the root hash (ab){32} of the build's manifest does not verify /],
      ['a truncated manifest', (dir) => truncateSync(join(dir, 'host_1.0.0.manifest.json'), 40), /host_1\.0\.0\.manifest\.json: it is not valid JSON/],
    ];
    for (const [what, damage, message] of cases) {
      const build = fakeBuild('1.0.0');
      damage(build);
      await expect(publish(build, repo, keys), what).rejects.toThrow(message);
      expect(existsSync(join(repo, 'targets')), what).toBe(false);
      expect(existsSync(join(repo, 'metadata')), what).toBe(false);
    }
  });

  it('refuses a file where a folder belongs, naming which', async () => {
    const file = join(tempDir('file'), 'not-a-folder');
    writeFileSync(file, 'x');
    const build = fakeBuild('1.0.0');
    for (const [args, message] of [
      [[file, '--repo', repo, '--keys', keys], `the build ${file} is not a folder`],
      [[build, '--repo', file, '--keys', keys], `--repo ${file} is not a folder`],
      [[build, '--repo', repo, '--keys', file], `--keys ${file} is not a folder`],
      [['--timestamp', '--repo', file, '--keys', keys], `--repo ${file} is not a folder`],
    ] as const) {
      const result = await slipway(['publish', ...args]);
      expect(result.exitCode, result.stderr).toBe(13);
      expect(result.stderr.split('\n')[0]).toBe(`slipway: ${message}`);
    }
    const keygen = await slipway(['keygen', file]);
    expect(keygen.exitCode).toBe(10);
    expect(keygen.stderr.split('\n')[0]).toBe(`slipway: ${file} is not a folder`);
  });

  it('refuses publishing with keys the repository does not trust', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    const other = tempDir('other-keys');
    generateKeys(other);
    await expect(publish(fakeBuild('2.0.0'), repo, other)).rejects.toThrow(/the targets key in .* is not the one the repository's root trusts/);
  });

  it('refuses re-signing the timestamp with a key the root does not trust, leaving timestamp.json as it was', async () => {
    await publish(fakeBuild('1.0.0'), repo, keys);
    const before = readFileSync(join(repo, 'metadata', 'timestamp.json'));
    const other = tempDir('other-keys');
    generateKeys(other);
    await expect(resignTimestamp(repo, other)).rejects.toThrow(/^the timestamp key in .* is not the one the repository's root trusts$/);
    expect(readFileSync(join(repo, 'metadata', 'timestamp.json'))).toEqual(before);
    expect(await resignTimestamp(repo, keys)).toBeGreaterThan(1);
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
    // The publisher refuses the old timestamp key; a timestamp signed with it anyway is refused by clients.
    await expect(resignTimestamp(repo, keys)).rejects.toThrow(/not the one the repository's root trusts/);
    forgeTimestamp(keys);
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
      forgeTimestamp(other);
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
