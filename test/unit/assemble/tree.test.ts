import { existsSync, mkdtempSync, readlinkSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildError } from '../../../src/errors.ts';
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
    // `..` stops at the root, as in a chroot, however it is hidden.
    ['/etc/x\n/../../../../tmp/PWNED', 'tmp/PWNED'],
    ['../../etc/shadow', 'etc/shadow'],
    ['usr/../../bin/x', 'usr/bin/x'],
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

  it('adopts another tree as a directory, with its records and without its device nodes', () => {
    const tree = new Tree(join(root, 'host'));
    const other = new Tree(join(root, 'container'));
    other.writeFile('bin/httpd', 'elf', { mode: 0o755, uid: 33, origin: 'busybox' });
    other.symlink('bin', 'usr/bin');
    other.record('dev/null', { type: 'char', mode: 0o666, uid: 0, gid: 0, origin: 'base-files', devMajor: 1, devMinor: 3 });
    tree.adopt('usr/share/containers/web', other);
    expect(readFileSync(join(root, 'host/usr/share/containers/web/usr/bin/httpd'), 'utf8')).toBe('elf');
    expect(tree.get('usr/share/containers/web/usr/bin/httpd')).toMatchObject({ type: 'file', mode: 0o755, uid: 33, origin: 'busybox' });
    expect(tree.get('usr/share/containers/web/bin')).toMatchObject({ type: 'symlink', target: 'usr/bin' });
    expect(tree.has('usr/share/containers/web/dev/null')).toBe(false);
    expect(existsSync(other.root)).toBe(false);
  });

  it('over a lower folder, reads what it has not written from there and never writes there', () => {
    const made = new Tree(join(root, 'cached'));
    made.writeFile('etc/kept', 'lower\n');
    made.writeFile('etc/replaced', 'lower\n');
    made.writeFile('usr/lib/gone/x', 'lower\n');
    made.symlink('etc/link', 'kept');
    const tree = Tree.over(made.root, join(root, 'upper'), made.entries);
    tree.writeFile('etc/replaced', 'upper\n');
    tree.writeFile('etc/new/file', 'new\n');
    tree.remove('usr/lib/gone');
    const other = new Tree(join(root, 'container'));
    other.writeFile('bin/httpd', 'elf');
    tree.adopt('usr/share/containers/web', other);

    expect([tree.readText('etc/kept'), tree.readText('etc/link'), tree.readText('etc/replaced'), tree.readText('etc/new/file')]).toEqual(['lower\n', 'lower\n', 'upper\n', 'new\n']);
    expect(tree.readText('usr/share/containers/web/usr/bin/httpd')).toBe('elf');
    expect(tree.has('usr/lib/gone/x')).toBe(false);
    // The lower folder is as it was made; the upper one holds only what was written.
    expect(readFileSync(join(made.root, 'etc/replaced'), 'utf8')).toBe('lower\n');
    expect(existsSync(join(made.root, 'usr/lib/gone/x'))).toBe(true);
    expect(existsSync(join(made.root, 'etc/new'))).toBe(false);
    expect(existsSync(join(root, 'upper/etc/kept'))).toBe(false);
    expect(() => new Tree(join(root, 'host')).adopt('x', tree)).toThrow(/lower folder/);
  });
});

describe('Tree confinement', () => {
  let base: string;
  let tree: Tree;
  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'slipway-unit-confine-'));
    tree = new Tree(join(base, 'root'));
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('follows a folder symlink with an absolute target inside the tree, never to the build host', () => {
    const outside = join(base, 'outside');
    tree.mkdir('run');
    tree.symlink('var/run', outside); // as a package's /var/run → /run, aimed at the build host
    tree.writeFile('var/run/sub/x', 'in');
    tree.mkdir('var/run/made');
    expect(existsSync(outside)).toBe(false);
    expect(readFileSync(join(tree.root, tree.place('var/run/sub/x')), 'utf8')).toBe('in');
    expect(tree.place('var/run/sub/x')).toBe(`${outside.slice(1)}/sub/x`);
  });

  it('follows relative and chained folder symlinks inside the tree', () => {
    tree.mkdir('run/lock');
    tree.symlink('var/run', '../run');
    tree.symlink('var/lock', 'run/lock');
    tree.writeFile('var/lock/x', 'a');
    expect(tree.get('run/lock/x')?.type).toBe('file');
    expect(tree.place('var/lock/x')).toBe('run/lock/x');
  });

  it('reads a file through a symlink as the image would, not the build host\'s file it names', () => {
    tree.writeFile('etc/hostname', 'image\n');
    tree.symlink('etc/alias', '/etc/hostname');
    expect(tree.readText('etc/alias')).toBe('image\n');
    tree.symlink('etc/shadow-link', '/etc/shadow');
    expect(() => tree.read('etc/shadow-link')).toThrow(/ENOENT/);
  });

  it('refuses a symlink loop by name', () => {
    tree.symlink('a', 'b');
    tree.symlink('b', 'a');
    expect(() => tree.writeFile('a/x', '')).toThrow(BuildError);
  });
});
