import { describe, expect, it } from 'vitest';
import { MiB, alignUp, slotUuids, splitSlot, stableUuid, ukiFileName, uuidFromHex } from '../../../src/shared/layout.ts';

const ROOT_HASH = '0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210';
const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidFromHex', () => {
  it('groups 32 hex digits 8-4-4-4-12, lower case', () => {
    expect(uuidFromHex('C12A7328F81F11D2BA4B00A0C93EC93B')).toBe('c12a7328-f81f-11d2-ba4b-00a0c93ec93b');
  });
});

describe('slotUuids', () => {
  it('takes the data UUID from the first 128 bits and the verity UUID from the last', () => {
    expect(slotUuids(ROOT_HASH)).toEqual({
      root: '01234567-89ab-cdef-0123-456789abcdef',
      verity: 'fedcba98-7654-3210-fedc-ba9876543210',
    });
  });
});

describe('stableUuid', () => {
  it('is the same for the same parts', () => {
    expect(stableUuid('host', 'esp')).toBe(stableUuid('host', 'esp'));
  });

  it('differs for different parts, including how they are split', () => {
    expect(stableUuid('host', 'esp')).not.toBe(stableUuid('host', 'var'));
    expect(stableUuid('ab', 'c')).not.toBe(stableUuid('a', 'bc'));
  });

  it('looks like a version 4 UUID', () => {
    for (const part of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) expect(stableUuid(part)).toMatch(UUID4);
  });
});

describe('alignUp', () => {
  it('rounds up to the next multiple', () => {
    expect(alignUp(0, MiB)).toBe(0);
    expect(alignUp(1, MiB)).toBe(MiB);
    expect(alignUp(MiB, MiB)).toBe(MiB);
    expect(alignUp(MiB + 1, MiB)).toBe(2 * MiB);
  });
});

describe('splitSlot', () => {
  it.each([256 * MiB, 768 * MiB, 2048 * MiB])('splits %i bytes into root and a MiB-aligned verity', (slot) => {
    const { root, verity } = splitSlot(slot);
    expect(root + verity).toBe(slot);
    expect(verity % MiB).toBe(0);
    // A hash tree with 4 KiB blocks and 32-byte hashes needs a little over 1/128 of the data.
    expect(verity).toBeGreaterThan(root / 128);
    expect(verity).toBeLessThan(root / 64 + 2 * MiB);
  });

  it('gives a 768 MiB slot 8 MiB of verity', () => {
    expect(splitSlot(768 * MiB)).toEqual({ root: 760 * MiB, verity: 8 * MiB });
  });
});

describe('ukiFileName', () => {
  it('carries the boot counter', () => {
    expect(ukiFileName('host', '1.2.0')).toBe('host_1.2.0+3.efi');
    expect(ukiFileName('host', '1.2.0', 5)).toBe('host_1.2.0+5.efi');
  });
});
