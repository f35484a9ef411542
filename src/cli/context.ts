/** What several commands share: reading the recipe, finding the archive and the cache. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { RecipeError } from '../errors.ts';
import { DEBIAN_KEYRING } from '../assemble/archive/release.ts';
import { chooseMirror } from '../assemble/archive/mirror.ts';
import type { ArchiveSource } from '../assemble/archive/open.ts';
import { ContentCache, defaultCacheDir } from '../assemble/cache.ts';
import { loadRecipe, type LoadedRecipe } from '../recipe/load.ts';
import { stringOption, type OptionValues } from './command.ts';

export const ARCHIVE_OPTIONS = {
  mirror: { type: 'string' },
  cache: { type: 'string' },
} as const;

export const ARCHIVE_OPTION_DETAILS = [
  '--mirror URL   Debian archive root (default: SLIPWAY_MIRROR, the recipe, then /etc/apt sources)',
  '--cache DIR    download cache (default: $XDG_CACHE_HOME/slipway or ~/.cache/slipway)',
];

export function loadRecipeOrThrow(file: string): LoadedRecipe {
  const loaded = loadRecipe(file);
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

export function archiveSourceFor(loaded: LoadedRecipe, values: OptionValues): ArchiveSource {
  const { distribution, architecture } = loaded.recipe;
  const source: ArchiveSource = {
    mirror: chooseMirror({
      flag: stringOption(values, 'mirror'),
      recipe: distribution.mirror,
      suite: distribution.suite,
      snapshot: distribution.snapshot,
    }),
    suite: distribution.suite,
    components: distribution.components,
    architecture,
    keyring: distribution.keyring ? resolve(loaded.dir, distribution.keyring) : DEBIAN_KEYRING,
  };
  if (distribution.keyring && !existsSync(source.keyring)) {
    throw new RecipeError(
      `distribution.keyring: ${source.keyring} does not exist`,
      'give the path of an OpenPGP keyring, relative to the recipe',
    );
  }
  if (distribution.snapshot) source.snapshot = distribution.snapshot;
  return source;
}

export function cacheFor(values: OptionValues): ContentCache {
  return new ContentCache(resolve(stringOption(values, 'cache') ?? defaultCacheDir()));
}
