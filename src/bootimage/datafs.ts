/** The data partition (/var): an empty ext4 made by mkfs.ext4 on a file, reproducibly. */
import { mkdtempSync, rmSync } from 'node:fs';
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
