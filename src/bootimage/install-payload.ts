/**
 * What the installer ISO carries to write the disk with (src/shared/install-map.ts): the map, and
 * the nonzero MiBs of the ESP and /var images packed into one file. The root and its verity data
 * are not copied: the map points at the files the live system runs from.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { INSTALL_MAP_VERSION, installDataName, installMapName, type InstallMap, type InstallRange } from '../shared/install-map.ts';
import { MiB, type PartitionRole } from '../shared/layout.ts';
import type { DiskLayout } from './disk.ts';

/** Filesystem images: every byte counts, zeros too (an inode table must read as zeros). */
const PACKED_ROLES: readonly PartitionRole[] = ['esp', 'data'];
/** The slot's contents: the files as they are, the rest of the partition left alone. */
const FILE_ROLES: readonly PartitionRole[] = ['root-a', 'verity-a'];

export interface InstallPayload {
  map: string;
  data: string;
}

/**
 * Writes NAME_VERSION.install.json and .install.bin into `dir`; `contents` are the partitions'
 * images, and `sha256Of` gives a whole file's digest (the build has the root's and verity's already).
 */
export async function writeInstallPayload(
  dir: string, image: string, layout: DiskLayout, contents: Partial<Record<PartitionRole, string>>, sha256Of: (file: string) => Promise<string>,
): Promise<InstallPayload> {
  const dataFile = `${dir}/${installDataName(image)}`;
  const data = openSync(dataFile, 'w');
  const ranges: InstallRange[] = [];
  try {
    let packed = 0;
    for (const partition of [...layout.partitions].sort((a, b) => a.offset - b.offset)) {
      const source = contents[partition.role];
      if (!source) continue;
      if (FILE_ROLES.includes(partition.role)) {
        ranges.push({ offset: partition.offset, length: statSync(source).size, source: { file: basename(source), at: 0 }, sha256: await sha256Of(source) });
      } else if (PACKED_ROLES.includes(partition.role)) {
        packed = packChunks(source, partition.offset, { fd: data, name: installDataName(image) }, packed, ranges);
      }
    }
  } finally {
    closeSync(data);
  }
  const map: InstallMap = {
    version: INSTALL_MAP_VERSION,
    image,
    minimumSize: layout.size,
    diskGuid: layout.diskGuid,
    partitions: layout.partitions.map((p) => ({ type: p.type, uuid: p.uuid, name: p.label, offset: p.offset, size: p.size, attributes: p.attributes.toString() })),
    ranges,
  };
  const mapFile = `${dir}/${installMapName(image)}`;
  writeFileSync(mapFile, `${JSON.stringify(map, null, 1)}\n`);
  return { map: mapFile, data: dataFile };
}

const ZERO_MIB = Buffer.alloc(MiB);

/**
 * Adds the image's MiBs at `offset` as ranges: a run of nonzero MiBs appended to the data file (at
 * `packed`), a run of zero MiBs as zeros. Returns where the data file ends now.
 */
function packChunks(image: string, offset: number, data: { fd: number; name: string }, packed: number, ranges: InstallRange[]): number {
  const fd = openSync(image, 'r');
  const chunk = Buffer.alloc(MiB);
  let run: { zeros: boolean; start: number; length: number; at: number; hash: ReturnType<typeof createHash> } | undefined;
  const close = () => {
    if (!run) return;
    ranges.push({ offset: offset + run.start, length: run.length, source: run.zeros ? 'zeros' : { file: data.name, at: run.at }, sha256: run.hash.digest('hex') });
    run = undefined;
  };
  try {
    for (let position = 0; ; position += MiB) {
      const read = readSync(fd, chunk, 0, MiB, position);
      if (read === 0) break;
      const bytes = chunk.subarray(0, read);
      const zeros = bytes.equals(ZERO_MIB.subarray(0, read));
      if (run && run.zeros !== zeros) close();
      run ??= { zeros, start: position, length: 0, at: packed, hash: createHash('sha256') };
      run.hash.update(bytes);
      run.length += read;
      if (!zeros) packed += writeSync(data.fd, bytes, 0, read, packed);
    }
    close();
  } finally {
    closeSync(fd);
  }
  return packed;
}
