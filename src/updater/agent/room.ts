/**
 * Does a release fit before anything is touched? The slot's partitions are as large as the disk was
 * built with, and the ESP must hold the new UKI next to the running one's. Found out halfway, a full
 * partition would cost a cleared slot; found out first, it costs nothing.
 */
import { statfsSync } from 'node:fs';
import { UpdateError } from '../../errors.ts';
import type { Slot } from '../slots.ts';
import { ukisSize } from './esp.ts';
import type { Release } from './repository.ts';

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

export interface Room {
  rootPartition: number;
  verityPartition: number;
  /** Free bytes on the ESP, counting what the update removes first (the slot's old UKI). */
  espFree: number;
}

/** The first thing that does not fit, as an error; undefined when all does. */
export function roomProblem(release: Pick<Release, 'version' | 'root' | 'verity' | 'uki'>, slotName: string, room: Room): UpdateError | undefined {
  const parts = [
    ['root image', release.root.length, room.rootPartition, `slot ${slotName}'s root partition`],
    ['verity image', release.verity.length, room.verityPartition, `slot ${slotName}'s verity partition`],
  ] as const;
  for (const [what, needs, holds, where] of parts) {
    if (needs > holds) return new UpdateError(`${release.version}'s ${what} is ${mib(needs)}, but ${where} holds ${mib(holds)}`, 'the new version was built for larger slots (disk.slotSize) than this disk has; install it on a new disk');
  }
  if (release.uki.length > room.espFree) {
    return new UpdateError(`${release.version}'s UKI is ${mib(release.uki.length)}, but the ESP has ${mib(room.espFree)} free`, 'remove what else is on the ESP (see /boot), or build the disk with a larger disk.espSize');
  }
  return undefined;
}

/** Measures the slot and the ESP on the running host. */
export function measureRoom(target: Slot, esp: string): Room {
  const { bavail, bsize } = statfsSync(esp);
  const replaced = target.label ? ukisSize(esp, target.label) : 0;
  return { rootPartition: target.root.size, verityPartition: target.verity.size, espFree: bavail * bsize + replaced };
}
