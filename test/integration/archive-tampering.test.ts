/**
 * Every byte slipway uses is vouched for by the archive's signature: a changed InRelease, index or
 * .deb is refused with a clear error, and nothing of it is kept.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256File } from '../../src/assemble/cache.ts';
import type { Lockfile } from '../../src/assemble/lock.ts';
import { SHARED_CACHE, tempDir, testMirror, writeRecipe } from '../helpers/archive.ts';
import { errorLines, slipway } from '../helpers/cli.ts';
import { flipByte, startArchiveProxy, type ArchiveProxy } from '../helpers/proxy.ts';

let proxy: ArchiveProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

const SMALL_RECIPE = { name: 'tamper', version: '1.0', distribution: { base: 'none' as const }, packages: ['hostname'] };

describe('a tampered archive is refused', () => {
  it('refuses an InRelease whose signed text was changed', async () => {
    proxy = await startArchiveProxy(testMirror(), (path, body) =>
      path.endsWith('/InRelease') ? Buffer.from(body.toString('utf8').replace('Origin: Debian', 'Origin: Debiam')) : body,
    );
    const recipe = writeRecipe(SMALL_RECIPE);
    const cache = tempDir('cache');
    const result = await slipway(['lock', recipe, '--mirror', proxy.url, '--cache', cache]);
    const { message, hint } = errorLines(result);
    expect(result.exitCode).toBe(6);
    expect(message).toMatch(/^slipway: bad signature on http:\/\/127\.0\.0\.1:\d+\/dists\/bookworm\/InRelease/);
    expect(hint).toMatch(/^hint: /);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(recipe.replace('.yaml', '.lock.json'))).toBe(false);
    expect(filesIn(join(cache, 'indices'))).toEqual([]);
  });

  it('refuses a Packages index whose sha256 differs from the signed Release', async () => {
    proxy = await startArchiveProxy(testMirror(), (path, body) => (path.includes('/binary-amd64/') ? flipByte(body) : body));
    const recipe = writeRecipe(SMALL_RECIPE);
    const cache = tempDir('cache');
    const result = await slipway(['lock', recipe, '--mirror', proxy.url, '--cache', cache]);
    const { message, hint } = errorLines(result);
    expect(result.exitCode).toBe(6);
    expect(message).toMatch(/binary-amd64.*: sha256 [0-9a-f]{64} where the index promises [0-9a-f]{64}$/);
    expect(hint).toMatch(/other bytes than its signed index promises/);
    expect(existsSync(recipe.replace('.yaml', '.lock.json'))).toBe(false);
    expect(filesIn(join(cache, 'indices'))).toEqual([]);
  });

  it('refuses a .deb whose sha256 differs from the lockfile, keeping no cache entry for it', async () => {
    const recipe = writeRecipe(SMALL_RECIPE);
    expect((await slipway(['lock', recipe, '--cache', SHARED_CACHE])).exitCode).toBe(0);
    proxy = await startArchiveProxy(testMirror(), (path, body) => (path.includes('/hostname_') ? flipByte(body) : body));
    const cache = tempDir('cache');
    const result = await slipway(['fetch', recipe, '--mirror', proxy.url, '--cache', cache]);
    const { message } = errorLines(result);
    expect(result.exitCode).toBe(6);
    expect(message).toMatch(/hostname_.*\.deb: sha256 [0-9a-f]{64} where the index promises/);
    expect(proxy.requests.some((path) => path.includes('/hostname_'))).toBe(true);
    const lock = JSON.parse(readFileSync(recipe.replace('.yaml', '.lock.json'), 'utf8')) as Lockfile;
    const hostname = lock.sets.host!.find((pkg) => pkg.name === 'hostname')!;
    const kept = filesIn(join(cache, 'debs'));
    expect(kept).not.toContain(`${hostname.sha256}.deb`);
    expect(kept.filter((name) => !/^[0-9a-f]{64}\.deb$/.test(name))).toEqual([]); // no partial downloads
    for (const name of kept) expect(await sha256File(join(cache, 'debs', name))).toBe(name.slice(0, 64));
  });

  it('downloads through an honest proxy and keeps verified entries', async () => {
    proxy = await startArchiveProxy(testMirror());
    const recipe = writeRecipe(SMALL_RECIPE);
    const cache = tempDir('cache');
    expect((await slipway(['lock', recipe, '--mirror', proxy.url, '--cache', cache])).exitCode).toBe(0);
    const result = await slipway(['fetch', recipe, '--mirror', proxy.url, '--cache', cache, '--json']);
    expect(result.exitCode).toBe(0);
    const stats = JSON.parse(result.stdout) as { downloaded: number; cached: number };
    const debs = filesIn(join(cache, 'debs'));
    expect(debs.length).toBe(stats.downloaded);
    expect(debs.every((name) => /^[0-9a-f]{64}\.deb$/.test(name))).toBe(true);
    const again = JSON.parse((await slipway(['fetch', recipe, '--cache', cache, '--json'])).stdout) as { downloaded: number; cached: number };
    expect(again).toMatchObject({ downloaded: 0, cached: debs.length });
  });
});
