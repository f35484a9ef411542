import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pseudoDefinitions, pseudoPath } from '../../../src/assemble/rootfs.ts';
import { Tree } from '../../../src/assemble/tree.ts';

describe('pseudoPath', () => {
  it('escapes backslashes and white space', () => {
    expect(pseudoPath('usr/lib/a b')).toBe('usr/lib/a\\ b');
    expect(pseudoPath('etc/systemd/system/dev-disk-by\\x2dlabel.mount')).toBe('etc/systemd/system/dev-disk-by\\\\x2dlabel.mount');
    expect(pseudoPath('a\tb')).toBe('a\\\tb');
    expect(pseudoPath('usr/bin/plain')).toBe('usr/bin/plain');
  });
});

describe('pseudoDefinitions', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-unit-rootfs-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('gives every entry its mode and owner, sorted, and makes device nodes and fifos', () => {
    const tree = new Tree(root);
    tree.writeFile('usr/bin/su', 'su', { mode: 0o4755 });
    tree.writeFile('usr/sbin/unix_chkpwd', 'x', { mode: 0o2755, gid: 42 });
    tree.writeFile('home/my file', 'x', { uid: 1000, gid: 1000, mode: 0o600 });
    tree.symlink('usr/bin/vi', '/etc/alternatives/vi');
    tree.mkdir('tmp', { mode: 0o1777 });
    tree.record('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 5, origin: 'slipway', devMajor: 5, devMinor: 1 });
    tree.record('dev/loop0', { type: 'block', mode: 0o660, uid: 0, gid: 6, origin: 'slipway', devMajor: 7, devMinor: 0 });
    tree.record('run/initctl', { type: 'fifo', mode: 0o600, uid: 0, gid: 0, origin: 'slipway' });
    expect(pseudoDefinitions(tree)).toEqual([
      'dev/console c 0600 0 5 5 1',
      'dev/loop0 b 0660 0 6 7 0',
      'home m 0755 0 0',
      'home/my\\ file m 0600 1000 1000',
      'run/initctl f 0600 0 0 true',
      'tmp m 1777 0 0',
      'usr m 0755 0 0',
      'usr/bin m 0755 0 0',
      'usr/bin/su m 4755 0 0',
      'usr/bin/vi m 0777 0 0',
      'usr/sbin m 0755 0 0',
      'usr/sbin/unix_chkpwd m 2755 0 42',
    ]);
  });
});
