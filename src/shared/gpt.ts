/**
 * A GPT writer: protective MBR, primary header and entries at the start, backup entries and header
 * at the end. Pure: it returns the bytes to write at the two places.
 */
const SECTOR = 512;
const ENTRY_SIZE = 128;
const ENTRY_COUNT = 128;
const ENTRIES_BYTES = ENTRY_SIZE * ENTRY_COUNT; // 32 sectors

export interface GptPartition {
  type: string;
  uuid: string;
  name: string;
  /** Byte offset; must be sector-aligned. */
  offset: number;
  size: number;
  /** GPT attribute bits (e.g. bit 60 read-only for verity). */
  attributes?: bigint;
}

export interface GptImage {
  /** Sectors 0..33: protective MBR, primary header, primary entries. */
  head: Buffer;
  /** The last 33 sectors: backup entries, backup header. */
  tail: Buffer;
  tailOffset: number;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** GUIDs are stored with their first three fields little-endian. */
export function guidToBytes(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const bytes = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(bytes.readUInt32BE(0), 0);
  out.writeUInt16LE(bytes.readUInt16BE(4), 4);
  out.writeUInt16LE(bytes.readUInt16BE(6), 6);
  bytes.copy(out, 8, 8, 16);
  return out;
}

function entriesBytes(partitions: readonly GptPartition[]): Buffer {
  const entries = Buffer.alloc(ENTRIES_BYTES);
  partitions.forEach((p, i) => {
    if (p.offset % SECTOR || p.size % SECTOR) throw new Error(`partition ${p.name} is not sector-aligned`);
    const at = i * ENTRY_SIZE;
    guidToBytes(p.type).copy(entries, at);
    guidToBytes(p.uuid).copy(entries, at + 16);
    entries.writeBigUInt64LE(BigInt(p.offset / SECTOR), at + 32);
    entries.writeBigUInt64LE(BigInt((p.offset + p.size) / SECTOR - 1), at + 40);
    entries.writeBigUInt64LE(p.attributes ?? 0n, at + 48);
    if (p.name.length > 36) throw new Error(`partition name ${p.name} is longer than 36 characters`);
    entries.write(p.name, at + 56, 72, 'utf16le');
  });
  return entries;
}

function header(diskGuid: string, diskSectors: number, current: number, backup: number, entriesLba: number, entriesCrc: number): Buffer {
  const h = Buffer.alloc(SECTOR);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8); // revision 1.0
  h.writeUInt32LE(92, 12); // header size
  h.writeBigUInt64LE(BigInt(current), 24);
  h.writeBigUInt64LE(BigInt(backup), 32);
  h.writeBigUInt64LE(34n, 40); // first usable LBA
  h.writeBigUInt64LE(BigInt(diskSectors - 34), 48); // last usable LBA
  guidToBytes(diskGuid).copy(h, 56);
  h.writeBigUInt64LE(BigInt(entriesLba), 72);
  h.writeUInt32LE(ENTRY_COUNT, 80);
  h.writeUInt32LE(ENTRY_SIZE, 84);
  h.writeUInt32LE(entriesCrc, 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
  return h;
}

function protectiveMbr(diskSectors: number): Buffer {
  const mbr = Buffer.alloc(SECTOR);
  const at = 446;
  mbr[at + 1] = 0x00;
  mbr[at + 2] = 0x02; // CHS of LBA 1
  mbr[at + 4] = 0xee; // GPT protective
  mbr[at + 5] = 0xff;
  mbr[at + 6] = 0xff;
  mbr[at + 7] = 0xff;
  mbr.writeUInt32LE(1, at + 8);
  mbr.writeUInt32LE(Math.min(diskSectors - 1, 0xffffffff), at + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

export function writeGpt(diskSize: number, diskGuid: string, partitions: readonly GptPartition[]): GptImage {
  if (diskSize % SECTOR) throw new Error('disk size must be a multiple of 512');
  const sectors = diskSize / SECTOR;
  const last = sectors - 1;
  for (const p of partitions) {
    if (p.offset < 34 * SECTOR || p.offset + p.size > (sectors - 33) * SECTOR) throw new Error(`partition ${p.name} lies outside the usable area`);
  }
  const entries = entriesBytes(partitions);
  const entriesCrc = crc32(entries);
  const head = Buffer.concat([protectiveMbr(sectors), header(diskGuid, sectors, 1, last, 2, entriesCrc), entries]);
  const tail = Buffer.concat([entries, header(diskGuid, sectors, last, 1, last - 32, entriesCrc)]);
  return { head, tail, tailOffset: (last - 32) * SECTOR };
}

export function bytesToGuid(bytes: Buffer): string {
  const hex = [
    bytes.readUInt32LE(0).toString(16).padStart(8, '0'),
    bytes.readUInt16LE(4).toString(16).padStart(4, '0'),
    bytes.readUInt16LE(6).toString(16).padStart(4, '0'),
    bytes.subarray(8, 10).toString('hex'),
    bytes.subarray(10, 16).toString('hex'),
  ];
  return hex.join('-');
}

export interface GptTable {
  diskGuid: string;
  partitions: Array<GptPartition & { number: number }>;
}

/** What is wrong with a GPT: missing (not a GPT disk at all) or damaged (a GPT that fails its own checks). */
export interface GptProblem {
  what: string;
  damaged: boolean;
}

/** What is wrong with the primary GPT in the disk's first sectors, or undefined when it reads. */
export function gptProblem(head: Buffer): GptProblem | undefined {
  const header = head.subarray(SECTOR, 2 * SECTOR);
  if (header.length < 92 || header.toString('latin1', 0, 8) !== 'EFI PART') return { what: 'it has no GPT header in its second sector', damaged: false };
  const copy = Buffer.from(header.subarray(0, 92));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== header.readUInt32LE(16)) return { what: 'its GPT header fails its checksum (the header is damaged)', damaged: true };
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const size = header.readUInt32LE(84);
  const start = entriesLba * SECTOR;
  if (size < 128 || count > 1024 || start + count * size > head.length) return { what: 'its GPT header describes a partition array that is not where GPTs keep it', damaged: false };
  if (crc32(head.subarray(start, start + count * size)) !== header.readUInt32LE(88)) {
    return { what: 'its GPT partition entries fail their checksum (the partition table is damaged)', damaged: true };
  }
  return undefined;
}

/** Reads the primary GPT from the first 34 sectors of a disk; null when there is none. */
export function readGpt(head: Buffer): GptTable | null {
  if (gptProblem(head)) return null;
  const header = head.subarray(SECTOR, 2 * SECTOR);
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const size = header.readUInt32LE(84);
  const partitions: GptTable['partitions'] = [];
  for (let i = 0; i < count; i++) {
    const at = entriesLba * SECTOR + i * size;
    if (at + size > head.length) break;
    const entry = head.subarray(at, at + size);
    if (entry.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(entry.readBigUInt64LE(32));
    const last = Number(entry.readBigUInt64LE(40));
    partitions.push({
      number: i + 1,
      type: bytesToGuid(entry.subarray(0, 16)),
      uuid: bytesToGuid(entry.subarray(16, 32)),
      offset: first * SECTOR,
      size: (last - first + 1) * SECTOR,
      attributes: entry.readBigUInt64LE(48),
      name: entry.toString('utf16le', 56, 128).replace(/\0.*$/, ''),
    });
  }
  return { diskGuid: bytesToGuid(header.subarray(56, 72)), partitions };
}
