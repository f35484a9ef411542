/**
 * Reading a .deb's control archive: its `control` paragraph (what the package says it is and needs)
 * and its `postinst` (only to learn what it would declare, never to run it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ContentCache } from './cache.ts';
import { Readable } from 'node:stream';
import { readControlTar } from './deb.ts';
import { readTarFiles } from '../shared/tar.ts';
import { eachLimited } from '../shared/limited.ts';

export interface ControlMembers {
  control: string;
  postinst?: string;
}

const MEMBERS = new Set(['control', 'postinst']);

/**
 * Cached by the .deb's sha256: each read is a decompressor's start, and every build reads every
 * package's control members (the closure check and the alternatives postinst scripts declare).
 */
export async function readControlMembers(cache: ContentCache, debPath: string, sha256: string, label: string): Promise<ControlMembers> {
  if (cache.has('control', sha256, '.json')) return JSON.parse(readFileSync(cache.pathFor('control', sha256, '.json'), 'utf8')) as ControlMembers;
  const files = await readTarFiles(Readable.from([await readControlTar(debPath, label)]), (file) => MEMBERS.has(file));
  const members: ControlMembers = { control: files.get('control')?.toString('utf8') ?? '' };
  const postinst = files.get('postinst');
  if (postinst) members.postinst = postinst.toString('utf8');
  const temp = cache.tempPathFor('control');
  writeFileSync(temp, JSON.stringify(members));
  cache.commit(temp, 'control', sha256, '.json');
  return members;
}

/** Every package's control members, by sha256, a few decompressors at a time. */
export async function readAllControlMembers(
  cache: ContentCache, packages: readonly { name: string; sha256: string }[], debPath: (pkg: { name: string; sha256: string }) => string,
): Promise<Map<string, ControlMembers>> {
  const members = new Map<string, ControlMembers>();
  await eachLimited(packages, 4, async (pkg) => {
    members.set(pkg.sha256, await readControlMembers(cache, debPath(pkg), pkg.sha256, pkg.name));
  });
  return members;
}
