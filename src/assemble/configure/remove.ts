/**
 * Leaves out of the tree what the image does not keep: paths matching the built-in removals and the
 * recipe's `remove:` globs, and records them (with what excluded packages would have brought) so
 * the build can refuse a left-out file that a kept one needs.
 */
import { createReadStream } from 'node:fs';
import { IMAGE_REMOVALS } from '../leave-out.ts';
import type { LeftOutPaths } from '../needs.ts';
import { listTarNames } from '../../shared/tar.ts';
import { canonicalPath, type Tree } from '../tree.ts';

/** `*` within a name, `**` across folders, `?` one character; a trailing `/**` also matches the folder itself. */
export function globToRegExp(glob: string): RegExp {
  const canonical = canonicalPath(glob);
  let pattern = '';
  for (let i = 0; i < canonical.length; i++) {
    const c = canonical[i]!;
    if (canonical.startsWith('/**', i) && i + 3 === canonical.length) {
      pattern += '(/.*)?';
      break;
    }
    if (canonical.startsWith('**', i)) {
      pattern += '.*';
      i++;
    } else if (c === '*') pattern += '[^/]*';
    else if (c === '?') pattern += '[^/]';
    else pattern += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${pattern}$`);
}

/** Removes what the globs match; returns the files removed, each with the glob that removed it. */
export function removePaths(tree: Tree, recipeGlobs: readonly string[]): LeftOutPaths {
  const rules = [
    ...IMAGE_REMOVALS.map((r) => ({ regex: globToRegExp(r.name), reason: `left out of every image: /${r.name} (${r.why})` })),
    ...recipeGlobs.map((glob) => ({ regex: globToRegExp(glob), reason: `remove: ${glob}` })),
  ];
  const removed: LeftOutPaths = new Map();
  const doomed: string[] = [];
  for (const [path, entry] of tree.entries) {
    const rule = rules.find((r) => r.regex.test(path));
    if (!rule) continue;
    doomed.push(path);
    if (entry.type !== 'directory') removed.set(path, rule.reason);
  }
  for (const path of doomed) if (tree.has(path)) tree.remove(path);
  return removed;
}

/** The files an excluded package would have unpacked that no kept package put there. */
export async function excludedPackagePaths(tree: Tree, excluded: ReadonlyArray<{ name: string; tar: string }>): Promise<LeftOutPaths> {
  const paths: LeftOutPaths = new Map();
  for (const pkg of excluded) {
    for (const name of await listTarNames(createReadStream(pkg.tar))) {
      const path = canonicalPath(name);
      if (path && !tree.has(path) && !paths.has(path)) paths.set(path, `exclude: ${pkg.name}`);
    }
  }
  return paths;
}
