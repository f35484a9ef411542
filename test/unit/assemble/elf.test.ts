import { describe, expect, it } from 'vitest';
import { exportedObject, interpreter, isElf, modinfo, neededLibraries, sectionContents } from '../../../src/assemble/elf.ts';

interface SectionSpec {
  name: string;
  type: number;
  data: Buffer;
  /** Index of the linked section (the string table of .dynamic). */
  link?: number;
}

const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_DYNSYM = 11;

/**
 * A little-endian ELF64 file: header, an optional PT_INTERP program header, the section data one
 * after another, then the section headers (a null section, the given ones, and .shstrtab last).
 */
function elf(specs: SectionSpec[], interp?: string): Buffer {
  const names = ['', ...specs.map((s) => s.name), '.shstrtab'];
  const nameOffsets: number[] = [];
  let shstrtab = '';
  for (const name of names) {
    nameOffsets.push(shstrtab.length);
    shstrtab += `${name}\0`;
  }
  const sections = [
    { type: 0, data: Buffer.alloc(0), link: 0 },
    ...specs.map((s) => ({ type: s.type, data: s.data, link: s.link ?? 0 })),
    { type: SHT_STRTAB, data: Buffer.from(shstrtab), link: 0 },
  ];
  const phoff = 64;
  const interpData = interp === undefined ? Buffer.alloc(0) : Buffer.from(`${interp}\0`);
  let offset = phoff + (interp === undefined ? 0 : 56);
  const interpAt = offset;
  offset += interpData.length;
  const dataOffsets = sections.map((s) => {
    const at = offset;
    offset += s.data.length;
    return at;
  });
  const shoff = Math.ceil(offset / 8) * 8;
  const file = Buffer.alloc(shoff + sections.length * 64);
  file.writeUInt32BE(0x7f454c46, 0);
  file[4] = 2; // 64-bit
  file[5] = 1; // little-endian
  file[6] = 1;
  file.writeUInt16LE(interp === undefined ? 1 : 3, 0x10); // ET_REL or ET_DYN
  file.writeUInt16LE(0x3e, 0x12);
  file.writeBigUInt64LE(BigInt(interp === undefined ? 0 : phoff), 0x20);
  file.writeBigUInt64LE(BigInt(shoff), 0x28);
  file.writeUInt16LE(64, 0x34);
  file.writeUInt16LE(56, 0x36);
  file.writeUInt16LE(interp === undefined ? 0 : 1, 0x38);
  file.writeUInt16LE(64, 0x3a);
  file.writeUInt16LE(sections.length, 0x3c);
  file.writeUInt16LE(sections.length - 1, 0x3e);
  if (interp !== undefined) {
    file.writeUInt32LE(3, phoff); // PT_INTERP
    file.writeBigUInt64LE(BigInt(interpAt), phoff + 8);
    file.writeBigUInt64LE(BigInt(interpData.length), phoff + 32);
    interpData.copy(file, interpAt);
  }
  sections.forEach((s, i) => {
    s.data.copy(file, dataOffsets[i]!);
    const at = shoff + i * 64;
    file.writeUInt32LE(nameOffsets[i]!, at);
    file.writeUInt32LE(s.type, at + 4);
    file.writeBigUInt64LE(BigInt(dataOffsets[i]!), at + 0x18);
    file.writeBigUInt64LE(BigInt(s.data.length), at + 0x20);
    file.writeUInt32LE(s.link, at + 0x28);
  });
  return file;
}

/** A .dynamic section: (tag, value) pairs of 64-bit words. */
function dynamic(entries: Array<[bigint, bigint]>): Buffer {
  const out = Buffer.alloc(entries.length * 16);
  entries.forEach(([tag, value], i) => {
    out.writeBigInt64LE(tag, i * 16);
    out.writeBigUInt64LE(value, i * 16 + 8);
  });
  return out;
}

describe('isElf', () => {
  it('accepts a 64-bit little-endian ELF file', () => {
    expect(isElf(elf([]))).toBe(true);
  });

  it('rejects other files', () => {
    expect(isElf(Buffer.from('#!/bin/sh\n'.padEnd(100, ' ')))).toBe(false);
    const big = elf([]);
    big[5] = 2; // big-endian
    expect(isElf(big)).toBe(false);
    const small = elf([]);
    small[4] = 1; // 32-bit
    expect(isElf(small)).toBe(false);
    expect(isElf(elf([]).subarray(0, 64))).toBe(false);
  });

  it('gives nothing for a file that is not ELF', () => {
    const text = Buffer.from('not an ELF file, just some text that is long enough to be read'.repeat(3));
    expect(modinfo(text).size).toBe(0);
    expect(neededLibraries(text)).toEqual([]);
    expect(interpreter(text)).toBeUndefined();
    expect(sectionContents(text, '.modinfo')).toBeUndefined();
  });
});

describe('modinfo', () => {
  it('reads the key=value pairs of .modinfo, repeated keys in order', () => {
    const info = Buffer.from('license=GPL\0depends=dm-bufio,dm-mod\0alias=a\0\0alias=b\0vermagic=6.1.0 SMP\0');
    const module = elf([
      { name: '.text', type: SHT_PROGBITS, data: Buffer.from([0xc3]) },
      { name: '.modinfo', type: SHT_PROGBITS, data: info },
    ]);
    const result = modinfo(module);
    expect(result.get('depends')).toEqual(['dm-bufio,dm-mod']);
    expect(result.get('alias')).toEqual(['a', 'b']);
    expect(result.get('vermagic')).toEqual(['6.1.0 SMP']);
    expect([...result.keys()]).toEqual(['license', 'depends', 'alias', 'vermagic']);
  });

  it('is empty without a .modinfo section', () => {
    expect(modinfo(elf([{ name: '.text', type: SHT_PROGBITS, data: Buffer.from([0xc3]) }])).size).toBe(0);
  });
});

describe('neededLibraries', () => {
  it('lists DT_NEEDED names from the dynamic string table, up to DT_NULL', () => {
    const strings = Buffer.from('\0libc.so.6\0libz.so.1\0libgone.so\0');
    const program = elf([
      { name: '.dynstr', type: SHT_STRTAB, data: strings },
      // DT_NEEDED libz, DT_SONAME (ignored), DT_NEEDED libc, DT_NULL, then a DT_NEEDED that must not count
      { name: '.dynamic', type: SHT_DYNAMIC, link: 1, data: dynamic([[1n, 11n], [14n, 1n], [1n, 1n], [0n, 0n], [1n, 21n]]) },
    ]);
    expect(neededLibraries(program)).toEqual(['libz.so.1', 'libc.so.6']);
  });

  it('is empty for a file without a dynamic section', () => {
    expect(neededLibraries(elf([{ name: '.text', type: SHT_PROGBITS, data: Buffer.from([0xc3]) }]))).toEqual([]);
  });
});

describe('interpreter', () => {
  it('reads the PT_INTERP path', () => {
    expect(interpreter(elf([], '/lib64/ld-linux-x86-64.so.2'))).toBe('/lib64/ld-linux-x86-64.so.2');
  });

  it('is undefined for a file without one', () => {
    expect(interpreter(elf([]))).toBeUndefined();
  });
});

/** .dynsym entries: name offset, section index, value (an address; the test sections start at 0) and size. */
function symbols(entries: Array<{ name: number; section: number; value: number; size: number }>): Buffer {
  const out = Buffer.alloc((entries.length + 1) * 24); // entry 0 is the null symbol
  entries.forEach((e, i) => {
    const at = (i + 1) * 24;
    out.writeUInt32LE(e.name, at);
    out[at + 4] = 0x11; // STB_GLOBAL, STT_OBJECT
    out.writeUInt16LE(e.section, at + 6);
    out.writeBigUInt64LE(BigInt(e.value), at + 8);
    out.writeBigUInt64LE(BigInt(e.size), at + 16);
  });
  return out;
}

describe('exportedObject', () => {
  const rodata = Buffer.from('....THE DATA....rest');
  const library = elf([
    { name: '.rodata', type: SHT_PROGBITS, data: rodata },
    { name: '.dynstr', type: SHT_STRTAB, data: Buffer.from('\0other\0icudt72_dat\0') },
    { name: '.dynsym', type: SHT_DYNSYM, link: 2, data: symbols([{ name: 1, section: 1, value: 0, size: 4 }, { name: 7, section: 1, value: 4, size: 12 }]) },
  ]);

  it('gives the bytes of a symbol, as a view that writes through to the file', () => {
    const data = exportedObject(library, 'icudt72_dat')!;
    expect(data.toString()).toBe('THE DATA....');
    data.fill(0x2e);
    expect(library.includes(Buffer.from('................rest'))).toBe(true);
  });

  it('gives nothing for a symbol the library does not export, or one past its section', () => {
    expect(exportedObject(library, 'icudt73_dat')).toBeUndefined();
    const broken = elf([
      { name: '.rodata', type: SHT_PROGBITS, data: rodata },
      { name: '.dynstr', type: SHT_STRTAB, data: Buffer.from('\0icudt72_dat\0') },
      { name: '.dynsym', type: SHT_DYNSYM, link: 2, data: symbols([{ name: 1, section: 1, value: 10, size: 100 }]) },
    ]);
    expect(exportedObject(broken, 'icudt72_dat')).toBeUndefined();
    expect(exportedObject(Buffer.from('not ELF'.repeat(20)), 'icudt72_dat')).toBeUndefined();
  });
});
