/** Writes that survive a power cut: synced data, and a synced directory for the names in it. */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
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
  const fd = openSync(`${file}.new`, 'w');
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.new`, file);
  syncDirectory(dirname(file));
}
