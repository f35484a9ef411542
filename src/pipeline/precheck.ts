/**
 * What the build can check from the recipe and its folder alone, before it downloads or unpacks
 * anything: the files it names are read here, once, and the steps take them from what this returns.
 * `build --dry-run` runs it too, so a dry run fails where the build would have failed first.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkInstallTargets, parseInstall } from '../assemble/configure/units.ts';
import { RecipeError } from '../errors.ts';
import { readRecipeFile, type LoadedRecipe } from '../recipe/load.ts';

export interface RecipeInputs {
  /** `files[].source`, by the path the recipe gives. */
  files: Map<string, Buffer>;
  /** Each container's OCI archive, by container name. */
  archives: Map<string, Buffer>;
  /** `update.trustedRoot`, when the recipe has update.url. */
  trustedRoot: Buffer | undefined;
}

export function readRecipeInputs(loaded: LoadedRecipe): RecipeInputs {
  const { files, containers, units } = loaded.recipe;
  const inputs: RecipeInputs = { files: new Map(), archives: new Map(), trustedRoot: readTrustedRoot(loaded) };
  for (const file of files) {
    if (file.source !== undefined && !inputs.files.has(file.source)) inputs.files.set(file.source, readRecipeFile(loaded, file.source, 'files: source'));
  }
  for (const container of containers) {
    if ('archive' in container.image) inputs.archives.set(container.name, readRecipeFile(loaded, container.image.archive, `containers (${container.name}): image archive`));
  }
  for (const unit of units) {
    const install = parseInstall(unit.content);
    if (install) checkInstallTargets(unit.name, install, `units (${unit.name})`);
  }
  return inputs;
}

/** The repository's root of trust, which may live outside the recipe's folder (beside the repository). */
function readTrustedRoot(loaded: LoadedRecipe): Buffer | undefined {
  const update = loaded.recipe.update;
  if (!update) return undefined;
  if (!update.trustedRoot) throw new RecipeError('update.trustedRoot: a host needs the repository\'s root.json to trust its updates', "give the path of metadata/1.root.json of the repository ('slipway publish --init' makes it)");
  const rootPath = resolve(loaded.dir, update.trustedRoot);
  try {
    const root = readFileSync(rootPath);
    JSON.parse(root.toString('utf8'));
    return root;
  } catch (cause) {
    throw new RecipeError(`update.trustedRoot: cannot read ${update.trustedRoot} as JSON (${rootPath})`, 'give the path of the repository\'s metadata/1.root.json', { cause });
  }
}
