/** The staging folder a build writes into, inside the output folder, and what killed builds left there. */
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { OutputError } from '../errors.ts';
import { processAlive } from '../shared/process.ts';

/**
 * Prepares the staging folder inside the output folder, failing early when it is not writable.
 * Staging folders of builds that were killed (SIGKILL leaves hundreds of MB) are removed, and named
 * in `removed`; a live build's is left alone.
 */
export function prepareStaging(outDir: string, basename: string): { staging: string; work: string; removed: string[] } {
  try {
    makeOutputFolder(outDir);
    const removed: string[] = [];
    for (const name of readdirSync(outDir)) {
      const pid = /^\.staging-.+-(\d+)$/.exec(name)?.[1];
      if (pid === undefined || (Number(pid) !== process.pid && processAlive(Number(pid)))) continue;
      rmSync(join(outDir, name), { recursive: true, force: true });
      if (Number(pid) !== process.pid) removed.push(name);
    }
    const staging = join(outDir, `.staging-${basename}-${process.pid}`);
    mkdirSync(join(staging, 'work', 'boot'), { recursive: true });
    return { staging, work: join(staging, 'work'), removed };
  } catch (cause) {
    throw new OutputError(
      `cannot write to ${shownPath(outDir)}: ${(cause as Error).message}`,
      'choose an --out folder you can write to',
      { cause },
    );
  }
}

/**
 * The --out folder, made one level at a time (Node's recursive mkdir spins forever, deaf to
 * signals, below /proc). An existing one must be a folder, not a link to one: a build writes and
 * removes only inside a folder it was given.
 */
function makeOutputFolder(outDir: string): void {
  const existing = lstatSync(outDir, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) throw new Error('it is a symlink; give the folder it points to');
  if (existing && !existing.isDirectory()) throw new Error('it is not a folder');
  const missing: string[] = [];
  for (let dir = outDir; !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) mkdirSync(dir);
}

/** A path as the user would type it here: relative below the working folder, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
