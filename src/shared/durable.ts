/** Writes that survive a power cut: synced data, and a synced directory for the names in it. */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `file` with `text` through a synced temporary file and a rename: old or new, never half. */
export function replaceFileDurably(file: string, text: string): void {
  const fd = openSync(`${file}.new`, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.new`, file);
  syncDirectory(dirname(file));
}
