/**
 * Every byte slipway uses is vouched for by the archive's signature: a changed InRelease, index or
 * .deb is refused with a clear error, and nothing of it is kept.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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

  it('blames a lockfile whose sha256 was changed, not the mirror, when the signed index agrees with the mirror', async () => {
    const recipe = writeRecipe(SMALL_RECIPE);
    expect((await slipway(['lock', recipe, '--cache', SHARED_CACHE])).exitCode).toBe(0);
    const lockPath = recipe.replace('.yaml', '.lock.json');
    const lock = JSON.parse(readFileSync(lockPath, 'utf8')) as Lockfile;
    const hostname = lock.sets.host!.find((pkg) => pkg.name === 'hostname')!;
    const real = hostname.sha256;
    hostname.sha256 = `${real[0] === '0' ? '1' : '0'}${real.slice(1)}`;
    writeFileSync(lockPath, JSON.stringify(lock, null, 2));
    const result = await slipway(['fetch', recipe, '--cache', tempDir('cache')]);
    const { message, hint } = errorLines(result);
    expect(result.exitCode).toBe(8);
    expect(message).toBe(`slipway: hostname ${hostname.version}: the lockfile pins sha256 ${hostname.sha256}, but the archive's signed index and the mirror agree on ${real}`);
    expect(hint).toBe('hint: the lockfile was changed by hand or is damaged: run slipway lock to resolve again');
  });

  it('refuses a hand-edited lockfile whose set no longer carries what its packages depend on, in fetch and build', async () => {
    const recipe = writeRecipe(SMALL_RECIPE);
    expect((await slipway(['lock', recipe, '--cache', SHARED_CACHE])).exitCode).toBe(0);
    const lockPath = recipe.replace('.yaml', '.lock.json');
    const locked = readFileSync(lockPath, 'utf8');
    for (const deleted of ['libc6', 'libgcc-s1']) {
      const lock = JSON.parse(locked) as Lockfile;
      const before = lock.sets.host!.length;
      lock.sets.host = lock.sets.host!.filter((pkg) => pkg.name !== deleted);
      expect(lock.sets.host.length).toBe(before - 1);
      writeFileSync(lockPath, JSON.stringify(lock, null, 2));
      for (const args of [['fetch', recipe], ['build', recipe, '--out', tempDir('out')]]) {
        const result = await slipway([...args, '--cache', SHARED_CACHE]);
        const { message, hint } = errorLines(result);
        expect(result.exitCode, result.stderr).toBe(8);
        expect(message).toBe('slipway: the lockfile\'s package set "host" is not closed under its dependencies:');
        expect(result.stderr).toMatch(new RegExp(`\\n  nothing in the set meets "${deleted}[ "].*, which .* depends? on\\n`));
        expect(hint).toBe('hint: the lockfile was changed by hand or is damaged: run slipway lock to resolve it again');
        expect(result.stderr).not.toMatch(/\n\s+at /);
        if (args[0] === 'build') expect(filesIn(args[3]!)).toEqual([]);
      }
    }
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
