/** Reading .deb files: an ar archive holding control.tar.* and data.tar.*. */
import { closeSync, createReadStream, createWriteStream, openSync, readSync, rmSync, type ReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BuildError } from '../errors.ts';
import { filterToFile, pipeTool } from '../tools.ts';
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

const DECOMPRESSORS = {
  '.xz': { tool: 'xz', args: ['--decompress', '--stdout', '--threads=1'] },
  '.zst': { tool: 'zstd', args: ['--decompress', '--stdout', '-q'] },
} as const;

function memberBytes(path: string, member: ArMember): ReadStream {
  return createReadStream(path, { start: member.offset, end: member.offset + member.size - 1 });
}

function decompressor(member: ArMember): (typeof DECOMPRESSORS)[keyof typeof DECOMPRESSORS] | undefined {
  return Object.entries(DECOMPRESSORS).find(([suffix]) => member.name.endsWith(suffix))?.[1];
}

/** A member's tar stream, read from the file and decompressed as it goes (gzip in-process, xz and zstd by tool). */
function tarStream(path: string, member: ArMember): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  if (member.name.endsWith('.tar')) return { stream: memberBytes(path, member), done: Promise.resolve() };
  if (member.name.endsWith('.gz')) return { stream: memberBytes(path, member).pipe(createGunzip()), done: Promise.resolve() };
  const tool = decompressor(member);
  if (!tool) throw new BuildError(`unsupported member ${member.name}`, 'slipway reads gzip, xz and zstd compressed .deb members');
  const { stdout, done } = pipeTool(tool.tool, tool.args, memberBytes(path, member));
  return { stream: stdout, done };
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
  const member = findDataMember(debPath, label);
  const temp = cache.tempPathFor('unpacked');
  try {
    const tool = decompressor(member);
    if (tool) {
      await filterToFile(tool.tool, tool.args, memberBytes(debPath, member), temp);
    } else {
      const { stream, done } = tarStream(debPath, member);
      await Promise.all([pipeline(stream, createWriteStream(temp)), done]);
    }
    return cache.commit(temp, 'unpacked', sha256, '.tar');
  } finally {
    rmSync(temp, { force: true });
  }
}

function findMember(path: string, prefix: string, label: string): ArMember {
  const member = findArMember(path, prefix, label);
  if (!member) throw new BuildError(`${label} has no ${prefix}* member`, 'the cache entry is damaged; delete it and fetch again');
  return member;
}

function findDataMember(path: string, label: string): ArMember {
  return findMember(path, 'data.tar', label);
}

export function openDeb(path: string, label: string): DebArchive {
  return { control: () => tarStream(path, findMember(path, 'control.tar', label)), data: () => tarStream(path, findDataMember(path, label)) };
}
