/** docs/design.md's code map names every source file, and only files that exist. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/cli.ts';

interface Row {
  /** Paths from the repository's root, as the first column names them; folders end in `/`. */
  paths: string[];
  /** The file names the second column mentions. */
  mentioned: string[];
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

const FROM_ROOT = /^(src|qemu|runtime|bin|bench|test)\//;

/**
 * A first column lists paths like `src/assemble/fetch.ts`, `configure/users.ts`: a path that does
 * not start at a top folder is in the folder of the last one that does.
 */
function rowPaths(cell: string): string[] {
  let folder = '';
  return ticked(cell).map((token) => {
    if (!FROM_ROOT.test(token)) return `${folder}${token}`;
    folder = token.endsWith('/') ? token : `${dirname(token)}/`;
    return token;
  });
}

export function codeMap(markdown: string): Row[] {
  const start = markdown.indexOf('## Code map');
  const section = markdown.slice(start, markdown.indexOf('\n## ', start + 1));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [, first = '', second = ''] = line.split(/(?<!\\)\|/);
      return { paths: rowPaths(first), mentioned: ticked(second).filter((t) => /^[\w./-]+\.(ts|mjs|cjs)$/.test(t)) };
    });
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(REPO_ROOT, folder), { recursive: true, encoding: 'utf8' })
    .map((path) => join(folder, path))
    .filter((path) => statSync(join(REPO_ROOT, path)).isFile() && /\.(ts|mjs)$/.test(path));
}

const rows = codeMap(readFileSync(join(REPO_ROOT, 'docs/design.md'), 'utf8'));

describe('the code map in docs/design.md', () => {
  it('reads as rows of paths', () => {
    expect(rows.length).toBeGreaterThan(20);
    expect(codeMap('## Code map\n| `src/a/b.ts`, `c.ts`, `d/` | uses `e.ts` |\n## Next')).toEqual([{ paths: ['src/a/b.ts', 'src/a/c.ts', 'src/a/d/'], mentioned: ['e.ts'] }]);
  });

  it('names only paths that exist', () => {
    const missing = rows.flatMap((row) => row.paths).filter((path) => !existsSync(join(REPO_ROOT, path)));
    expect(missing).toEqual([]);
  });

  it('mentions, in a folder’s row, only files in that folder (or named from the top)', () => {
    const missing = rows.flatMap((row) => {
      const folders = row.paths.filter((path) => path.endsWith('/'));
      if (folders.length === 0) return [];
      const exists = (name: string) => (FROM_ROOT.test(name) ? existsSync(join(REPO_ROOT, name)) : folders.some((folder) => existsSync(join(REPO_ROOT, folder, name))));
      return row.mentioned.filter((name) => !exists(name)).map((name) => `${folders.join(', ')}: ${name}`);
    });
    expect(missing).toEqual([]);
  });

  it('covers every source file in src and qemu, by name or by its folder', () => {
    const named = rows.flatMap((row) => row.paths);
    const covered = (file: string) => named.some((path) => (path.endsWith('/') ? file.startsWith(path) : file === path));
    expect([...sourceFiles('src'), ...sourceFiles('qemu')].filter((file) => !covered(file))).toEqual([]);
  });
});
