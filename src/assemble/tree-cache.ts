/**
 * Unpacked trees, cached by what they are made of: a rebuild whose packages did not change (a new
 * version, another file or unit) starts from a hard-linked copy of the tree it unpacked before,
 * instead of unpacking a hundred packages again.
 *
 * Hard links (copies across filesystems) are safe because nothing writes a tree's files in place: Tree and the unpacker unlink
 * a path before writing it, and owners and modes live in the entries, not on disk. A cached tree is
 * written under a temporary name and renamed into place whole, so a killed build never leaves a
 * tree that looks finished.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ContentCache } from './cache.ts';
import { Tree, type Entry } from './tree.ts';

const KIND = 'trees';
/** How many trees to keep; each is a few hundred MB (shared with the trees copied from it). */
const KEEP = 4;

/** The code that decides what an unpacked tree holds: a change to it makes every cached tree stale. */
const MAKERS = ['./unpack.ts', './tree.ts', './deb.ts', './kernel.ts', './elf.ts', './configure/remove.ts', './configure/icu.ts', './configure/system.ts', './leave-out.ts'];

let makersDigest: string | undefined;

function codeDigest(): string {
  if (makersDigest) return makersDigest;
  const hash = createHash('sha256');
  for (const module of MAKERS) hash.update(readFileSync(new URL(module, import.meta.url)));
  makersDigest = hash.digest('hex');
  return makersDigest;
}

/** The cache key of a tree made from these inputs (package hashes in order, filters, anything else that decides its content). */
export function treeKey(inputs: unknown): string {
  return createHash('sha256').update(codeDigest()).update(JSON.stringify(inputs)).digest('hex');
}

interface Saved<T> {
  entries: Array<[string, Entry]>;
  extra: T;
}

/**
 * The tree for `key` at `dir`: a copy of the cached one, or one `make` fills (then cached). `extra`
 * is whatever `make` learned that later steps need (it is cached beside the tree).
 *
 * `inPlace` (for a dry run, which only reads a tree and writes a few files) skips the copy: the
 * tree reads the cached files where they are and writes to `dir`. A copy is thousands of folders,
 * links and symlinks to make and then remove, most of a dry run's time on a slow disk.
 */
export async function cachedTree<T>(
  cache: ContentCache, key: string, dir: string, make: (tree: Tree) => Promise<T>, inPlace = false,
): Promise<{ tree: Tree; extra: T; hit: boolean }> {
  const stored = cache.pathFor(KIND, key);
  if (existsSync(join(stored, 'entries.json'))) {
    const saved = JSON.parse(readFileSync(join(stored, 'entries.json'), 'utf8')) as Saved<T>;
    rmSync(dir, { recursive: true, force: true });
    const now = new Date();
    utimesSync(stored, now, now);
    if (inPlace) return { tree: Tree.over(join(stored, 'root'), dir, saved.entries), extra: saved.extra, hit: true };
    linkTree(saved.entries, join(stored, 'root'), dir);
    const tree = new Tree(dir);
    for (const [path, entry] of saved.entries) tree.entries.set(path, entry);
    return { tree, extra: saved.extra, hit: true };
  }
  const tree = new Tree(dir);
  const extra = await make(tree);
  const temp = cache.tempPathFor(KIND);
  try {
    const saved: Saved<T> = { entries: [...tree.entries], extra };
    linkTree(saved.entries, dir, join(temp, 'root'));
    writeFileSync(join(temp, 'entries.json'), JSON.stringify(saved));
    renameSync(temp, stored);
  } catch {
    // Another build cached the same tree first, or the cache cannot be written: this build goes on.
    rmSync(temp, { recursive: true, force: true });
  }
  evictOldTrees(cache);
  return { tree, extra, hit: false };
}

/**
 * Recreates a tree's folders and symlinks under `to`, its files as hard links to those under
 * `from`, or as copies where the two are on different filesystems (a cache on another disk).
 */
function linkTree(entries: ReadonlyArray<[string, Entry]>, from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  // Sorted, a folder comes before what is in it, so most parents are made by then: asking the
  // filesystem for each file's parent again was half the system calls of a copy.
  const made = new Set<string>(['.']);
  const parentOf = (path: string) => {
    const parent = posix.dirname(path);
    if (made.has(parent)) return;
    mkdirSync(join(to, parent), { recursive: true });
    made.add(parent);
  };
  let link = true;
  for (const [path, entry] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const target = join(to, path);
    if (entry.type === 'directory') {
      mkdirSync(target, { recursive: true });
      made.add(path);
    } else if (entry.type === 'file') {
      parentOf(path);
      if (link) {
        try {
          linkSync(join(from, path), target);
          continue;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
          link = false;
        }
      }
      copyFileSync(join(from, path), target);
    } else if (entry.type === 'symlink') {
      parentOf(path);
      symlinkSync(entry.target!, target);
    }
  }
}

function evictOldTrees(cache: ContentCache): void {
  const dir = join(cache.root, KIND);
  const trees = readdirSync(dir)
    .filter((name) => !name.startsWith('.partial-'))
    .map((name) => ({ name, time: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.time - a.time);
  for (const old of trees.slice(KEEP)) rmSync(join(dir, old.name), { recursive: true, force: true });
  const hourAgo = Date.now() - 60 * 60 * 1000;
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.partial-') && statSync(join(dir, name)).mtimeMs < hourAgo) rmSync(join(dir, name), { recursive: true, force: true });
  }
}
