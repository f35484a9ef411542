import { describe, expect, it } from 'vitest';
import { partition, planLayout } from '../../../src/bootimage/disk.ts';
import { EMPTY_LABEL, MiB, PARTITION_TYPES, splitSlot } from '../../../src/shared/layout.ts';

const ROOT_HASH = 'aabbccdd00112233445566778899aabbffeeddccbbaa99887766554433221100';

const INPUT = { name: 'host', version: '1.0.0', rootHash: ROOT_HASH, espSize: 64 * MiB, slotSize: 768 * MiB, dataSize: 256 * MiB };

describe('planLayout', () => {
  const layout = planLayout(INPUT);

  it('lists the six partitions in order', () => {
    expect(layout.partitions.map((p) => p.role)).toEqual(['esp', 'root-a', 'verity-a', 'root-b', 'verity-b', 'data']);
    expect(layout.partitions.map((p) => p.type)).toEqual([
      PARTITION_TYPES.esp, PARTITION_TYPES.root, PARTITION_TYPES.rootVerity, PARTITION_TYPES.root, PARTITION_TYPES.rootVerity, PARTITION_TYPES.var,
    ]);
  });

  it('places them back to back from 1 MiB, MiB-aligned, and ends the disk 1 MiB after the last', () => {
    let expected = MiB;
    for (const p of layout.partitions) {
      expect(p.offset).toBe(expected);
      expect(p.offset % MiB).toBe(0);
      expect(p.size % MiB).toBe(0);
      expected = p.offset + p.size;
    }
    const last = layout.partitions.at(-1)!;
    expect(layout.size).toBe(last.offset + last.size + MiB);
  });

  it('gives each slot the split of the slot size', () => {
    const { root, verity } = splitSlot(INPUT.slotSize);
    expect(partition(layout, 'root-a').size).toBe(root);
    expect(partition(layout, 'verity-a').size).toBe(verity);
    expect(partition(layout, 'root-b').size).toBe(root);
    expect(partition(layout, 'verity-b').size).toBe(verity);
    expect(partition(layout, 'esp').size).toBe(64 * MiB);
    expect(partition(layout, 'data').size).toBe(256 * MiB);
    expect(layout.size).toBe((1 + 64 + 768 * 2 + 256 + 1) * MiB);
  });

  it('rounds sizes that are not whole MiB up', () => {
    const odd = planLayout({ ...INPUT, espSize: 64 * MiB + 1 });
    expect(partition(odd, 'esp').size).toBe(65 * MiB);
    expect(partition(odd, 'root-a').offset).toBe(66 * MiB);
  });

  it('takes slot A UUIDs from the root hash and labels it with the version', () => {
    expect(partition(layout, 'root-a')).toMatchObject({ uuid: 'aabbccdd-0011-2233-4455-66778899aabb', label: 'host_1.0.0' });
    expect(partition(layout, 'verity-a')).toMatchObject({ uuid: 'ffeeddcc-bbaa-9988-7766-554433221100', label: 'host_1.0.0_verity' });
  });

  it('sets the Discoverable Partitions Specification flags: read-only roots and verity, a growing /var', () => {
    const layout = planLayout(INPUT);
    const flags = Object.fromEntries(layout.partitions.map((p) => [p.role, p.attributes]));
    expect(flags).toEqual({ esp: 0n, 'root-a': 1n << 60n, 'verity-a': 1n << 60n, 'root-b': 1n << 60n, 'verity-b': 1n << 60n, data: 1n << 59n });
  });

  it('leaves slot B empty', () => {
    expect(partition(layout, 'root-b').label).toBe(EMPTY_LABEL);
    expect(partition(layout, 'verity-b').label).toBe(EMPTY_LABEL);
    expect(EMPTY_LABEL).toBe('_empty');
  });

  it('gives every partition a distinct UUID, stable across builds', () => {
    const uuids = layout.partitions.map((p) => p.uuid);
    expect(new Set(uuids).size).toBe(6);
    expect(planLayout(INPUT)).toEqual(layout);
  });

  it('keeps the disk GUID per version and the slot B and data UUIDs per name', () => {
    const next = planLayout({ ...INPUT, version: '1.0.1' });
    expect(next.diskGuid).not.toBe(layout.diskGuid);
    for (const role of ['esp', 'root-b', 'verity-b', 'data'] as const) expect(partition(next, role).uuid).toBe(partition(layout, role).uuid);
  });
});
