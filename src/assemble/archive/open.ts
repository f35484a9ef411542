/** Opening a Debian archive: signed InRelease, then the Packages indices it vouches for. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { VerificationError } from '../../errors.ts';
import { runTool } from '../../tools.ts';
import type { ContentCache } from '../cache.ts';
import { downloadToCache, fetchBuffer } from '../fetch.ts';
import { PackageIndex } from './packages.ts';
import { checkReleaseFreshness, parseRelease, verifyInRelease, type Release, type ReleaseFile } from './release.ts';

export interface ArchiveSource {
  /** Archive root URL (snapshot already applied), no trailing slash. */
  mirror: string;
  suite: string;
  components: readonly string[];
  architecture: string;
  keyring: string;
  snapshot?: string;
}

export interface Archive {
  source: ArchiveSource;
  release: Release;
  index: PackageIndex;
}

export function poolUrl(source: ArchiveSource, filename: string): string {
  return `${source.mirror}/${filename}`;
}

/** Packages.gz is preferred: Node can inflate gzip itself; .xz needs the xz tool. */
function pickIndexFile(release: Release, component: string, architecture: string): ReleaseFile {
  const base = `${component}/binary-${architecture}/Packages`;
  const file = release.files.get(`${base}.gz`) ?? release.files.get(`${base}.xz`) ?? release.files.get(base);
  if (!file) {
    throw new VerificationError(
      `the Release file of ${release.codename || release.suite} lists no ${base} index`,
      `check distribution.components and the architecture; this suite has ${release.components.join(', ')}`,
    );
  }
  return file;
}

async function decompress(path: string, name: string): Promise<string> {
  if (name.endsWith('.gz')) return gunzipSync(readFileSync(path)).toString('utf8');
  if (name.endsWith('.xz')) return (await runTool('xz', ['--decompress', '--stdout', path])).stdout;
  return readFileSync(path, 'utf8');
}

/**
 * The index text, inflated once and kept beside the verified compressed file (inflating 50 MB
 * costs more than reading it).
 */
async function indexText(cache: ContentCache, file: ReleaseFile, compressedPath: string): Promise<string> {
  const plain = cache.pathFor('indices', file.sha256, '.plain');
  if (existsSync(plain)) return readFileSync(plain, 'utf8');
  const text = await decompress(compressedPath, file.path);
  const temp = cache.tempPathFor('indices');
  writeFileSync(temp, text);
  cache.commit(temp, 'indices', file.sha256, '.plain');
  return text;
}

export async function fetchRelease(source: ArchiveSource, now = new Date()): Promise<Release> {
  const url = `${source.mirror}/dists/${source.suite}/InRelease`;
  const signed = await verifyInRelease(await fetchBuffer(url), source.keyring, url);
  const release = parseRelease(signed, url);
  checkReleaseFreshness(release, url, now, source.snapshot !== undefined);
  return release;
}

export async function openArchive(source: ArchiveSource, cache: ContentCache): Promise<Archive> {
  const release = await fetchRelease(source);
  return { source, release, index: await loadIndex(source, release, cache) };
}

/** Downloads (or takes from the cache) every component's Packages index the Release vouches for. */
export async function loadIndex(source: ArchiveSource, release: Release, cache: ContentCache): Promise<PackageIndex> {
  const index = new PackageIndex(source.architecture);
  const texts = await Promise.all(
    source.components.map(async (component) => {
      const file = pickIndexFile(release, component, source.architecture);
      const dir = file.path.slice(0, file.path.lastIndexOf('/'));
      const url = release.acquireByHash
        ? `${source.mirror}/dists/${source.suite}/${dir}/by-hash/SHA256/${file.sha256}`
        : `${source.mirror}/dists/${source.suite}/${file.path}`;
      const { path } = await downloadToCache(url, cache, 'indices', file);
      return indexText(cache, file, path);
    }),
  );
  for (const text of texts) index.addIndex(text);
  return index;
}
