/**
 * The image's root tree as it is being assembled: file contents live in a staging folder, while
 * owners, modes and device nodes (which an ordinary user cannot set on disk) live here, and are
 * handed to the filesystem builder at the end.
 *
 * A tree can also start from a folder it only reads (`lower`: a cached tree, used in place by a dry
 * run): what it has not written since is read from there, and everything it writes goes to its own
 * folder. Only the entries say what the tree holds; neither folder alone is the tree.
 */
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { BuildError } from '../errors.ts';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface Entry {
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** The package that put it there, or "slipway". */
  origin: string;
  target?: string;
  devMajor?: number;
  devMinor?: number;
}

/** Directories that merged /usr turns into symlinks (`/bin` → `usr/bin`). */
export const MERGED_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/**
 * `./lib/x` and `/lib/x` and `lib/x` all become `usr/lib/x`, the one place merged /usr keeps it.
 * `..` stops at the root, as in a chroot: no path names anything outside the tree.
 */
export function canonicalPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  // `bin` itself is the merged-/usr symlink; only what is below it moves.
  if (parts.length > 1 && MERGED_DIRS.includes(parts[0]!)) parts.unshift('usr');
  return parts.join('/');
}

const MAX_SYMLINK_HOPS = 40;

export class Tree {
  readonly entries = new Map<string, Entry>();
  /** Files whose contents are still the lower folder's. */
  private readonly inLower = new Set<string>();

  constructor(
    readonly root: string,
    private readonly lower?: string,
  ) {
    mkdirSync(root, { recursive: true });
  }

  /** A tree of these entries whose file contents are read from `lower`, which it never writes. */
  static over(lower: string, root: string, entries: Iterable<[string, Entry]>): Tree {
    const tree = new Tree(root, lower);
    for (const [path, entry] of entries) {
      tree.entries.set(path, entry);
      if (entry.type === 'file') tree.inLower.add(path);
    }
    return tree;
  }

  /** Where the contents at a canonical path are on the build host. */
  private contentPath(canonical: string): string {
    return this.lower !== undefined && this.inLower.has(canonical) ? join(this.lower, canonical) : join(this.root, canonical);
  }

  /**
   * Where a path is inside the tree, with the tree's own symlinks in its folders followed as the
   * image would follow them (an absolute target from the tree's root), and the last part's too
   * when `followLast`: a link in the image never leads to the build host's files.
   */
  place(path: string, followLast = false): string {
    let parts = canonicalPath(path).split('/').filter(Boolean);
    const done: string[] = [];
    for (let hops = 0; parts.length > (followLast ? 0 : 1);) {
      const part = parts.shift()!;
      const here = [...done, part].join('/');
      const entry = this.entries.get(here);
      if (entry?.type !== 'symlink' || entry.target === undefined) {
        done.push(part);
        continue;
      }
      if (++hops > MAX_SYMLINK_HOPS) throw new BuildError(`too many symlinks below /${here}`, 'the image has a symlink loop; check the packages and files that make it');
      const target = entry.target.startsWith('/') ? entry.target : `${done.join('/')}/${entry.target}`;
      parts = canonicalPath(`${target}/${parts.join('/')}`).split('/').filter(Boolean);
      done.length = 0;
    }
    return canonicalPath([...done, ...parts].join('/'));
  }

  /** The build host's path of a file in the tree, its symlinks followed inside the tree. */
  hostPath(path: string): string {
    return this.contentPath(this.place(path, true));
  }

  has(path: string): boolean {
    return this.entries.has(canonicalPath(path));
  }

  get(path: string): Entry | undefined {
    return this.entries.get(canonicalPath(path));
  }

  read(path: string): Buffer {
    return readFileSync(this.hostPath(path));
  }

  readText(path: string): string {
    return this.read(path).toString('utf8');
  }

  /** Makes the directory and any missing parents (parents get 0755 root:root). */
  mkdir(path: string, options: Partial<Entry> = {}): void {
    const canonical = this.place(path);
    if (canonical === '') return;
    const parent = posix.dirname(canonical);
    if (parent !== '.' && this.entries.get(parent)?.type !== 'directory') this.mkdir(parent);
    const existing = this.entries.get(canonical);
    if (existing && existing.type !== 'directory') this.remove(canonical);
    mkdirSync(join(this.root, canonical), { recursive: true });
    this.entries.set(canonical, { type: 'directory', mode: 0o755, uid: 0, gid: 0, origin: 'slipway', ...existing, ...options });
  }

  /** Clears whatever stands at a path, on disk and in the metadata, so a new entry can take it. */
  private clear(canonical: string): void {
    const existing = this.entries.get(canonical);
    if (existing?.type === 'directory') return;
    this.inLower.delete(canonical);
    const host = join(this.root, canonical);
    if (existing || existsOnDisk(host)) rmSync(host, { force: true });
  }

  /**
   * The parent's record, and its folder in this tree's own: over a lower folder, a parent recorded
   * from there exists on disk only once something was written into it.
   */
  private parentForWrite(canonical: string): void {
    this.ensureParent(canonical);
    if (this.lower !== undefined) mkdirSync(join(this.root, posix.dirname(canonical)), { recursive: true });
  }

  writeFile(path: string, content: string | Buffer, options: Partial<Entry> = {}): void {
    const canonical = this.place(path);
    this.parentForWrite(canonical);
    this.clear(canonical);
    const host = join(this.root, canonical);
    const mode = options.mode ?? 0o644;
    writeFileSync(host, content);
    chmodSync(host, mode);
    this.entries.set(canonical, { type: 'file', uid: 0, gid: 0, origin: 'slipway', ...options, mode });
  }

  symlink(path: string, target: string, options: Partial<Entry> = {}): void {
    const canonical = this.place(path);
    this.parentForWrite(canonical);
    this.clear(canonical);
    symlinkSync(target, join(this.root, canonical));
    this.entries.set(canonical, { type: 'symlink', mode: 0o777, uid: 0, gid: 0, origin: 'slipway', ...options, target });
  }

  /** Records an entry that was written to disk by someone else (the unpacker). */
  record(path: string, entry: Entry): void {
    this.entries.set(canonicalPath(path), entry);
  }

  ensureParent(canonical: string): void {
    const parent = posix.dirname(canonical);
    if (parent !== '.' && this.entries.get(parent)?.type !== 'directory') this.mkdir(parent);
  }

  /** Removes a path and everything below it. */
  remove(path: string): void {
    const canonical = this.place(path);
    const entry = this.entries.get(canonical);
    rmSync(join(this.root, canonical), { recursive: entry?.type !== 'file' && entry?.type !== 'symlink', force: true });
    this.entries.delete(canonical);
    this.inLower.delete(canonical);
    // Only a folder has records below it; looking through every record for each file removed made
    // leaving out thousands of files quadratic.
    if (entry && entry.type !== 'directory') return;
    const prefix = `${canonical}/`;
    for (const key of this.entries.keys()) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      this.inLower.delete(key);
    }
  }

  /**
   * Moves another tree (on the same filesystem) in as the directory `dir`, its records with it.
   * Device nodes and fifos stay behind: they exist only as records, and a container's runtime makes
   * its own /dev.
   */
  adopt(dir: string, other: Tree): void {
    if (other.lower !== undefined) throw new Error('a tree over a lower folder cannot be moved into another');
    const canonical = this.place(dir);
    this.remove(canonical);
    this.parentForWrite(canonical);
    renameSync(other.root, join(this.root, canonical));
    this.entries.set(canonical, { type: 'directory', mode: 0o755, uid: 0, gid: 0, origin: 'slipway' });
    for (const [path, entry] of other.entries) {
      if (entry.type === 'char' || entry.type === 'block' || entry.type === 'fifo') continue;
      this.entries.set(`${canonical}/${path}`, entry);
    }
    other.entries.clear();
  }

  /** Paths directly below a directory, sorted. */
  list(dir: string): string[] {
    const canonical = canonicalPath(dir);
    const prefix = canonical ? `${canonical}/` : '';
    const names: string[] = [];
    for (const key of this.entries.keys()) {
      if (key.startsWith(prefix) && !key.slice(prefix.length).includes('/')) names.push(key);
    }
    return names.sort();
  }

  /** Every path below a directory (at any depth), sorted. */
  walk(dir: string): string[] {
    const canonical = canonicalPath(dir);
    const prefix = canonical ? `${canonical}/` : '';
    return [...this.entries.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}

function existsOnDisk(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
