/** Just enough ELF64 reading: section contents by name, DT_NEEDED libraries and the interpreter. */

interface Section {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
}

const SHT_DYNAMIC = 6;
const PT_INTERP = 3;
const DT_NEEDED = 1n;

export function isElf(bytes: Buffer): boolean {
  return bytes.length > 64 && bytes.readUInt32BE(0) === 0x7f454c46 && bytes[4] === 2 && bytes[5] === 1; // 64-bit little-endian
}

function sections(bytes: Buffer): Section[] {
  const shoff = Number(bytes.readBigUInt64LE(0x28));
  const shentsize = bytes.readUInt16LE(0x3a);
  const shnum = bytes.readUInt16LE(0x3c);
  const shstrndx = bytes.readUInt16LE(0x3e);
  const raw = Array.from({ length: shnum }, (_, i) => {
    const at = shoff + i * shentsize;
    return {
      nameOffset: bytes.readUInt32LE(at),
      type: bytes.readUInt32LE(at + 4),
      addr: Number(bytes.readBigUInt64LE(at + 0x10)),
      offset: Number(bytes.readBigUInt64LE(at + 0x18)),
      size: Number(bytes.readBigUInt64LE(at + 0x20)),
      link: bytes.readUInt32LE(at + 0x28),
    };
  });
  const names = raw[shstrndx];
  return raw.map((s) => ({
    name: names ? cString(bytes, names.offset + s.nameOffset) : '',
    type: s.type,
    addr: s.addr,
    offset: s.offset,
    size: s.size,
    link: s.link,
  }));
}

function cString(bytes: Buffer, at: number): string {
  const end = bytes.indexOf(0, at);
  return bytes.toString('utf8', at, end < 0 ? bytes.length : end);
}

export function sectionContents(bytes: Buffer, name: string): Buffer | undefined {
  if (!isElf(bytes)) return undefined;
  const section = sections(bytes).find((s) => s.name === name);
  return section ? bytes.subarray(section.offset, section.offset + section.size) : undefined;
}

const SHT_DYNSYM = 11;
const SHT_NOBITS = 8;

/** The bytes of a data object a shared library exports (from .dynsym), as a view into `bytes`. */
export function exportedObject(bytes: Buffer, name: string): Buffer | undefined {
  if (!isElf(bytes)) return undefined;
  const all = sections(bytes);
  const dynsym = all.find((s) => s.type === SHT_DYNSYM);
  const strings = dynsym && all[dynsym.link];
  if (!dynsym || !strings) return undefined;
  for (let at = dynsym.offset; at + 24 <= dynsym.offset + dynsym.size; at += 24) {
    if (cString(bytes, strings.offset + bytes.readUInt32LE(at)) !== name) continue;
    const section = all[bytes.readUInt16LE(at + 6)];
    const value = Number(bytes.readBigUInt64LE(at + 8));
    const size = Number(bytes.readBigUInt64LE(at + 16));
    if (!section || section.type === SHT_NOBITS || value < section.addr || value + size > section.addr + section.size) return undefined;
    const start = section.offset + (value - section.addr);
    return bytes.subarray(start, start + size);
  }
  return undefined;
}

/** A kernel module's `.modinfo` key=value pairs. */
export function modinfo(bytes: Buffer): Map<string, string[]> {
  const info = new Map<string, string[]>();
  const section = sectionContents(bytes, '.modinfo');
  if (!section) return info;
  for (const item of section.toString('utf8').split('\0')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq);
    info.set(key, [...(info.get(key) ?? []), item.slice(eq + 1)]);
  }
  return info;
}

/** The shared libraries a program or library asks the dynamic linker for. */
export function neededLibraries(bytes: Buffer): string[] {
  if (!isElf(bytes)) return [];
  const all = sections(bytes);
  const dynamic = all.find((s) => s.type === SHT_DYNAMIC);
  if (!dynamic) return [];
  const strings = all[dynamic.link];
  if (!strings) return [];
  const needed: string[] = [];
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
    const tag = bytes.readBigInt64LE(at);
    if (tag === 0n) break;
    if (tag === DT_NEEDED) needed.push(cString(bytes, strings.offset + Number(bytes.readBigUInt64LE(at + 8))));
  }
  return needed;
}

export function interpreter(bytes: Buffer): string | undefined {
  if (!isElf(bytes)) return undefined;
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (bytes.readUInt32LE(at) !== PT_INTERP) continue;
    const offset = Number(bytes.readBigUInt64LE(at + 8));
    return cString(bytes, offset);
  }
  return undefined;
}
