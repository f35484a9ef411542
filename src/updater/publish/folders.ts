/** The folders publish is given (--repo, --keys, --rotate-keys, the build): each a folder, or not there yet. */
import { existsSync, statSync } from 'node:fs';
import { UpdateError } from '../../errors.ts';

/** A folder the command reads or writes: absent is fine (it says so later), a file or device is refused. */
export function folderOrAbsent(path: string, what: string): void {
  if (existsSync(path) && !statSync(path).isDirectory()) throw new UpdateError(`${what} ${path} is not a folder`, `give ${what === 'the build' ? "the --out folder of one 'slipway build'" : 'a folder'}`);
}

export function checkFolders(repoDir: string, keysDir: string, newKeysDir?: string): void {
  folderOrAbsent(repoDir, '--repo');
  folderOrAbsent(keysDir, '--keys');
  if (newKeysDir !== undefined) folderOrAbsent(newKeysDir, '--rotate-keys');
}
