/**
 * The disk layout every slipway image has, shared by the image builder and the updater: partition
 * types from the Discoverable Partitions Specification and the slot conventions.
 */
import { createHash } from 'node:crypto';

export const PARTITION_TYPES = {
  esp: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
  root: '4f68bce3-e8cd-4db1-96e7-fbcaf984b709', // root, x86-64
  rootVerity: '2c7357ed-ebd2-46d9-aec1-23d437ec2bf5', // root verity, x86-64
  var: '4d21b016-b534-45c2-a9fb-5c16e091fd2d',
} as const;

/**
 * GPT attribute bits the Discoverable Partitions Specification defines: a root and its verity
 * data are read-only; /var's file system is grown to its partition (the initrd does it at the
 * first boot).
 */
export const GPT_ATTRIBUTES = {
  readOnly: 1n << 60n,
  growFileSystem: 1n << 59n,
} as const;

export type PartitionRole = 'esp' | 'root-a' | 'verity-a' | 'root-b' | 'verity-b' | 'data';

/** The label of a slot that holds no version, as systemd-sysupdate writes it. */
export const EMPTY_LABEL = '_empty';

export const MiB = 1024 * 1024;

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/** 32 hex digits as a GUID string, as systemd does with the halves of a root hash. */
export function uuidFromHex(hex: string): string {
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** A slot's partition UUIDs come from its root hash: data from the first 128 bits, verity from the last. */
export function slotUuids(rootHash: string): { root: string; verity: string } {
  return { root: uuidFromHex(rootHash.slice(0, 32)), verity: uuidFromHex(rootHash.slice(32, 64)) };
}

/** A stable, version-4-shaped UUID for things that must not change between identical builds. */
export function stableUuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\0')).digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return uuidFromHex(`${hex.slice(0, 12)}4${hex.slice(13, 16)}${variant}${hex.slice(17, 32)}`);
}

export function rootLabel(name: string, version: string): string {
  return `${name}_${version}`;
}

export function verityLabel(name: string, version: string): string {
  return `${name}_${version}_verity`;
}

/** How a slot's size is split between root filesystem and verity hash tree (about 1/128 + a superblock). */
export function splitSlot(slotSize: number): { root: number; verity: number } {
  const verity = alignUp(Math.ceil(slotSize / 120) + MiB, MiB);
  return { root: slotSize - verity, verity };
}

/** UKI file name with systemd-boot's boot counter: NAME_VERSION+3.efi. */
export function ukiFileName(name: string, version: string, tries = 3): string {
  return `${name}_${version}+${tries}.efi`;
}
