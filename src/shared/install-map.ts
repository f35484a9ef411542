/**
 * The installer's map of a disk image (`NAME_VERSION.install.json` on the ISO): the partition table
 * to write for the target disk's size, and the ranges of bytes to put into the partitions, each
 * read from a file beside the map (the root and its verity data, which the live system runs from,
 * and `NAME_VERSION.install.bin`, the nonzero parts of the ESP and /var) or written as zeros, with
 * its sha256. Only what the image holds is written: an empty slot stays as it was.
 */
import { z } from 'zod';

export const INSTALL_MAP_VERSION = 1;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const fileName = z.string().regex(/^[A-Za-z0-9._+-]+$/, 'a file name beside the map');
const bytes = z.number().int().nonnegative();

const RangeSchema = z.strictObject({
  /** Byte offset on the disk. */
  offset: bytes,
  length: z.number().int().positive(),
  /** Where the bytes come from: a file beside the map (and where in it), or zeros. */
  source: z.union([z.strictObject({ file: fileName, at: bytes }), z.literal('zeros')]),
  sha256: sha256Hex,
});

const PartitionSchema = z.strictObject({
  type: z.string(),
  uuid: z.string(),
  name: z.string(),
  offset: bytes,
  size: bytes,
  /** GPT attribute bits, as a decimal string (JSON has no 64-bit integers). */
  attributes: z.string().regex(/^\d+$/),
});

export const InstallMapSchema = z.strictObject({
  version: z.literal(INSTALL_MAP_VERSION),
  /** NAME_VERSION of the image. */
  image: z.string(),
  /** The smallest disk it fits: the image's size. */
  minimumSize: bytes,
  diskGuid: z.string(),
  partitions: z.array(PartitionSchema).min(1),
  ranges: z.array(RangeSchema).min(1),
});

export type InstallMap = z.output<typeof InstallMapSchema>;
export type InstallRange = InstallMap['ranges'][number];

export function installMapName(basename: string): string {
  return `${basename}.install.json`;
}

export function installDataName(basename: string): string {
  return `${basename}.install.bin`;
}

/** The map, or the reason it is not one. */
export function parseInstallMap(text: string): { map: InstallMap } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = InstallMapSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { problem: `${issue.path.join('.') || '(top level)'}: ${issue.message}` };
  }
  return { map: parsed.data };
}

/** How many bytes an install writes: every range, zeros included. */
export function bytesToWrite(map: InstallMap): number {
  return map.ranges.reduce((sum, range) => sum + range.length, 0);
}
