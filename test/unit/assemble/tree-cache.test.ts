import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ContentCache } from '../../../src/assemble/cache.ts';
import { cachedTree, treeKey } from '../../../src/assemble/tree-cache.ts';
import type { Tree } from '../../../src/assemble/tree.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-tree-cache-'));
  dirs.push(dir);
  return dir;
}

/** A cache holding a tree of one file, /etc/os-release with VERSION=1, and a way to get it again into `folder`. */
async function cachedOsRelease() {
  const dir = scratch();
  const cache = new ContentCache(join(dir, 'cache'));
  const key = treeKey({ packages: ['os-release'] });
  const make = async (tree: Tree) => tree.writeFile('etc/os-release', 'VERSION=1\n');
  await cachedTree(cache, key, join(dir, 'build1', 'root'), make);
  const tree = (folder: string, inPlace = false) => cachedTree(cache, key, join(dir, folder, 'root'), make, inPlace);
  return { dir, tree };
}

describe('cachedTree', () => {
  it('makes a tree once, then restores the same entries, files and extra data from the cache', async () => {
    const dir = scratch();
    const cache = new ContentCache(join(dir, 'cache'));
    const key = treeKey({ packages: ['a'] });
    let made = 0;
    const make = async (tree: Tree) => {
      made++;
      tree.writeFile('usr/bin/tool', 'v1', { mode: 0o4755, uid: 0, gid: 42, origin: 'pkg' });
      tree.symlink('usr/bin/alias', 'tool', { origin: 'pkg' });
      tree.record('dev/null', { type: 'char', mode: 0o666, uid: 0, gid: 0, origin: 'pkg', devMajor: 1, devMinor: 3 });
      return ['left out'];
    };
    const first = await cachedTree(cache, key, join(dir, 'build1', 'root'), make);
    const second = await cachedTree(cache, key, join(dir, 'build2', 'root'), make);
    expect(made).toBe(1);
    expect([first.hit, second.hit]).toEqual([false, true]);
    expect(second.extra).toEqual(['left out']);
    expect([...second.tree.entries].sort()).toEqual([...first.tree.entries].sort());
    expect(second.tree.readText('usr/bin/alias')).toBe('v1');
  });

  it('never changes the cached tree through a restored copy', async () => {
    const { tree } = await cachedOsRelease();
    const restored = await tree('build2');
    expect(statSync(restored.tree.hostPath('etc/os-release')).nlink).toBeGreaterThan(1);
    restored.tree.writeFile('etc/os-release', 'VERSION=2\n');
    const again = await tree('build3');
    expect(readFileSync(again.tree.hostPath('etc/os-release'), 'utf8')).toBe('VERSION=1\n');
  });

  it('in place, reads the cached tree without copying it, and a write there leaves it as it was', async () => {
    const { dir, tree } = await cachedOsRelease();
    const used = await tree('dry-run', true);
    expect(used.hit).toBe(true);
    expect(readdirSync(join(dir, 'dry-run', 'root'))).toEqual([]);
    expect(used.tree.readText('etc/os-release')).toBe('VERSION=1\n');
    used.tree.writeFile('etc/os-release', 'VERSION=2\n');
    expect(used.tree.readText('etc/os-release')).toBe('VERSION=2\n');
    const again = await tree('build2');
    expect(again.tree.readText('etc/os-release')).toBe('VERSION=1\n');
  });

  it('keys trees by their inputs', () => {
    expect(treeKey({ packages: ['a'] })).toBe(treeKey({ packages: ['a'] }));
    expect(treeKey({ packages: ['a'] })).not.toBe(treeKey({ packages: ['b'] }));
  });
});
