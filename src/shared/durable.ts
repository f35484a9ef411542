/** Writes that survive a power cut: synced data, and a synced directory for the names in it. */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The whole filesystem that holds `path` (syncfs, through coreutils' sync -f). For the ESP: vfat
 * keeps a rename's directory entries where fsync of the directory does not always reach, and a
 * power cut just after then lost the new boot entry.
 */
export function syncFilesystem(path: string): void {
  execFileSync('sync', ['-f', path], { stdio: 'ignore' });
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `file` with `text` (or bytes) through a synced temporary file and a rename: old or new, never half. */
export function replaceFileDurably(file: string, text: string | Uint8Array): void {
  // Made exclusively, after whatever an interrupted write left there is removed: a link or a
  // device left at that name is never followed.
  const temp = `${file}.new`;
  rmSync(temp, { force: true });
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, file);
  syncDirectory(dirname(file));
}
