/** Reading .deb files: an ar archive holding control.tar.* and data.tar.*. */
import { closeSync, createReadStream, createWriteStream, openSync, readSync, rmSync, type ReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { BuildError } from '../errors.ts';
import type { FileRange } from '../launcher/launch.ts';
import { filterToBuffer, filterToFile } from '../tools.ts';
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

function memberRange(path: string, member: ArMember): FileRange {
  return { path, offset: member.offset, length: member.size };
}

function decompressor(member: ArMember): (typeof DECOMPRESSORS)[keyof typeof DECOMPRESSORS] | undefined {
  return Object.entries(DECOMPRESSORS).find(([suffix]) => member.name.endsWith(suffix))?.[1];
}

/** A member read in-process: plain, or gzip; xz and zstd are left to their tools. */
function inProcessStream(path: string, member: ArMember): NodeJS.ReadableStream {
  if (member.name.endsWith('.tar')) return memberBytes(path, member);
  if (member.name.endsWith('.gz')) return memberBytes(path, member).pipe(createGunzip());
  throw new BuildError(`unsupported member ${member.name}`, 'slipway reads gzip, xz and zstd compressed .deb members');
}

/** A .deb's control archive as a plain tar (small: a few kilobytes, at most a few hundred). */
export async function readControlTar(path: string, label: string): Promise<Buffer> {
  const member = findMember(path, 'control.tar', label);
  const tool = decompressor(member);
  if (tool) return filterToBuffer(tool.tool, tool.args, memberRange(path, member));
  const chunks: Buffer[] = [];
  for await (const chunk of inProcessStream(path, member)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Decompresses a .deb's data archive into a plain tar in the cache (`unpacked/<sha256>.tar`), once:
 * decompression is most of the time an unpack takes, and a rebuild should not pay it again.
 */
export async function cacheDataTar(cache: ContentCache, debPath: string, sha256: string, label: string): Promise<string> {
  if (cache.has('unpacked', sha256, '.tar')) return cache.pathFor('unpacked', sha256, '.tar');
  const member = findMember(debPath, 'data.tar', label);
  const temp = cache.tempPathFor('unpacked');
  try {
    const tool = decompressor(member);
    if (tool) await filterToFile(tool.tool, tool.args, memberRange(debPath, member), temp);
    else await pipeline(inProcessStream(debPath, member), createWriteStream(temp));
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
