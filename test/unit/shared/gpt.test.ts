import { describe, expect, it } from 'vitest';
import { bytesToGuid, crc32, gptProblem, guidToBytes, readGpt, writeGpt, type GptPartition } from '../../../src/shared/gpt.ts';

const MiB = 1024 * 1024;
const SECTOR = 512;
const ESP = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';
const LINUX = '0fc63daf-8483-4772-8e79-3d69d8477de4';
const DISK_GUID = '11111111-2222-4333-8444-555555555555';

const PARTITIONS: GptPartition[] = [
  { type: ESP, uuid: 'aaaaaaaa-0000-4000-8000-000000000001', name: 'esp', offset: MiB, size: 2 * MiB },
  { type: LINUX, uuid: 'bbbbbbbb-0000-4000-8000-000000000002', name: 'root_1.0', offset: 3 * MiB, size: 4 * MiB, attributes: 1n << 60n },
];

describe('crc32', () => {
  it('gives the standard check value for "123456789"', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('is 0 for no bytes', () => {
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});

describe('guidToBytes and bytesToGuid', () => {
  it('store the first three fields little-endian', () => {
    const bytes = guidToBytes('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    expect(bytes.toString('hex')).toBe('28732ac11ff8d211ba4b00a0c93ec93b');
    expect(bytesToGuid(bytes)).toBe(ESP);
  });

  it('rejects what is not a GUID', () => {
    expect(() => guidToBytes('c12a7328-f81f-11d2-ba4b')).toThrow(/not a GUID/);
    expect(() => guidToBytes('z12a7328-f81f-11d2-ba4b-00a0c93ec93b')).toThrow(/not a GUID/);
  });
});

describe('writeGpt', () => {
  const diskSize = 8 * MiB;
  const sectors = diskSize / SECTOR;
  const gpt = writeGpt(diskSize, DISK_GUID, PARTITIONS);

  it('writes a protective MBR', () => {
    const entry = gpt.head.subarray(446, 462);
    expect(entry[4]).toBe(0xee);
    expect(entry.readUInt32LE(8)).toBe(1);
    expect(entry.readUInt32LE(12)).toBe(sectors - 1);
    expect([gpt.head[510], gpt.head[511]]).toEqual([0x55, 0xaa]);
  });

  it('writes the primary header at LBA 1 and the backup at the last LBA', () => {
    expect(gpt.head.length).toBe(34 * SECTOR);
    expect(gpt.tail.length).toBe(33 * SECTOR);
    expect(gpt.tailOffset).toBe((sectors - 33) * SECTOR);
    const primary = gpt.head.subarray(SECTOR, 2 * SECTOR);
    expect(primary.toString('latin1', 0, 8)).toBe('EFI PART');
    expect(primary.readBigUInt64LE(24)).toBe(1n); // this header
    expect(primary.readBigUInt64LE(32)).toBe(BigInt(sectors - 1)); // the backup
    expect(primary.readBigUInt64LE(40)).toBe(34n);
    expect(primary.readBigUInt64LE(48)).toBe(BigInt(sectors - 34));
    expect(primary.readBigUInt64LE(72)).toBe(2n);
    const backup = gpt.tail.subarray(32 * SECTOR);
    expect(backup.toString('latin1', 0, 8)).toBe('EFI PART');
    expect(backup.readBigUInt64LE(24)).toBe(BigInt(sectors - 1));
    expect(backup.readBigUInt64LE(32)).toBe(1n);
    expect(backup.readBigUInt64LE(72)).toBe(BigInt(sectors - 33));
  });

  it('checksums the header and the entries', () => {
    const primary = Buffer.from(gpt.head.subarray(SECTOR, SECTOR + 92));
    const stored = primary.readUInt32LE(16);
    primary.writeUInt32LE(0, 16);
    expect(crc32(primary)).toBe(stored);
    expect(primary.readUInt32LE(88)).toBe(crc32(gpt.head.subarray(2 * SECTOR, 34 * SECTOR)));
    expect(gpt.tail.subarray(0, 32 * SECTOR)).toEqual(gpt.head.subarray(2 * SECTOR));
  });

  it('reads back what it wrote', () => {
    const table = readGpt(gpt.head);
    expect(table?.diskGuid).toBe(DISK_GUID);
    expect(table?.partitions).toEqual([
      { number: 1, ...PARTITIONS[0], attributes: 0n },
      { number: 2, ...PARTITIONS[1] },
    ]);
  });

  it('stores the first and last LBA of each partition', () => {
    const entry = gpt.head.subarray(2 * SECTOR + 128, 2 * SECTOR + 256);
    expect(entry.readBigUInt64LE(32)).toBe(BigInt((3 * MiB) / SECTOR));
    expect(entry.readBigUInt64LE(40)).toBe(BigInt((7 * MiB) / SECTOR - 1));
    expect(entry.toString('utf16le', 56, 56 + 16)).toBe('root_1.0');
  });

  it('rejects partitions that are not sector-aligned', () => {
    expect(() => writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, offset: MiB + 1 }])).toThrow(/not sector-aligned/);
    expect(() => writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, size: MiB + 100 }])).toThrow(/not sector-aligned/);
  });

  it('rejects names longer than 36 characters', () => {
    expect(() => writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, name: 'x'.repeat(37) }])).toThrow(/longer than 36/);
    const table = readGpt(writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, name: 'y'.repeat(36) }]).head);
    expect(table?.partitions[0]?.name).toBe('y'.repeat(36));
  });

  it('rejects partitions outside the usable area', () => {
    expect(() => writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, offset: 33 * SECTOR }])).toThrow(/outside the usable area/);
    // The last usable sector is sectors-34; one more runs into the backup entries.
    const end = (sectors - 33) * SECTOR;
    expect(() => writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, offset: end - MiB, size: MiB }])).not.toThrow();
    expect(() => writeGpt(diskSize, DISK_GUID, [{ ...PARTITIONS[0]!, offset: end - MiB + SECTOR, size: MiB }])).toThrow(/outside the usable area/);
  });

  it('rejects a disk size that is not whole sectors', () => {
    expect(() => writeGpt(diskSize + 1, DISK_GUID, [])).toThrow(/multiple of 512/);
  });
});

describe('readGpt', () => {
  it('returns null without a GPT signature', () => {
    expect(readGpt(Buffer.alloc(34 * SECTOR))).toBeNull();
  });

  it('returns null when the header checksum does not match', () => {
    const head = Buffer.from(writeGpt(8 * MiB, DISK_GUID, PARTITIONS).head);
    head[SECTOR + 56]! ^= 0xff; // a byte of the disk GUID
    expect(readGpt(head)).toBeNull();
  });

  it('returns null when a partition entry no longer matches the entries checksum', () => {
    const head = Buffer.from(writeGpt(8 * MiB, DISK_GUID, PARTITIONS).head);
    head[2 * SECTOR + 40]! ^= 0x01; // the first partition's last LBA
    expect(readGpt(head)).toBeNull();
  });
});

describe('gptProblem', () => {
  const good = () => Buffer.from(writeGpt(8 * MiB, DISK_GUID, PARTITIONS).head);

  it('finds nothing wrong with a table slipway wrote', () => {
    expect(gptProblem(good())).toBeUndefined();
  });

  it.each([
    ['no header', (head: Buffer) => head.fill(0, SECTOR, 2 * SECTOR), 'it has no GPT header in its second sector', false],
    ['a damaged header', (head: Buffer) => head.fill(7, SECTOR + 80, SECTOR + 81), 'its GPT header fails its checksum (the header is damaged)', true],
    ['a damaged entry', (head: Buffer) => head.fill(0x41, 2 * SECTOR + 56, 2 * SECTOR + 60), 'its GPT partition entries fail their checksum (the partition table is damaged)', true],
    ['a short read', (head: Buffer) => head.subarray(0, 3 * SECTOR), 'its GPT header describes a partition array that is not where GPTs keep it', false],
  ])('says what is wrong: %s', (_, damage, problem, damaged) => {
    const head = good();
    expect(gptProblem(damage(head))).toEqual({ what: problem, damaged });
  });
});
