/** Where a build's inputs come from: the recipe file, and the Debian archive it names. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chooseMirror } from '../assemble/archive/mirror.ts';
import type { ArchiveSource } from '../assemble/archive/open.ts';
import { DEBIAN_KEYRING } from '../assemble/archive/release.ts';
import { RecipeError } from '../errors.ts';
import { loadRecipe, type LoadedRecipe } from '../recipe/load.ts';

export function loadRecipeOrThrow(file: string): LoadedRecipe {
  const loaded = loadRecipe(file);
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

/** The archive a recipe builds from; `mirror` (the --mirror flag) wins over the recipe's. */
export function archiveSourceOf(loaded: LoadedRecipe, mirror: string | undefined): ArchiveSource {
  const { distribution, architecture } = loaded.recipe;
  const source: ArchiveSource = {
    mirror: chooseMirror({ flag: mirror, recipe: distribution.mirror, suite: distribution.suite, snapshot: distribution.snapshot }),
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
