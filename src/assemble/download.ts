/** Downloading pinned .deb files into the content-addressed cache, several at once. */
import type { ArchiveSource } from './archive/open.ts';
import { poolUrl } from './archive/open.ts';
import type { ContentCache } from './cache.ts';
import { downloadToCache } from './fetch.ts';
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
 * Runs tasks with at most `limit` under way. The first failure aborts the others (through the
 * signal they are given) and is the one reported once all have stopped.
 */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const controller = new AbortController();
  const worker = async (): Promise<void> => {
    while (next < items.length && !firstError) {
      const item = items[next++]!;
      try {
        await task(item, controller.signal);
      } catch (error) {
        if (!firstError) {
          firstError = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError) throw firstError.error;
}

export async function fetchPackages(
  packages: readonly LockedPackage[],
  source: ArchiveSource,
  cache: ContentCache,
  options: { concurrency?: number; onProgress?: (done: number, total: number) => void } = {},
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
      const { path, downloaded } = await downloadToCache(poolUrl(source, pkg.filename), cache, 'debs', pkg, '.deb', signal);
      paths.set(pkg.name, path);
      if (downloaded) {
        stats.downloaded++;
        stats.bytes += pkg.size;
      } else {
        stats.cached++;
      }
      options.onProgress?.(paths.size, packages.length);
    } finally {
      inFlight--;
    }
  });
  return { paths, stats };
}
