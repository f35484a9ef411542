/**
 * The A/B slots of a slipway disk, read from its GPT, and the one edit an update makes to it: naming
 * the inactive slot's partitions (UUIDs from the new root hash, labels NAME_VERSION). Works on a
 * block device or an image file alike.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { readGpt, writeGpt, type GptTable } from '../shared/gpt.ts';
import { UpdateError } from '../errors.ts';
import { EMPTY_LABEL, PARTITION_TYPES, slotUuids, stableUuid } from '../shared/layout.ts';
import { blockDeviceSize } from '../shared/blockdev.ts';

const SECTOR = 512;
const HEAD_BYTES = 34 * SECTOR;

/** A partition as the GPT has it: number, type, uuid, name (its label), offset and size in bytes. */
export type SlotPartition = GptTable['partitions'][number];

export interface Slot {
  name: 'a' | 'b';
  root: SlotPartition;
  verity: SlotPartition;
  /** NAME_VERSION from the root partition's label; undefined for an empty slot. */
  label?: string;
}

export interface DiskSlots {
  size: number;
  table: GptTable;
  slots: [Slot, Slot];
}

function diskSize(fd: number): number {
  const stat = fstatSync(fd);
  return stat.isBlockDevice() ? blockDeviceSize(fd) : stat.size;
}

export function readSlots(disk: string): DiskSlots {
  const fd = openSync(disk, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    readSync(fd, head, 0, HEAD_BYTES, 0);
    const table = readGpt(head);
    if (!table) throw new UpdateError(`${disk} has no valid GPT`, 'is this the disk the host booted from?');
    const of = (type: string) => table.partitions.filter((p) => p.type === type).sort((x, y) => x.number - y.number);
    const roots = of(PARTITION_TYPES.root);
    const verities = of(PARTITION_TYPES.rootVerity);
    if (roots.length !== 2 || verities.length !== 2) throw new UpdateError(`${disk} does not have two root slots`, 'updates need a disk slipway built');
    const slot = (name: 'a' | 'b', i: number): Slot => ({
      name,
      root: roots[i]!,
      verity: verities[i]!,
      label: roots[i]!.name === EMPTY_LABEL ? undefined : roots[i]!.name,
    });
    return { size: diskSize(fd), table, slots: [slot('a', 0), slot('b', 1)] };
  } finally {
    closeSync(fd);
  }
}

/** The slot whose partitions carry this root hash's UUIDs (the running one, given /proc/cmdline's). */
export function slotOfRootHash(disk: DiskSlots, rootHash: string): Slot | undefined {
  const { root } = slotUuids(rootHash);
  return disk.slots.find((slot) => slot.root.uuid === root);
}

/**
 * Writes both GPT copies with the slot's partitions renamed: backup first, then primary, each
 * synced, so a power cut in between leaves one valid table for the firmware to use.
 */
function rewrite(disk: string, table: GptTable, size: number): void {
  const partitions = [...table.partitions].sort((a, b) => a.number - b.number);
  partitions.forEach((p, i) => {
    if (p.number !== i + 1) throw new UpdateError(`${disk}: partition ${p.number} is out of order`, 'updates need a disk slipway built');
  });
  const gpt = writeGpt(size, table.diskGuid, partitions);
  const fd = openSync(disk, 'r+');
  try {
    writeSync(fd, gpt.tail, 0, gpt.tail.length, gpt.tailOffset);
    fsyncSync(fd);
    writeSync(fd, gpt.head, 0, gpt.head.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function renameSlot(disk: DiskSlots, slot: Slot, root: { uuid: string; label: string }, verity: { uuid: string; label: string }): GptTable {
  return {
    diskGuid: disk.table.diskGuid,
    partitions: disk.table.partitions.map((p) => {
      if (p.number === slot.root.number) return { ...p, uuid: root.uuid, name: root.label };
      if (p.number === slot.verity.number) return { ...p, uuid: verity.uuid, name: verity.label };
      return p;
    }),
  };
}

/** Makes a slot unbootable before it is written: no root hash names it any more. */
export function clearSlot(diskPath: string, disk: DiskSlots, slot: Slot, nonce: string): void {
  const table = renameSlot(disk, slot, { uuid: stableUuid('empty-root', slot.name, nonce), label: EMPTY_LABEL }, { uuid: stableUuid('empty-verity', slot.name, nonce), label: EMPTY_LABEL });
  rewrite(diskPath, table, disk.size);
}

/** Names a written and verified slot by its root hash, so the initrd finds it for that version's UKI. */
export function nameSlot(diskPath: string, disk: DiskSlots, slot: Slot, rootHash: string, label: string): void {
  const uuids = slotUuids(rootHash);
  const table = renameSlot(disk, slot, { uuid: uuids.root, label }, { uuid: uuids.verity, label: `${label}_verity` });
  rewrite(diskPath, table, disk.size);
}
