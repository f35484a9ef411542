/** Test images: the default host with changes, built into a fresh folder with the shared cache. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { SHARED_CACHE, tempDir } from './archive.ts';
import { REPO_ROOT, slipway } from './cli.ts';

export type RecipeChange = (recipe: Record<string, any>) => void;

/** Builds the default host, changed, with the debug shell; returns the .raw. `extraArgs` go to slipway build. */
export async function buildVariant(change: RecipeChange, format = 'raw', extraArgs: string[] = []): Promise<{ image: string; dir: string }> {
  const recipe = parse(readFileSync(join(REPO_ROOT, 'recipes/host.yaml'), 'utf8')) as Record<string, any>;
  recipe.debug = { shell: true };
  change(recipe);
  const dir = tempDir('variant');
  writeFileSync(join(dir, 'host.yaml'), stringify(recipe));
  const result = await slipway(['build', join(dir, 'host.yaml'), '--out', join(dir, 'out'), '--cache', SHARED_CACHE, '--format', format, ...extraArgs]);
  if (result.exitCode !== 0) throw new Error(`build failed:\n${result.stderr}`);
  const image = join(dir, 'out', `${recipe.name}_${recipe.version}.${format}`);
  if (!existsSync(image)) throw new Error(`no ${image}`);
  return { image, dir };
}

/** A port nothing listens on right now, on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

