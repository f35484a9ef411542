/** Reading .deb files: an ar archive holding control.tar.* and data.tar.*. */
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { BuildError } from '../errors.ts';
import { pipeTool } from '../tools.ts';
import type { ContentCache } from './cache.ts';

export interface ArMember {
  name: string;
  data: Buffer;
}

const AR_MAGIC = '!<arch>\n';

export function readAr(bytes: Buffer, label: string): ArMember[] {
  if (bytes.toString('latin1', 0, 8) !== AR_MAGIC) throw new BuildError(`${label} is not a .deb (ar) archive`, 'the cache entry is damaged; delete it and fetch again');
  const members: ArMember[] = [];
  let offset = 8;
  while (offset + 60 <= bytes.length) {
    const header = bytes.toString('latin1', offset, offset + 60);
    const name = header.slice(0, 16).trim().replace(/\/$/, '');
    const size = Number.parseInt(header.slice(48, 58).trim(), 10);
    const start = offset + 60;
    members.push({ name, data: bytes.subarray(start, start + size) });
    offset = start + size + (size % 2); // members are 2-byte aligned
  }
  return members;
}

/** A member's tar stream, decompressed by the right program (gzip in-process, xz and zstd by tool). */
function tarStream(member: ArMember): { stream: NodeJS.ReadableStream; done: Promise<void> } {
  if (member.name.endsWith('.tar')) return { stream: Readable.from([member.data]), done: Promise.resolve() };
  if (member.name.endsWith('.gz')) return { stream: Readable.from([member.data]).pipe(createGunzip()), done: Promise.resolve() };
  if (member.name.endsWith('.xz')) {
    const { stdout, done } = pipeTool('xz', ['--decompress', '--stdout', '--threads=1'], member.data);
    return { stream: stdout, done };
  }
  if (member.name.endsWith('.zst')) {
    const { stdout, done } = pipeTool('zstd', ['--decompress', '--stdout', '-q'], member.data);
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
  const members = readAr(readFileSync(path), label);
  const find = (prefix: string) => {
    const member = members.find((m) => m.name.startsWith(prefix));
    if (!member) throw new BuildError(`${label} has no ${prefix}* member`, 'the cache entry is damaged; delete it and fetch again');
    return member;
  };
  return { control: () => tarStream(find('control.tar')), data: () => tarStream(find('data.tar')) };
}
