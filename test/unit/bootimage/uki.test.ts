import { describe, expect, it } from 'vitest';
import { BuildError } from '../../../src/errors.ts';
import { peChecksum, peLayout, stampPe } from '../../../src/bootimage/uki.ts';

const PE = 0x80;
const OPTIONAL = PE + 24;
const OPTIONAL_SIZE = 240; // PE32+ with 16 data directories
const SECTIONS = OPTIONAL + OPTIONAL_SIZE;
const CHECKSUM = OPTIONAL + 64;

/** A PE32+ file with only headers: ImageBase, SizeOfImage and the given sections (virtual address, size). */
function pe(sizeOfImage: number, sections: Array<[address: number, size: number]>): Buffer {
  const image = Buffer.alloc(0x400);
  image.write('MZ', 0, 'latin1');
  image.writeUInt32LE(PE, 0x3c);
  image.write('PE\0\0', PE, 'latin1');
  image.writeUInt16LE(0x8664, PE + 4); // machine: x86-64
  image.writeUInt16LE(sections.length, PE + 6);
  image.writeUInt32LE(0x12345678, PE + 8); // the linker's timestamp
  image.writeUInt16LE(OPTIONAL_SIZE, PE + 20);
  image.writeUInt16LE(0x20b, OPTIONAL); // PE32+
  image.writeBigUInt64LE(0x14000_0000n, OPTIONAL + 24);
  image.writeUInt32LE(sizeOfImage, OPTIONAL + 56);
  sections.forEach(([address, size], i) => {
    const at = SECTIONS + i * 40;
    image.write(`.s${i}`, at, 'latin1');
    image.writeUInt32LE(size, at + 8);
    image.writeUInt32LE(address, at + 12);
  });
  return image;
}

describe('peLayout', () => {
  it('reads ImageBase and the end of the last section', () => {
    expect(peLayout(pe(0x3000, [[0x1000, 0x800], [0x2000, 0x2345]]))).toEqual({ imageBase: 0x140000000n, end: 0x4345 });
  });

  it('keeps SizeOfImage when the sections end before it', () => {
    expect(peLayout(pe(0x9000, [[0x1000, 0x800]]))).toEqual({ imageBase: 0x140000000n, end: 0x9000 });
  });

  it('rejects a file without MZ or without a PE signature', () => {
    const notMz = pe(0x1000, []);
    notMz.write('XX', 0, 'latin1');
    expect(() => peLayout(notMz)).toThrow(BuildError);
    const notPe = pe(0x1000, []);
    notPe.write('NE', PE, 'latin1');
    expect(() => peLayout(notPe)).toThrow(/no PE header/);
  });
});

describe('peChecksum', () => {
  it('sums 16-bit words with end-around carry, then adds the length', () => {
    const words = Buffer.alloc(8);
    words.writeUInt16LE(0xffff, 0);
    words.writeUInt16LE(0x0002, 2);
    // checksum field at 4..7 is skipped
    words.writeUInt32LE(0xdeadbeef, 4);
    expect(peChecksum(words, 4)).toBe(0x0002 + 8); // 0xffff + 2 = 0x10001 → 0x0002
  });

  it('counts a trailing odd byte', () => {
    expect(peChecksum(Buffer.from([0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07]), 2)).toBe(1 + 7 + 7);
  });
});

describe('stampPe', () => {
  it('writes the epoch as the PE timestamp and a checksum that matches', () => {
    const image = pe(0x3000, [[0x1000, 0x800]]);
    stampPe(image, 1700000000);
    expect(image.readUInt32LE(PE + 8)).toBe(1700000000);
    const stored = image.readUInt32LE(CHECKSUM);
    expect(stored).not.toBe(0);
    expect(stored).toBe(peChecksum(image, CHECKSUM));
  });

  it('gives identical bytes whatever the timestamp was before', () => {
    const a = pe(0x3000, [[0x1000, 0x800]]);
    const b = pe(0x3000, [[0x1000, 0x800]]);
    b.writeUInt32LE(0x5eadbeef, PE + 8);
    b.writeUInt32LE(0x1234, CHECKSUM);
    stampPe(a, 1700000000);
    stampPe(b, 1700000000);
    expect(b).toEqual(a);
    const c = pe(0x3000, [[0x1000, 0x800]]);
    stampPe(c, 1700000001);
    expect(c.readUInt32LE(CHECKSUM)).not.toBe(a.readUInt32LE(CHECKSUM));
  });
});
