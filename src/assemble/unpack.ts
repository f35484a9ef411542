/**
 * Unpacking .deb data archives into the tree, in the lockfile's order, without running any of the
 * packages' scripts and without root: owners and device nodes are recorded, not applied.
 */
import { chmodSync, closeSync, createReadStream, linkSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { join, posix } from 'node:path';
import { extract, type Header } from 'tar-stream';
import { BuildError } from '../errors.ts';
import { canonicalPath, MERGED_DIRS, type Entry, type Tree } from './tree.ts';

/** Decides, per path, whether an entry goes into the tree. */
export type PathFilter = (canonical: string) => boolean;

/** Takes the regular files it wants aside instead of into the tree. */
export interface FileDiversion {
  wants: (canonical: string) => boolean;
  take: (canonical: string, content: Buffer) => void;
}

/** Files larger than this are written as they stream in instead of gathered first (libnode is 80 MB). */
const STREAM_ABOVE = 1024 * 1024;

/** Creates merged /usr as debootstrap does, before any package is unpacked. */
export function mergeUsr(tree: Tree): void {
  for (const dir of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64']) tree.mkdir(dir);
  for (const dir of MERGED_DIRS) {
    if (dir === 'lib32' || dir === 'libx32') continue;
    tree.symlink(dir, `usr/${dir}`);
  }
}

/**
 * A relative symlink moved by merged /usr (`/bin/x → ../usr/lib/y` now at `/usr/bin/x`) must
 * point at the same place from its new folder.
 */
function relocateTarget(original: string, canonical: string, target: string): string {
  if (target.startsWith('/')) return target;
  const originalPath = posix.normalize(original.replace(/^\.?\/+/, ''));
  if (originalPath === canonical) return target;
  const resolved = canonicalPath(posix.join(posix.dirname(`/${originalPath}`), target));
  const relative = posix.relative(posix.dirname(`/${canonical}`), `/${resolved}`);
  return relative || '.';
}

function modeOf(header: Header): number {
  return (header.mode ?? 0o644) & 0o7777;
}

/** The record of a regular file from an archive entry: its mode and numeric owner, and its package. */
function fileEntry(header: Header, origin: string): Entry {
  return { type: 'file', mode: modeOf(header), uid: header.uid ?? 0, gid: header.gid ?? 0, origin };
}

/** Unpacks a plain data tar (see cacheDataTar) into the tree. */
export async function unpackDataTar(tree: Tree, tarPath: string, origin: string, keep: PathFilter, divert?: FileDiversion): Promise<void> {
  const stream = createReadStream(tarPath);
  const tar = extract();
  tar.on('entry', (header, body, next) => {
    const named = canonicalPath(header.name);
    if (named === '' || !keep(named)) {
      // Not copied into memory: the held modules' second pass reads past 4,000 the image leaves out.
      body.on('end', () => next());
      body.on('error', next);
      body.resume();
      return;
    }
    if (header.type === 'file' && (header.size ?? 0) > STREAM_ABOVE && !divert?.wants(named)) {
      streamFile(tree, header, named, body, origin, next);
      return;
    }
    const chunks: Buffer[] = [];
    body.on('data', (chunk) => chunks.push(chunk as Buffer));
    body.on('end', () => {
      try {
        place(tree, header, named, Buffer.concat(chunks), origin, divert);
        next();
      } catch (error) {
        next(error as Error);
      }
    });
    body.on('error', next);
  });
  const finished = new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    stream.on('error', reject);
  });
  stream.pipe(tar);
  await finished;
}

/** Makes way for a regular file at `canonical` (its folder, nothing already there) and returns where it goes on disk. */
function clearForFile(tree: Tree, canonical: string): string {
  const host = join(tree.root, canonical);
  tree.ensureParent(canonical);
  rmSync(host, { force: true, recursive: tree.get(canonical)?.type === 'directory' });
  return host;
}

/** Writes a large regular file chunk by chunk as the archive streams it, then records it. */
function streamFile(tree: Tree, header: Header, named: string, body: EventEmitter, origin: string, next: (error?: Error) => void): void {
  let fd: number | undefined;
  let host: string;
  const fail = (error: Error) => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    next(error);
  };
  try {
    const canonical = tree.place(named);
    host = clearForFile(tree, canonical);
    fd = openSync(host, 'w', 0o600);
    body.on('data', (chunk: Buffer) => {
      try {
        if (fd !== undefined) writeSync(fd, chunk);
      } catch (error) {
        fail(error as Error);
      }
    });
    body.on('end', () => {
      if (fd === undefined) return;
      try {
        closeSync(fd);
        fd = undefined;
        const entry = fileEntry(header, origin);
        chmodSync(host, entry.mode);
        tree.record(canonical, entry);
        next();
      } catch (error) {
        fail(error as Error);
      }
    });
    body.on('error', fail);
  } catch (error) {
    fail(error as Error);
  }
}

/** Puts an entry the filter kept (at `named`, its canonical path) into the tree. */
function place(tree: Tree, header: Header, named: string, content: Buffer, origin: string, divert?: FileDiversion): void {
  // Where dpkg would put it: through the folder symlinks the image already has (/var/run → /run).
  const canonical = tree.place(named);
  const host = join(tree.root, canonical);
  const entry = fileEntry(header, origin);
  // A merged-/usr top-level folder (`./bin/`) is the symlink mergeUsr made; what is in it lands in /usr.
  const topLevel = posix.normalize(header.name.replace(/^\.?\/+/, '')).replace(/\/+$/, '');
  if (header.type === 'directory' && MERGED_DIRS.includes(topLevel)) return;
  switch (header.type) {
    case 'directory': {
      const existing = tree.get(canonical);
      if (existing && existing.type !== 'directory') tree.remove(canonical);
      tree.ensureParent(canonical);
      mkdirSync(host, { recursive: true });
      tree.record(canonical, { ...entry, type: 'directory' });
      return;
    }
    case 'file':
    case 'contiguous-file': {
      if (divert?.wants(canonical)) return divert.take(canonical, content);
      writeFileSync(clearForFile(tree, canonical), content);
      chmodSync(host, entry.mode);
      tree.record(canonical, entry);
      return;
    }
    case 'symlink': {
      tree.ensureParent(canonical);
      rmSync(host, { force: true, recursive: tree.get(canonical)?.type === 'directory' });
      const target = relocateTarget(header.name, canonical, header.linkname ?? '');
      symlinkSync(target, host);
      tree.record(canonical, { ...entry, type: 'symlink', mode: 0o777, target });
      return;
    }
    case 'link': {
      const target = tree.place(header.linkname ?? '');
      // Hard links may point at files later in the same archive only in theory; dpkg orders them after.
      tree.ensureParent(canonical);
      rmSync(host, { force: true });
      linkSync(join(tree.root, target), host);
      const targetEntry = tree.get(target);
      tree.record(canonical, { ...(targetEntry ?? entry), type: 'file', origin });
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      tree.ensureParent(canonical);
      const type = header.type === 'fifo' ? 'fifo' : header.type === 'block-device' ? 'block' : 'char';
      tree.record(canonical, { ...entry, type, devMajor: header.devmajor ?? 0, devMinor: header.devminor ?? 0 });
      return;
    }
    default:
      throw new BuildError(`${origin}: unsupported tar entry ${header.name} (${header.type})`, 'report this package to the slipway developers');
  }
}
