import { countWithRate } from '../../shared/rate.ts';
import { readAllControlMembers } from '../../assemble/control.ts';
import { fetchPackages } from '../../assemble/download.ts';
import { checkLockClosed, lockPathFor, readLockfile } from '../../assemble/lock.ts';
import type { Command } from '../command.ts';
import { ARCHIVE_OPTIONS, archiveSourceFor, cacheFor } from '../context.ts';
import { loadRecipeOrThrow } from '../../pipeline/sources.ts';
import { runSteps } from '../progress.ts';

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'download every locked package into the cache, verified by sha256',
  usage: 'RECIPE',
  options: ARCHIVE_OPTIONS,
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, global, out }) {
    const file = positionals[0]!;
    const loaded = loadRecipeOrThrow(file);
    const lock = readLockfile(lockPathFor(loaded.path), loaded.recipe, file);
    const source = archiveSourceFor(loaded, values);
    const cache = cacheFor(values);
    const unique = new Map(Object.values(lock.sets).flat().map((pkg) => [pkg.sha256, pkg]));
    const { result } = await runSteps<{ result?: Awaited<ReturnType<typeof fetchPackages>> }>(
      [
        {
          title: `Download ${unique.size} packages`,
          run: async (ctx, report) => {
            const started = performance.now();
            ctx.result = await fetchPackages([...unique.values()], source, cache, {
              onProgress: (done, total, bytes) => report(countWithRate(done, total, bytes, started)),
            });
          },
        },
        {
          title: 'Check that each locked set carries what its packages depend on',
          run: async (ctx) => {
            const paths = ctx.result!.paths;
            const controls = await readAllControlMembers(cache, [...unique.values()], (pkg) => paths.get(pkg.name)!);
            checkLockClosed(loaded.recipe, lock.sets, controls);
          },
        },
      ],
      {},
      { quiet: global.json },
    );
    const stats = result!.stats;
    if (global.json) out(`${JSON.stringify({ cache: cache.root, ...stats }, null, 2)}\n`);
    else out(`${stats.downloaded} downloaded (${(stats.bytes / 1048576).toFixed(1)} MiB), ${stats.cached} already cached, in ${cache.root}\n`);
  },
};
