import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContentCache } from '../../src/assemble/cache.ts';
import { DataTars } from '../../src/assemble/data-tars.ts';
import type { LockedPackage } from '../../src/assemble/lock.ts';
import { tempDir } from '../helpers/archive.ts';

/** A .deb made by the real tools: an ar archive of debian-binary, control.tar.xz and data.tar.xz. */
function deb(dir: string, name: string, data: Buffer): { pkg: LockedPackage; path: string } {
  const work = join(dir, name);
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, 'debian-binary'), '2.0\n');
  writeFileSync(join(work, 'control.tar.xz'), execFileSync('xz', ['-c'], { input: Buffer.alloc(10240) }));
  writeFileSync(join(work, 'data.tar.xz'), execFileSync('xz', ['-c'], { input: data }));
  const path = join(dir, `${name}.deb`);
  execFileSync('ar', ['rc', path, 'debian-binary', 'control.tar.xz', 'data.tar.xz'], { cwd: work });
  const sha256 = `${name.padEnd(64, '0')}`;
  return { pkg: { name, version: '1', sha256, size: data.length } as LockedPackage, path };
}

describe('DataTars', () => {
  it('decompresses every package into the cache in the background and hands out each tar', async () => {
    const dir = tempDir('data-tars');
    const cache = new ContentCache(join(dir, 'cache'));
    const debs = [deb(dir, 'aa', Buffer.from('a'.repeat(20480))), deb(dir, 'bb', Buffer.from('b'.repeat(40960))), deb(dir, 'cc', Buffer.from('c'.repeat(10240)))];
    const tars = new DataTars(cache, debs.map((d) => d.pkg), new Map(debs.map((d) => [d.pkg.sha256, d.path])));
    for (const { pkg } of debs) {
      const tar = await tars.tar(pkg);
      expect(tar).toBe(cache.pathFor('unpacked', pkg.sha256, '.tar'));
      expect(readFileSync(tar, 'latin1')).toBe(pkg.name[0]!.repeat(pkg.size));
    }
    await tars.all();
  });

  it('fails the tar of a damaged package with what the decompressor said, and only that one', async () => {
    const dir = tempDir('data-tars');
    const cache = new ContentCache(join(dir, 'cache'));
    const good = deb(dir, 'good', Buffer.alloc(10240, 1));
    const bad = deb(dir, 'bad', Buffer.alloc(10240, 2));
    const bytes = readFileSync(bad.path);
    bytes.write('garbage!', bytes.length - 30, 'latin1'); // into data.tar.xz, the last member
    writeFileSync(bad.path, bytes);
    const tars = new DataTars(cache, [bad.pkg, good.pkg], new Map([[bad.pkg.sha256, bad.path], [good.pkg.sha256, good.path]]));
    await expect(tars.tar(bad.pkg)).rejects.toThrow(/^xz failed \(exit status 1\): xz --decompress/);
    expect(readFileSync(await tars.tar(good.pkg))).toEqual(Buffer.alloc(10240, 1));
    await expect(tars.all()).rejects.toThrow(/xz failed/);
    expect(cache.has('unpacked', bad.pkg.sha256, '.tar')).toBe(false);
  });

  it('starts nothing once stopped, and leaves no decompressor running', async () => {
    const dir = tempDir('data-tars');
    const cache = new ContentCache(join(dir, 'cache'));
    const debs = Array.from({ length: 6 }, (_, i) => deb(dir, `p${i}`, Buffer.alloc(10240, i)));
    const tars = new DataTars(cache, debs.map((d) => d.pkg), new Map(debs.map((d) => [d.pkg.sha256, d.path])));
    await tars.stop();
    const settled = await Promise.allSettled(debs.map((d) => tars.tar(d.pkg)));
    // The two under way when it stopped finish; the rest never start.
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(2);
    expect(settled.filter((s) => s.status === 'rejected').map((s) => String((s as PromiseRejectedResult).reason))).toEqual(Array(4).fill('Error: the build stopped'));
  });
});
