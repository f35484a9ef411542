/**
 * The install map round trip: what the build packs (src/bootimage/install-payload.ts) and the
 * installer writes (src/installer/write.ts) onto a disk of the image's size is, byte for byte, the
 * raw disk the build writes (src/bootimage/disk.ts); onto a bigger disk the partition table moves
 * its backup to the end. A changed byte on the medium or the disk is caught.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeInstallPayload } from '../../../src/bootimage/install-payload.ts';
import { planLayout, writeDisk, type DiskLayout } from '../../../src/bootimage/disk.ts';
import { folderMedium, httpMedium, readWhole, type Medium } from '../../../src/installer/medium.ts';
import { verifyImage, writeImage, writePartitionTable } from '../../../src/installer/write.ts';
import { serveFolder } from '../../helpers/static-server.ts';
import { bytesToWrite, parseInstallMap, type InstallMap } from '../../../src/shared/install-map.ts';
import { sha256File } from '../../../src/shared/hash.ts';
import { MiB, type PartitionRole } from '../../../src/shared/layout.ts';

let dir: string;
let layout: DiskLayout;
let contents: Partial<Record<PartitionRole, string>>;
let map: InstallMap;
let medium: Medium;

/** A file of `size` bytes: zeros, with random bytes at the given MiBs. */
function image(name: string, size: number, filledMiBs: number[]): string {
  const file = join(dir, name);
  writeFileSync(file, '');
  truncateSync(file, size);
  const fd = openSync(file, 'r+');
  for (const mib of filledMiBs) writeSync(fd, randomBytes(4096), 0, 4096, mib * MiB + 512);
  closeSync(fd);
  return file;
}

const noProgress = () => undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-install-'));
  layout = planLayout({ name: 'edge', version: '1.0.0', rootHash: 'ab'.repeat(32), espSize: 3 * MiB, slotSize: 12 * MiB, dataSize: 5 * MiB });
  const root = join(dir, 'edge_1.0.0.root.squashfs');
  writeFileSync(root, randomBytes(2 * MiB + 4096));
  const verity = join(dir, 'edge_1.0.0.root.verity');
  writeFileSync(verity, randomBytes(8192));
  contents = { 'esp': image('esp.img', 3 * MiB, [0, 2]), 'root-a': root, 'verity-a': verity, 'data': image('var.img', 5 * MiB, [0, 3]) };
  const payload = await writeInstallPayload(dir, 'edge_1.0.0', layout, contents, sha256File);
  const parsed = parseInstallMap(readFileSync(payload.map, 'utf8'));
  if ('problem' in parsed) throw new Error(parsed.problem);
  map = parsed.map;
  medium = folderMedium(dir);
});

describe('the install map', () => {
  it('points at the root and verity files, packs the nonzero MiBs of the ESP and /var, and writes their zero MiBs as zeros', () => {
    const sources = map.ranges.map((r) => (r.source === 'zeros' ? `zeros ${r.length / MiB}` : `${r.source.file}@${r.source.at / MiB}`));
    expect(sources).toEqual([
      'edge_1.0.0.install.bin@0', 'zeros 1', 'edge_1.0.0.install.bin@1',
      'edge_1.0.0.root.squashfs@0', 'edge_1.0.0.root.verity@0',
      'edge_1.0.0.install.bin@2', 'zeros 2', 'edge_1.0.0.install.bin@3', 'zeros 1',
    ]);
    expect(readFileSync(join(dir, 'edge_1.0.0.install.bin')).length).toBe(4 * MiB);
    expect(map.minimumSize).toBe(layout.size);
    expect(bytesToWrite(map)).toBe(3 * MiB + 2 * MiB + 4096 + 8192 + 5 * MiB);
  });

  it('refuses what is not a map, saying where', () => {
    expect(parseInstallMap('{')).toMatchObject({ problem: expect.stringMatching(/^not JSON/) });
    expect(parseInstallMap(JSON.stringify({ ...map, ranges: [{ ...map.ranges[0], source: { file: '../etc/passwd', at: 0 } }] }))).toMatchObject({
      problem: expect.stringMatching(/^ranges\.0\.source/),
    });
  });
});

describe('installing from the map', () => {
  it('makes, on a disk of the image\'s size, the very bytes of the raw image the build writes', async () => {
    const raw = join(dir, 'built.raw');
    await (await writeDisk(raw, layout, contents)).digest;
    const disk = join(dir, 'same-size.disk');
    writeFileSync(disk, '');
    truncateSync(disk, layout.size);
    const written = await writeImage(disk, layout.size, map, medium, noProgress);
    verifyImage(disk, map, noProgress);
    writePartitionTable(disk, layout.size, map);
    expect(written).toBe(bytesToWrite(map));
    expect(readFileSync(disk).equals(readFileSync(raw))).toBe(true);
  });

  it('puts the backup partition table at the end of a bigger disk, and clears what was there', async () => {
    const disk = join(dir, 'bigger.disk');
    const size = layout.size + 64 * MiB;
    writeFileSync(disk, '');
    truncateSync(disk, size);
    const fd = openSync(disk, 'r+');
    writeSync(fd, Buffer.from('EFI PART old backup'), 0, 19, size - 512);
    closeSync(fd);
    await writeImage(disk, size, map, medium, noProgress);
    writePartitionTable(disk, size, map);
    const { stdout } = await execa('sfdisk', ['-d', disk]);
    expect(stdout).toContain(`last-lba: ${size / 512 - 34}`);
    await execa('sfdisk', ['--verify', disk]);
  });

  it('stops when a byte on the medium or on the disk is not what the map says', async () => {
    const disk = join(dir, 'checked.disk');
    writeFileSync(disk, '');
    truncateSync(disk, layout.size);
    const packed = join(dir, 'edge_1.0.0.install.bin');
    const original = readFileSync(packed);
    const damaged = Buffer.from(original);
    damaged[MiB + 600] = damaged[MiB + 600]! ^ 1;
    writeFileSync(packed, damaged);
    try {
      await expect(writeImage(disk, layout.size, map, medium, noProgress)).rejects.toThrow('edge_1.0.0.install.bin from the medium for bytes');
    } finally {
      writeFileSync(packed, original);
    }
    await writeImage(disk, layout.size, map, medium, noProgress);
    const fd = openSync(disk, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, map.ranges[3]!.offset + 100);
    writeSync(fd, Buffer.from([byte[0]! ^ 0xff]), 0, 1, map.ranges[3]!.offset + 100);
    closeSync(fd);
    expect(() => verifyImage(disk, map, noProgress)).toThrow('read back different');
  });
});

describe('installing over HTTP, as a netbooted host does', () => {
  it('reads the map and every range from the served folder with Range requests, to the same bytes', async () => {
    const server = await serveFolder(dir);
    try {
      const http = httpMedium(`http://127.0.0.1:${server.port}/`);
      const text = (await readWhole(http, 'edge_1.0.0.install.json', 1024 * 1024)).toString('utf8');
      expect(parseInstallMap(text)).toEqual({ map });
      const disk = join(dir, 'over-http.disk');
      writeFileSync(disk, '');
      truncateSync(disk, layout.size);
      await writeImage(disk, layout.size, map, http, noProgress);
      verifyImage(disk, map, noProgress);
      await expect(readWhole(http, 'missing.json', 1024)).rejects.toThrow(/answered 404/);
    } finally {
      await server.close();
    }
  });
});
