/**
 * What the build can check from the recipe and its folder alone, before it unpacks anything. The
 * build runs it before it makes its staging folder, and `build --dry-run` runs it too, so a dry run
 * fails where the build would have failed first.
 */
import { checkInstallTargets, parseInstall } from '../assemble/configure/units.ts';
import { readRecipeFile, type LoadedRecipe } from '../recipe/load.ts';

export function checkRecipeInputs(loaded: LoadedRecipe): void {
  const { files, containers, units } = loaded.recipe;
  for (const file of files) if (file.source !== undefined) readRecipeFile(loaded, file.source, 'files: source');
  for (const container of containers) {
    if ('archive' in container.image) readRecipeFile(loaded, container.image.archive, `containers (${container.name}): image archive`);
  }
  for (const unit of units) {
    const install = parseInstall(unit.content);
    if (install) checkInstallTargets(unit.name, install, `units (${unit.name})`);
  }
}
