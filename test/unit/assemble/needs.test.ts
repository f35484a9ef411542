import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { excludedPackagePaths, globToRegExp, removePaths } from '../../../src/assemble/configure/remove.ts';
import { describeUnmet, unmetNeeds } from '../../../src/assemble/needs.ts';
import { packTar } from '../../../src/shared/tar.ts';
import { Tree } from '../../../src/assemble/tree.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(): Tree {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-needs-'));
  dirs.push(dir);
  return new Tree(join(dir, 'root'));
}

/** A minimal 64-bit little-endian ELF with a PT_INTERP and a dynamic section naming `needed`. */
function elf(interp: string, needed: string[]): Buffer {
  const strtab = Buffer.from(`\0${needed.join('\0')}\0.dynamic\0.dynstr\0.shstrtab\0${interp}\0`);
  const names = (text: string) => strtab.indexOf(Buffer.from(`\0${text}\0`)) + 1;
  const dynamic = Buffer.alloc(16 * (needed.length + 1));
  needed.forEach((soname, i) => {
    dynamic.writeBigInt64LE(1n, i * 16);
    dynamic.writeBigUInt64LE(BigInt(names(soname)), i * 16 + 8);
  });
  const header = Buffer.alloc(64);
  const phoff = 64;
  const strOffset = phoff + 56;
  const dynOffset = strOffset + strtab.length;
  const shoff = dynOffset + dynamic.length;
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2;
  header[5] = 1;
  header.writeBigUInt64LE(BigInt(phoff), 0x20);
  header.writeBigUInt64LE(BigInt(shoff), 0x28);
  header.writeUInt16LE(56, 0x36);
  header.writeUInt16LE(1, 0x38);
  header.writeUInt16LE(64, 0x3a);
  header.writeUInt16LE(4, 0x3c);
  header.writeUInt16LE(3, 0x3e);
  const program = Buffer.alloc(56);
  program.writeUInt32LE(3, 0); // PT_INTERP
  program.writeBigUInt64LE(BigInt(strOffset + names(interp)), 8);
  program.writeBigUInt64LE(BigInt(interp.length + 1), 32);
  const section = (name: number, type: number, offset: number, size: number, link: number) => {
    const s = Buffer.alloc(64);
    s.writeUInt32LE(name, 0);
    s.writeUInt32LE(type, 4);
    s.writeBigUInt64LE(BigInt(offset), 0x18);
    s.writeBigUInt64LE(BigInt(size), 0x20);
    s.writeUInt32LE(link, 0x28);
    return s;
  };
  const sections = Buffer.concat([
    Buffer.alloc(64),
    section(names('.dynstr'), 3, strOffset, strtab.length, 0),
    section(names('.dynamic'), 6, dynOffset, dynamic.length, 1),
    section(names('.shstrtab'), 3, strOffset, strtab.length, 0),
  ]);
  return Buffer.concat([header, program, strtab, dynamic, sections]);
}

describe('globToRegExp', () => {
  it('matches within a name with *, across folders with **, and a folder with its contents with a trailing /**', () => {
    expect(globToRegExp('/usr/lib/*/gconv/**').test('usr/lib/x86_64-linux-gnu/gconv')).toBe(true);
    expect(globToRegExp('/usr/lib/*/gconv/**').test('usr/lib/x86_64-linux-gnu/gconv/UTF-16.so')).toBe(true);
    expect(globToRegExp('/usr/lib/*/gconv/**').test('usr/lib/a/b/gconv/x')).toBe(false);
    expect(globToRegExp('/usr/share/**/*.md').test('usr/share/doc/x/README.md')).toBe(true);
    expect(globToRegExp('/bin/ba?h').test('usr/bin/bash')).toBe(true);
    expect(globToRegExp('/usr/bin/a.b').test('usr/bin/aXb')).toBe(false);
  });
});

describe('removePaths', () => {
  it('removes what a recipe glob and the built-in list match, and records each file with its reason', () => {
    const t = tree();
    t.writeFile('usr/bin/containerd-shim-runc-v1', 'x', { origin: 'containerd' });
    t.writeFile('usr/bin/containerd-shim-runc-v2', 'x', { origin: 'containerd' });
    t.writeFile('usr/share/extra/a/b.txt', 'x', { origin: 'extra' });
    const removed = removePaths(t, ['/usr/share/extra/**']);
    expect(t.has('usr/bin/containerd-shim-runc-v1')).toBe(false);
    expect(t.has('usr/bin/containerd-shim-runc-v2')).toBe(true);
    expect(t.has('usr/share/extra')).toBe(false);
    expect(removed.get('usr/share/extra/a/b.txt')).toBe('remove: /usr/share/extra/**');
    expect(removed.get('usr/bin/containerd-shim-runc-v1')).toMatch(/^left out of every image: /);
  });
});

describe('unmetNeeds', () => {
  it('finds a kept program whose library, interpreter or unit program is left out, and nothing when all is there', async () => {
    const t = tree();
    t.writeFile('usr/bin/prog', elf('/lib64/ld-linux-x86-64.so.2', ['libgone.so.1', 'libhere.so.1']), { mode: 0o755, origin: 'prog' });
    t.writeFile('usr/lib64/ld-linux-x86-64.so.2', 'x', { mode: 0o755, origin: 'libc6' });
    t.writeFile('usr/lib/x86_64-linux-gnu/libhere.so.1', 'x', { origin: 'here' });
    t.writeFile('usr/bin/script', '#!/usr/bin/perl -w\nprint 1;\n', { mode: 0o755, origin: 'tools' });
    t.writeFile('usr/lib/systemd/system/a.service', '[Service]\nExecStart=-/usr/sbin/daemon --flag\n', { origin: 'daemon-units' });
    t.symlink('usr/bin/runc', '../sbin/runc', { origin: 'runc' });
    const dir = join(t.root, '..');
    const tar = join(dir, 'gone.tar');
    const file = (name: string) => ({ header: { name, mode: 0o755 }, body: Buffer.from('x') });
    writeFileSync(tar, await packTar([file('./usr/lib/x86_64-linux-gnu/libgone.so.1'), file('./usr/bin/perl'), file('./usr/lib64/ld-linux-x86-64.so.2')]));
    const leftOut = await excludedPackagePaths(t, [{ name: 'gone', tar }]);
    expect([...leftOut.keys()].sort()).toEqual(['usr/bin/perl', 'usr/lib/x86_64-linux-gnu/libgone.so.1']);
    leftOut.set('usr/sbin/daemon', 'remove: /usr/sbin/daemon');
    leftOut.set('usr/sbin/runc', 'remove: /usr/sbin/*');
    const unmet = unmetNeeds(t, leftOut, [{ path: '/usr/bin/runc', neededBy: '/usr/bin/prog' }]);
    expect(unmet.map((u) => `${u.neededBy} ${u.need} ${u.reason}`).sort()).toEqual([
      '/usr/bin/prog /usr/bin/runc remove: /usr/sbin/*',
      '/usr/bin/prog libgone.so.1 exclude: gone',
      '/usr/bin/script /usr/bin/perl exclude: gone',
      '/usr/lib/systemd/system/a.service /usr/sbin/daemon remove: /usr/sbin/daemon',
    ]);
    expect(unmetNeeds(t, new Map([['usr/share/unrelated', 'remove: /usr/share/**']]), [])).toEqual([]);

    const text = describeUnmet(unmet, new Map([['gone', ['packages', 'prog 1']], ['prog', ['packages']]]));
    expect(text).toContain('  exclude: gone, wanted by packages → prog 1 → gone, is needed by 2 kept files:');
    expect(text).toContain('    /usr/bin/prog (prog, from packages → prog) needs libgone.so.1');
  });
});
