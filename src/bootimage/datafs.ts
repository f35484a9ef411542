/**
 * The data partition (/var): an empty ext4 made by mkfs.ext4 on a file, reproducibly; or, for a
 * /var sealed at first boot, nothing but a mark saying the partition is new.
 */
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../tools.ts';

export async function makeDataFilesystem(output: string, size: number, uuid: string, epoch: number, workDir: string): Promise<void> {
  const empty = mkdtempSync(join(workDir, 'var-'));
  try {
    await runTool(
      'mkfs.ext4',
      ['-q', '-F', '-L', 'var', '-U', uuid, '-b', '4096', '-m', '0', '-E', `root_owner=0:0,hash_seed=${uuid},lazy_itable_init=0,nodiscard`, '-d', empty, output, `${size / 1024}k`],
      { env: { E2FSPROGS_FAKE_TIME: String(epoch), SOURCE_DATE_EPOCH: String(epoch) } },
    );
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

/**
 * What the initrd formats with LUKS2 at first boot, and nothing else: the mark, and zeros. A data
 * partition that holds neither LUKS2 nor this mark is never formatted. The initrd's
 * runtime/initrd/sealed-var.sh compares the partition's first bytes with the same words.
 */
const UNSEALED_MARK = 'SLIPWAY-VAR-NOT-YET-SEALED\n';

export function makeUnsealedDataPartition(output: string, size: number): void {
  const fd = openSync(output, 'w');
  try {
    writeSync(fd, UNSEALED_MARK);
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
