import { mkdtempSync, readlinkSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Tree, canonicalPath } from '../../../src/assemble/tree.ts';

describe('canonicalPath', () => {
  it.each([
    ['bin/sh', 'usr/bin/sh'],
    ['/sbin/init', 'usr/sbin/init'],
    ['./lib/x86_64-linux-gnu/libc.so.6', 'usr/lib/x86_64-linux-gnu/libc.so.6'],
    ['lib64/ld-linux-x86-64.so.2', 'usr/lib64/ld-linux-x86-64.so.2'],
    ['usr/bin/sh', 'usr/bin/sh'],
    ['etc/passwd', 'etc/passwd'],
    ['binaries/x', 'binaries/x'],
    ['etc//default/', 'etc/default'],
    ['bin', 'bin'],
    ['/lib/', 'lib'],
    ['/', ''],
    ['./', ''],
  ])('%s → %s', (path, canonical) => {
    expect(canonicalPath(path)).toBe(canonical);
  });
});

describe('Tree', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-unit-tree-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes below usr for merged paths and makes parents', () => {
    const tree = new Tree(root);
    tree.writeFile('/bin/hello', 'hi\n', { mode: 0o755 });
    expect(readFileSync(join(root, 'usr/bin/hello'), 'utf8')).toBe('hi\n');
    expect(statSync(join(root, 'usr/bin/hello')).mode & 0o777).toBe(0o755);
    expect(tree.get('usr/bin/hello')).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    expect(tree.get('usr')).toMatchObject({ type: 'directory', mode: 0o755 });
    expect(tree.walk('')).toEqual(['usr', 'usr/bin', 'usr/bin/hello']);
  });

  it('replaces a file with a symlink and lists and removes', () => {
    const tree = new Tree(root);
    tree.writeFile('etc/a', 'x');
    tree.writeFile('etc/b/c', 'y');
    tree.symlink('etc/a', '/dev/null');
    expect(readlinkSync(join(root, 'etc/a'))).toBe('/dev/null');
    expect(tree.get('etc/a')).toMatchObject({ type: 'symlink', target: '/dev/null' });
    expect(tree.list('etc')).toEqual(['etc/a', 'etc/b']);
    tree.remove('etc/b');
    expect(tree.walk('etc')).toEqual(['etc/a']);
  });
});
