/**
 * The installer ISO: ISO 9660 with the live UKI as its UEFI El Torito boot image (a FAT image
 * holding EFI/BOOT/BOOTX64.EFI), that same FAT image appended as a GPT partition so the file also
 * boots when written to a USB stick (hybrid), and the live system's files under /slipway. Made by
 * xorriso, with the build's time, so equal builds make equal bytes.
 */
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { alignUp, MiB } from '../shared/layout.ts';
import { runTool } from '../tools.ts';
import { makeEsp } from './esp.ts';

/** The ISO's volume label; the live initrd finds the medium by the files on it, not by this. */
export const ISO_VOLUME_ID = 'SLIPWAY';

/** xorriso's volume dates for SOURCE_DATE_EPOCH: YYYYMMDDhhmmss00. */
function isoDate(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14)}00`;
}

export interface IsoInput {
  /** The UKI the firmware starts. */
  efiProgram: string;
  /** Files under /slipway on the medium: the name there, and the file on the build host. */
  files: ReadonlyArray<{ name: string; source: string }>;
  volumeSerial: string;
  epoch: number;
  workDir: string;
}

export async function makeIso(output: string, input: IsoInput): Promise<void> {
  const efiBoot = join(input.workDir, 'efiboot.img');
  // The UKI and a little room: FAT16 up to 30 MiB (one-sector clusters stop near 32), FAT32 above.
  const size = alignUp(statSync(input.efiProgram).size + 2 * MiB, MiB);
  const fat = size <= 30 * MiB ? 16 : 32;
  await makeEsp(efiBoot, fat === 16 ? size : Math.max(size, 40 * MiB), input.volumeSerial, [{ path: 'EFI/BOOT/BOOTX64.EFI', source: input.efiProgram }], input.epoch, fat);
  const date = isoDate(input.epoch);
  // xorriso gives each file its mtime (with SOURCE_DATE_EPOCH set, never the clock's time).
  for (const { source } of input.files) utimesSync(source, input.epoch, input.epoch);
  await runTool(
    'xorriso',
    [
      '-as', 'mkisofs',
      '-iso-level', '3', '-rational-rock', '-joliet',
      '-volid', ISO_VOLUME_ID,
      '--modification-date=' + date,
      // The FAT image as partition 2 of a GPT, and as El Torito's EFI boot image (read from that
      // partition, so it is on the medium once).
      '-partition_offset', '16',
      '-append_partition', '2', 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', efiBoot,
      '-appended_part_as_gpt',
      '-eltorito-alt-boot', '-e', '--interval:appended_partition_2:all::', '-no-emul-boot',
      '-graft-points',
      '-output', output,
      ...input.files.map(({ name, source }) => `/slipway/${name}=${source}`),
    ],
    { env: { SOURCE_DATE_EPOCH: String(input.epoch) } },
  );
}
