/**
 * ICU's data library, trimmed to the locales an image keeps. libicudata (31 MB, 11 MiB of the root
 * squashfs) holds every locale's names, formats and collations, the code page tables of legacy
 * multi-byte encodings and the dictionaries that find words in Chinese, Japanese, Thai, Lao,
 * Burmese and Khmer text. A host's Node.js programs (the update agent, the first-boot config check)
 * need none of it beyond English, so, as Node.js's own English-only build does, the rest goes:
 * what no kept locale needs is taken out of the data's table of contents and its bytes are zeroed,
 * which squashfs stores as holes. The library keeps its size and its addresses; ICU finds what is
 * left as before, and a locale that is gone falls back to the root locale.
 *
 * The data is an ICU "common data" package (CmnD): a header, a table of contents of
 * (name offset, data offset) pairs sorted by name, the names, then the items.
 */
import type { Tree } from '../tree.ts';
import { exportedObject } from '../elf.ts';

/** Always kept: the root locale, and English, ICU's default when a host sets no locale. */
const ALWAYS = ['en'];

/** Word-break dictionaries and the languages that need them. */
const DICTIONARIES: Record<string, readonly string[]> = {
  cjdict: ['zh', 'ja'],
  thaidict: ['th'],
  laodict: ['lo'],
  burmesedict: ['my'],
  khmerdict: ['km'],
};

/** The legacy multi-byte code pages (Shift-JIS, GB18030, Big5, EUC-KR and their kin) stay for these. */
const MULTIBYTE_LANGUAGES = ['zh', 'ja', 'ko'];

/** `de`, `de_AT`, `sr_Latn_RS`, `de__PHONEBOOK`: resource bundles of a locale, by ICU's naming. */
const LOCALE_BUNDLE = /^([a-z]{2,3})(_[A-Za-z0-9_]*)?$/;
/** Bundles with locale-like names that every locale's lookup reads. */
const STRUCTURAL = new Set(['root', 'pool', 'res_index']);

export interface IcuTrim {
  path: string;
  items: number;
  kept: number;
  /** Bytes of the data zeroed. */
  removed: number;
}

interface Item {
  name: string;
  nameOffset: number;
  dataOffset: number;
  /** Where its data ends: the next item's start, or the end of the package. */
  end: number;
}

/** Whether one of `locales` (a language, or language_REGION) is in `language`. */
function speaks(locales: readonly string[], language: string): boolean {
  return locales.some((locale) => locale === language || locale.startsWith(`${language}_`));
}

/** Whether an item is needed by an image that keeps `locales` (language or language_REGION). */
export function icuItemNeeded(item: string, locales: readonly string[]): boolean {
  const leaf = item.slice(item.lastIndexOf('/') + 1);
  const dot = leaf.lastIndexOf('.');
  const stem = leaf.slice(0, dot);
  const type = leaf.slice(dot + 1);
  const kept = [...ALWAYS, ...locales];
  if (type === 'dict') {
    const languages = DICTIONARIES[stem];
    return !languages || languages.some((language) => speaks(kept, language));
  }
  // A kept locale needs its own bundles, its variants' (de keeps de_AT) and its parents' (de_AT keeps de).
  if (type === 'res' && !STRUCTURAL.has(stem) && LOCALE_BUNDLE.test(stem)) {
    return kept.some((locale) => stem === locale || stem.startsWith(`${locale}_`) || locale.startsWith(`${stem}_`));
  }
  return true;
}

/** Multi-byte code page tables: UConverterStaticData's maxBytesPerChar, after the item's own header. */
function isMultibyteConverter(data: Buffer, item: Item): boolean {
  const at = item.dataOffset;
  const headerSize = data.readUInt16LE(at);
  // structSize (4), name (60), codepage (4), platform (1), conversionType (1), minBytesPerChar (1).
  return data[at + headerSize + 71]! > 1;
}

function readItems(data: Buffer): Item[] | undefined {
  if (data.length < 32 || data[2] !== 0xda || data[3] !== 0x27) return undefined;
  // Little-endian, ASCII, CmnD format 1: what every x86-64 and arm64 Debian ships.
  if (data[8] !== 0 || data[9] !== 0 || data.toString('latin1', 12, 16) !== 'CmnD' || data[16] !== 1) return undefined;
  const toc = data.readUInt16LE(0);
  const count = data.readUInt32LE(toc);
  if (toc + 4 + count * 8 > data.length) return undefined;
  const entries = Array.from({ length: count }, (_, i) => ({ nameOffset: data.readUInt32LE(toc + 4 + i * 8), dataOffset: data.readUInt32LE(toc + 8 + i * 8) }));
  const starts = [...new Set(entries.map((e) => e.dataOffset))].sort((a, b) => a - b);
  const endOf = new Map(starts.map((start, i) => [start, starts[i + 1] ?? data.length - toc]));
  return entries.map((e) => {
    const nameAt = toc + e.nameOffset;
    const nameEnd = data.indexOf(0, nameAt);
    return { name: data.toString('latin1', nameAt, nameEnd), nameOffset: nameAt, dataOffset: toc + e.dataOffset, end: toc + endOf.get(e.dataOffset)! };
  });
}

/** Trims one common data package in place; undefined when it is not one this code reads. */
export function trimCommonData(data: Buffer, locales: readonly string[]): { items: number; kept: number; removed: number } | undefined {
  const items = readItems(data);
  if (!items) return undefined;
  const multibyte = MULTIBYTE_LANGUAGES.some((language) => speaks([...ALWAYS, ...locales], language));
  const keep = items.map((item) => icuItemNeeded(item.name, locales) && (multibyte || !item.name.endsWith('.cnv') || !isMultibyteConverter(data, item)));
  const toc = data.readUInt16LE(0);
  let removed = 0;
  items.forEach((item, i) => {
    if (keep[i]) return;
    removed += item.end - item.dataOffset;
    data.fill(0, item.dataOffset, item.end);
    data.fill(0, item.nameOffset, item.nameOffset + item.name.length + 1);
  });
  const kept = items.filter((_, i) => keep[i]);
  // The table keeps its order (sorted by name, which ICU searches by), with the gone entries dropped.
  data.writeUInt32LE(kept.length, toc);
  kept.forEach((item, i) => {
    data.writeUInt32LE(item.nameOffset - toc, toc + 4 + i * 8);
    data.writeUInt32LE(item.dataOffset - toc, toc + 8 + i * 8);
  });
  data.fill(0, toc + 4 + kept.length * 8, toc + 4 + items.length * 8);
  return { items: items.length, kept: kept.length, removed };
}

/** Every ICU data library in the tree (`libicudata.so.N…`, exporting `icudtN_dat`), trimmed. */
export function trimIcuData(tree: Tree, locales: readonly string[]): IcuTrim[] {
  const done: IcuTrim[] = [];
  for (const path of tree.walk('usr/lib')) {
    const match = /\/libicudata\.so\.(\d+)[.\d]*$/.exec(path);
    const entry = tree.get(path);
    if (!match || entry?.type !== 'file') continue;
    const bytes = tree.read(path);
    const data = exportedObject(bytes, `icudt${match[1]}_dat`);
    const result = data && trimCommonData(data, locales);
    if (!result) continue;
    tree.writeFile(path, bytes, entry);
    done.push({ path, ...result });
  }
  return done;
}
