import { describe, expect, it } from 'vitest';
import { icuItemNeeded, trimCommonData } from '../../../../src/assemble/configure/icu.ts';

/** An item with its own ICU data header (headerSize, magic) and, for a converter, UConverterStaticData's maxBytesPerChar. */
function item(fill: number, length: number, maxBytesPerChar?: number): Buffer {
  const bytes = Buffer.alloc(length, fill);
  bytes.writeUInt16LE(32, 0);
  bytes[2] = 0xda;
  bytes[3] = 0x27;
  if (maxBytesPerChar !== undefined) bytes[32 + 71] = maxBytesPerChar;
  return bytes;
}

/** A little-endian ASCII CmnD package as ICU's pkgdata lays it out: header, TOC sorted by name, names, items (16-aligned). */
function commonData(items: Array<[string, Buffer]>, format = 'CmnD'): Buffer {
  const header = Buffer.alloc(32);
  header.writeUInt16LE(32, 0);
  header[2] = 0xda;
  header[3] = 0x27;
  header.writeUInt16LE(20, 4);
  header.write(format, 12, 'latin1');
  header[16] = 1;
  const sorted = [...items].sort(([a], [b]) => (a < b ? -1 : 1));
  const names = Buffer.concat(sorted.map(([name]) => Buffer.from(`icudt72l/${name}\0`)));
  const tocLength = 4 + sorted.length * 8;
  let at = Math.ceil((tocLength + names.length) / 16) * 16;
  const toc = Buffer.alloc(tocLength);
  toc.writeUInt32LE(sorted.length, 0);
  let nameAt = tocLength;
  const body: Buffer[] = [];
  sorted.forEach(([name, data], i) => {
    toc.writeUInt32LE(nameAt, 4 + i * 8);
    toc.writeUInt32LE(at, 8 + i * 8);
    nameAt += `icudt72l/${name}`.length + 1;
    const padded = Buffer.alloc(Math.ceil(data.length / 16) * 16);
    data.copy(padded);
    body.push(padded);
    at += padded.length;
  });
  const front = Buffer.concat([toc, names]);
  return Buffer.concat([header, front, Buffer.alloc(Math.ceil(front.length / 16) * 16 - front.length), ...body]);
}

/** The names in the package's TOC, and each one's data, as ICU would find them. */
function contents(data: Buffer): Map<string, Buffer> {
  const toc = data.readUInt16LE(0);
  const found = new Map<string, Buffer>();
  const count = data.readUInt32LE(toc);
  for (let i = 0; i < count; i++) {
    const nameAt = toc + data.readUInt32LE(toc + 4 + i * 8);
    const name = data.toString('latin1', nameAt, data.indexOf(0, nameAt)).replace('icudt72l/', '');
    const start = toc + data.readUInt32LE(toc + 8 + i * 8);
    found.set(name, data.subarray(start, start + 64));
  }
  return found;
}

describe('icuItemNeeded', () => {
  it.each([
    ['icudt72l/root.res', [], true],
    ['icudt72l/en.res', [], true],
    ['icudt72l/en_US_POSIX.res', [], true],
    ['icudt72l/coll/en_GB.res', [], true],
    ['icudt72l/de.res', [], false],
    ['icudt72l/zone/sr_Latn_RS.res', [], false],
    ['icudt72l/coll/de__PHONEBOOK.res', [], false],
    ['icudt72l/coll/de__PHONEBOOK.res', ['de'], true],
    ['icudt72l/de_AT.res', ['de'], true],
    ['icudt72l/de.res', ['de_AT'], true],
    ['icudt72l/de_CH.res', ['de_AT'], false],
    ['icudt72l/curr/pool.res', [], true],
    ['icudt72l/lang/res_index.res', [], true],
    ['icudt72l/supplementalData.res', [], true],
    ['icudt72l/zone/tzdbNames.res', [], true],
    ['icudt72l/coll/ucadata.icu', [], true],
    ['icudt72l/uts46.nrm', [], true],
    ['icudt72l/brkitr/word.brk', [], true],
    ['icudt72l/brkitr/thaidict.dict', [], false],
    ['icudt72l/brkitr/thaidict.dict', ['th_TH'], true],
    ['icudt72l/brkitr/cjdict.dict', ['ja'], true],
    ['icudt72l/brkitr/newdict.dict', [], true],
  ])('%s with keep.locales %j: %s', (name, locales, needed) => {
    expect(icuItemNeeded(name, locales)).toBe(needed);
  });
});

describe('trimCommonData', () => {
  const items: Array<[string, Buffer]> = [
    ['root.res', item(1, 100)],
    ['de.res', item(2, 300)],
    ['en.res', item(3, 50)],
    ['ibm-5348_P100-1997.cnv', item(4, 200, 1)],
    ['ibm-943_P15A-2003.cnv', item(5, 900, 2)],
    ['brkitr/cjdict.dict', item(6, 2000)],
    ['cnvalias.icu', item(7, 40)],
  ];

  it('takes what no kept locale needs out of the TOC, zeroes its bytes and leaves the rest where it was', () => {
    const data = commonData(items);
    const before = Buffer.from(data);
    const result = trimCommonData(data, []);
    expect(data.length).toBe(before.length);
    const found = contents(data);
    expect([...found.keys()]).toEqual(['cnvalias.icu', 'en.res', 'ibm-5348_P100-1997.cnv', 'root.res']);
    expect(contents(before).get('en.res')).toEqual(found.get('en.res'));
    expect(result).toEqual({ items: 7, kept: 4, removed: 304 + 912 + 2000 });
    // What is gone is zeroes, names and all.
    for (const gone of ['de.res', 'ibm-943', 'cjdict']) expect(data.includes(Buffer.from(gone))).toBe(false);
    for (const fill of [2, 5, 6]) expect(data.includes(Buffer.alloc(16, fill))).toBe(false);
  });

  it('keeps the multi-byte code pages and the dictionary for a recipe that keeps Japanese', () => {
    const data = commonData(items);
    trimCommonData(data, ['ja']);
    expect([...contents(data).keys()]).toEqual(['brkitr/cjdict.dict', 'cnvalias.icu', 'en.res', 'ibm-5348_P100-1997.cnv', 'ibm-943_P15A-2003.cnv', 'root.res']);
  });

  it('leaves data it does not read alone', () => {
    const other = commonData(items, 'ToCP');
    const copy = Buffer.from(other);
    expect(trimCommonData(other, [])).toBeUndefined();
    expect(other).toEqual(copy);
    const bigEndian = commonData(items);
    bigEndian[8] = 1;
    expect(trimCommonData(bigEndian, [])).toBeUndefined();
  });
});
