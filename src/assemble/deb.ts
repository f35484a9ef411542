/** Reading .deb files: an ar archive holding control.tar.* and data.tar.*. */
import { closeSync, createReadStream, createWriteStream, openSync, readSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BuildError } from '../errors.ts';
import { pipeTool } from '../tools.ts';
import type { ContentCache } from './cache.ts';

/** Where a member of an ar archive lies in the file. */
export interface ArMember {
  name: string;
  offset: number;
  size: number;
}

const AR_MAGIC = '!<arch>\n';

/** Finds one member of an ar archive by reading headers only (a .deb's control is near its start). */
export function findArMember(path: string, prefix: string, label: string): ArMember | undefined {
  const fd = openSync(path, 'r');
  try {
    const magic = Buffer.alloc(8);
    readSync(fd, magic, 0, 8, 0);
    if (magic.toString('latin1') !== AR_MAGIC) throw new BuildError(`${label} is not a .deb (ar) archive`, 'the cache entry is damaged; delete it and fetch again');
    let offset = 8;
    const header = Buffer.alloc(60);
    while (readSync(fd, header, 0, 60, offset) === 60) {
      const name = header.toString('latin1', 0, 16).trim().replace(/\/$/, '');
      const size = Number.parseInt(header.toString('latin1', 48, 58).trim(), 10);
      if (name.startsWith(prefix)) return { name, offset: offset + 60, size };
      offset += 60 + size + (size % 2);
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A member's tar stream, read from the file and decompressed as it goes (gzip in-process, xz and zstd by tool). */
function tarStream(path: string, member: ArMember): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  const raw = () => createReadStream(path, { start: member.offset, end: member.offset + member.size - 1 });
  if (member.name.endsWith('.tar')) return { stream: raw(), done: Promise.resolve() };
  if (member.name.endsWith('.gz')) return { stream: raw().pipe(createGunzip()), done: Promise.resolve() };
  if (member.name.endsWith('.xz')) {
    const { stdout, done } = pipeTool('xz', ['--decompress', '--stdout', '--threads=1'], raw());
    return { stream: stdout, done };
  }
  if (member.name.endsWith('.zst')) {
    const { stdout, done } = pipeTool('zstd', ['--decompress', '--stdout', '-q'], raw());
    return { stream: stdout, done };
  }
  throw new BuildError(`unsupported member ${member.name}`, 'slipway reads gzip, xz and zstd compressed .deb members');
}

export interface DebArchive {
  control: () => { stream: NodeJS.ReadableStream; done: Promise<void> };
  data: () => { stream: NodeJS.ReadableStream; done: Promise<void> };
}

/**
 * Decompresses a .deb's data archive into a plain tar in the cache (`unpacked/<sha256>.tar`), once:
 * decompression is most of the time an unpack takes, and a rebuild should not pay it again.
 */
export async function cacheDataTar(cache: ContentCache, debPath: string, sha256: string, label: string): Promise<string> {
  if (cache.has('unpacked', sha256, '.tar')) return cache.pathFor('unpacked', sha256, '.tar');
  const { stream, done } = openDeb(debPath, label).data();
  const temp = cache.tempPathFor('unpacked');
  try {
    await Promise.all([pipeline(stream, createWriteStream(temp)), done]);
    return cache.commit(temp, 'unpacked', sha256, '.tar');
  } finally {
    rmSync(temp, { force: true });
  }
}

export function openDeb(path: string, label: string): DebArchive {
  const find = (prefix: string) => {
    const member = findArMember(path, prefix, label);
    if (!member) throw new BuildError(`${label} has no ${prefix}* member`, 'the cache entry is damaged; delete it and fetch again');
    return member;
  };
  return { control: () => tarStream(path, find('control.tar')), data: () => tarStream(path, find('data.tar')) };
}
