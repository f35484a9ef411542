/** Downloading pinned .deb files into the content-addressed cache, several at once. */
import { openArchive, poolUrl, type ArchiveSource } from './archive/open.ts';
import type { ContentCache } from './cache.ts';
import { ContentMismatch, downloadToCache } from './fetch.ts';
import { LockError } from '../errors.ts';
import { eachLimited } from '../shared/limited.ts';
import type { LockedPackage } from './lock.ts';

export const DEFAULT_CONCURRENCY = 8;

export interface DownloadStats {
  downloaded: number;
  cached: number;
  bytes: number;
  /** The most downloads that were under way at one time. */
  maxInFlight: number;
}

export interface FetchedPackages {
  paths: Map<string, string>;
  stats: DownloadStats;
}

/**
 * A .deb that is not what the lockfile pins: the archive's signed index decides whether the
 * mirror or the lockfile is wrong (a hand-edited or damaged lockfile used to be blamed on the mirror).
 */
async function blame(error: unknown, pkg: LockedPackage, source: ArchiveSource, cache: ContentCache): Promise<never> {
  if (!(error instanceof ContentMismatch) || error.sha256 === undefined) throw error;
  let listed: string | undefined;
  try {
    listed = (await openArchive(source, cache)).index.versions(pkg.name).find((v) => v.version === pkg.version && v.filename === pkg.filename)?.sha256;
  } catch {
    throw error; // the index cannot be had: the mirror's fault stands
  }
  if (listed === error.sha256) {
    throw new LockError(
      `${pkg.name} ${pkg.version}: the lockfile pins sha256 ${pkg.sha256}, but the archive's signed index and the mirror agree on ${error.sha256}`,
      'the lockfile was changed by hand or is damaged: run slipway lock to resolve again',
    );
  }
  throw error;
}

export async function fetchPackages(
  packages: readonly LockedPackage[],
  source: ArchiveSource,
  cache: ContentCache,
  options: { concurrency?: number; onProgress?: (done: number, total: number, bytesDownloaded: number) => void } = {},
): Promise<FetchedPackages> {
  cache.sweepPartials('debs');
  const paths = new Map<string, string>();
  const stats: DownloadStats = { downloaded: 0, cached: 0, bytes: 0, maxInFlight: 0 };
  let inFlight = 0;
  // Largest first, so one big kernel package does not finish alone at the end.
  const ordered = [...packages].sort((a, b) => b.size - a.size);
  await eachLimited(ordered, options.concurrency ?? DEFAULT_CONCURRENCY, async (pkg, signal) => {
    inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
    try {
      const { path, downloaded } = await downloadToCache(poolUrl(source, pkg.filename), cache, 'debs', pkg, '.deb', signal).catch((error: unknown) => blame(error, pkg, source, cache));
      paths.set(pkg.name, path);
      if (downloaded) {
        stats.downloaded++;
        stats.bytes += pkg.size;
      } else {
        stats.cached++;
      }
      options.onProgress?.(paths.size, packages.length, stats.bytes);
    } finally {
      inFlight--;
    }
  });
  return { paths, stats };
}
