/** The EFI system partition: FAT made by mkfs.vfat on a file and filled by mtools, no mounting. */
import { utimesSync } from 'node:fs';
import { runTool } from '../tools.ts';

export interface EspFile {
  /** Path inside the ESP, e.g. EFI/BOOT/BOOTX64.EFI. */
  path: string;
  /** File on the build host. */
  source: string;
}

/**
 * The volume id is derived from the image, so equal builds make equal bytes. FAT32 needs 65525
 * clusters (32 MiB at one sector each); a smaller image, such as the ISO's boot image, is FAT16.
 */
export async function makeEsp(output: string, size: number, volumeId: string, files: readonly EspFile[], epoch: number, fatBits: 16 | 32 = 32): Promise<void> {
  const env = { SOURCE_DATE_EPOCH: String(epoch), MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
  await runTool('mkfs.vfat', ['-C', '--invariant', '-F', String(fatBits), '-S', '512', '-s', '1', '-n', 'ESP', '-i', volumeId, output, String(size / 1024)], { env });
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const sortedDirs = [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
  if (sortedDirs.length > 0) await runTool('mmd', ['-i', output, ...sortedDirs.map((d) => `::/${d}`)], { env });
  for (const file of files) {
    // mcopy -m keeps the source's modification time; make it the build's, not the moment of the build.
    utimesSync(file.source, epoch, epoch);
    await runTool('mcopy', ['-i', output, '-m', file.source, `::/${file.path}`], { env });
  }
}
