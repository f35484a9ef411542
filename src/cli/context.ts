/** What several commands share: reading the recipe, finding the archive and the cache. */
import { resolve } from 'node:path';
import type { ArchiveSource } from '../assemble/archive/open.ts';
import { ContentCache, defaultCacheDir } from '../assemble/cache.ts';
import { archiveSourceOf } from '../pipeline/sources.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { stringOption, type OptionSpecs, type OptionValues } from './command.ts';

export const ARCHIVE_OPTIONS = {
  mirror: { type: 'string', value: 'URL', help: ['Debian archive root', '(default: SLIPWAY_MIRROR, the recipe, then /etc/apt sources)'] },
  cache: { type: 'string', value: 'DIR', help: 'download cache (default: $XDG_CACHE_HOME/slipway or ~/.cache/slipway)' },
} as const satisfies OptionSpecs;

export function archiveSourceFor(loaded: LoadedRecipe, values: OptionValues): ArchiveSource {
  return archiveSourceOf(loaded, stringOption(values, 'mirror'));
}

export function cacheDirFor(values: OptionValues): string {
  return resolve(stringOption(values, 'cache') ?? defaultCacheDir());
}

export function cacheFor(values: OptionValues): ContentCache {
  return new ContentCache(cacheDirFor(values));
}
