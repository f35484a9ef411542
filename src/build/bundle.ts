/**
 * Programs slipway puts into the image run on the image's own Node.js: each is bundled with its
 * dependencies into one CommonJS file by esbuild (deterministic output, so builds stay reproducible).
 */
import { build, stop } from 'esbuild';
import { BuildError, errorMessage } from '../errors.ts';

const ENTRY_POINTS = {
  provision: new URL('../hostconfig/agent.ts', import.meta.url).pathname,
  update: new URL('../updater/agent/main.ts', import.meta.url).pathname,
} as const;

/** Debian 12's nodejs. */
const TARGET = 'node18';

/** Bundled once per process: the sources do not change while slipway runs. */
const bundles = new Map<keyof typeof ENTRY_POINTS, Promise<Buffer>>();

export function bundleProgram(name: keyof typeof ENTRY_POINTS): Promise<Buffer> {
  let bundle = bundles.get(name);
  if (!bundle) {
    bundle = bundleOnce(name);
    bundles.set(name, bundle);
    bundle.catch(() => bundles.delete(name));
  }
  return bundle;
}

async function bundleOnce(name: keyof typeof ENTRY_POINTS): Promise<Buffer> {
  try {
    const result = await build({
      entryPoints: [ENTRY_POINTS[name]],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: TARGET,
      minify: true,
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
    });
    return Buffer.from(result.outputFiles[0]!.contents);
  } catch (cause) {
    throw new BuildError(`cannot bundle the ${name} program: ${errorMessage(cause).split('\n')[0]}`, 'run npm ci in the slipway checkout', { cause });
  } finally {
    // esbuild's service process (45 MB) would otherwise live to the end of the build.
    await stop();
  }
}
