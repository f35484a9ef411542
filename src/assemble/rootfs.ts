/**
 * The read-only root filesystem: squashfs made from the staging tree by mksquashfs, with owners,
 * modes and device nodes from the tree's records (a pseudo file), so no root is needed.
 *
 * squashfs rather than erofs: Debian 12's erofs-utils (1.5) can only make every file root-owned,
 * which would strip the shadow group from unix_chkpwd and friends; mksquashfs takes exact owners,
 * and its zstd images are smaller than erofs' lz4hc (see docs/design.md for the measurement).
 */
import { writeFileSync } from 'node:fs';
import { runTool } from '../tools.ts';
import type { Tree } from './tree.ts';

function pseudoPath(path: string): string | undefined {
  // Pseudo definitions are space-separated; the rare path with white space keeps the default owner.
  return /\s/.test(path) ? undefined : path;
}

/** Lines that give non-root owners, special directory modes and device nodes. */
export function pseudoDefinitions(tree: Tree): string[] {
  const lines: string[] = [];
  for (const [path, entry] of [...tree.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = pseudoPath(path);
    if (!name) continue;
    const mode = entry.mode.toString(8).padStart(4, '0');
    if (entry.type === 'char' || entry.type === 'block') {
      lines.push(`${name} ${entry.type === 'char' ? 'c' : 'b'} ${mode} ${entry.uid} ${entry.gid} ${entry.devMajor} ${entry.devMinor}`);
    } else if (entry.type === 'fifo') {
      lines.push(`${name} f ${mode} ${entry.uid} ${entry.gid} true`);
    } else if (entry.type !== 'symlink' && (entry.uid !== 0 || entry.gid !== 0 || (entry.type === 'directory' && entry.mode !== 0o755))) {
      lines.push(`${name} m ${mode} ${entry.uid} ${entry.gid}`);
    }
  }
  return lines;
}

export async function makeSquashfs(tree: Tree, output: string, pseudoFile: string, epoch: number): Promise<void> {
  writeFileSync(pseudoFile, `${pseudoDefinitions(tree).join('\n')}\n`);
  await runTool('mksquashfs', [
    tree.root, output,
    '-noappend', '-quiet', '-no-progress',
    '-comp', 'zstd', '-Xcompression-level', '15',
    '-b', '131072',
    '-all-root',
    '-all-time', String(epoch), '-mkfs-time', String(epoch),
    '-no-exports', '-no-xattrs',
    '-pf', pseudoFile,
  ]);
}
