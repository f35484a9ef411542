/**
 * Programs slipway puts into the image run on the image's own Node.js: each is bundled with its
 * dependencies into one CommonJS file by esbuild (deterministic output, so builds stay reproducible).
 */
import { build, stop, type Plugin } from 'esbuild';
import { BuildError, errorMessage } from '../errors.ts';

const ENTRY_POINTS = {
  provision: new URL('../hostconfig/agent.ts', import.meta.url).pathname,
  update: new URL('../updater/agent/main.ts', import.meta.url).pathname,
  'container-user': new URL('../recipe/container-user-program.ts', import.meta.url).pathname,
  install: new URL('../installer/main.ts', import.meta.url).pathname,
} as const;

/** Debian 12's nodejs. */
const TARGET = 'node18';

/**
 * tuf-js's default fetcher needs make-fetch-happen, whose HTTP stack is most of the update
 * agent's bundle; the agent brings its own fetcher (updater/agent/fetcher.ts), so the bundle
 * carries, in its place, a module that fails loudly if anything ever calls it.
 */
const leaveOutMakeFetchHappen: Plugin = {
  name: 'leave-out-make-fetch-happen',
  setup(build) {
    build.onResolve({ filter: /^make-fetch-happen$/ }, () => ({ path: 'make-fetch-happen', namespace: 'left-out' }));
    build.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({
      contents: "module.exports = () => { throw new Error('make-fetch-happen is not in this bundle: pass tuf-js a fetcher'); };",
      loader: 'js',
    }));
  },
};

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
      plugins: [leaveOutMakeFetchHappen],
    });
    return Buffer.from(result.outputFiles[0]!.contents);
  } catch (cause) {
    throw new BuildError(`cannot bundle the ${name} program: ${errorMessage(cause).split('\n')[0]}`, 'run npm ci in the slipway checkout', { cause });
  } finally {
    // esbuild's service process (45 MB) would otherwise live to the end of the build.
    await stop();
  }
}
