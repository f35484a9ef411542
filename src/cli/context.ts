/** What several commands share: reading the recipe, finding the archive and the cache. */
import { resolve } from 'node:path';
import type { ArchiveSource } from '../assemble/archive/open.ts';
import { ContentCache, defaultCacheDir } from '../assemble/cache.ts';
import { archiveSourceOf } from '../pipeline/sources.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { stringOption, type OptionValues } from './command.ts';

export const ARCHIVE_OPTIONS = {
  mirror: { type: 'string' },
  cache: { type: 'string' },
} as const;

export const ARCHIVE_OPTION_DETAILS = [
  '--mirror URL   Debian archive root (default: SLIPWAY_MIRROR, the recipe, then /etc/apt sources)',
  '--cache DIR    download cache (default: $XDG_CACHE_HOME/slipway or ~/.cache/slipway)',
];

export function archiveSourceFor(loaded: LoadedRecipe, values: OptionValues): ArchiveSource {
  return archiveSourceOf(loaded, stringOption(values, 'mirror'));
}

export function cacheDirFor(values: OptionValues): string {
  return resolve(stringOption(values, 'cache') ?? defaultCacheDir());
}

export function cacheFor(values: OptionValues): ContentCache {
  return new ContentCache(cacheDirFor(values));
}
