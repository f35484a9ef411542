import { relative } from 'node:path';
import { DEBIAN_KEYRING } from '../../assemble/archive/release.ts';
import { openArchive, type Archive } from '../../assemble/archive/open.ts';
import { lockPathFor, resolveLock, writeLockfile, type Lockfile } from '../../assemble/lock.ts';
import { checkTools } from '../../tools.ts';
import type { Command } from '../command.ts';
import { ARCHIVE_OPTIONS, archiveSourceFor, cacheFor } from '../context.ts';
import { loadRecipeOrThrow } from '../../pipeline/sources.ts';
import { runSteps } from '../progress.ts';

interface LockContext {
  archive?: Archive;
  lock?: Lockfile;
}

export const lockCommand: Command = {
  name: 'lock',
  summary: 'resolve and pin the recipe’s packages (RECIPE.lock.json beside it)',
  usage: 'RECIPE',
  options: ARCHIVE_OPTIONS,
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, global, out }) {
    const file = positionals[0]!;
    const loaded = loadRecipeOrThrow(file);
    const source = archiveSourceFor(loaded, values);
    checkTools(['gpgv'], source.keyring === DEBIAN_KEYRING ? [DEBIAN_KEYRING] : []);
    const cache = cacheFor(values);
    const lockPath = lockPathFor(loaded.path);
    const context = await runSteps<LockContext>(
      [
        {
          title: `Read the ${source.suite} archive (signed release and package indices)`,
          run: async (ctx) => {
            ctx.archive = await openArchive(source, cache);
          },
        },
        {
          title: 'Resolve packages',
          run: (ctx) => {
            ctx.lock = resolveLock(loaded.recipe, ctx.archive!);
          },
        },
        {
          title: `Write ${relative(process.cwd(), lockPath) || lockPath}`,
          run: (ctx) => writeLockfile(lockPath, ctx.lock!),
        },
      ],
      {},
      { quiet: global.json },
    );
    const lock = context.lock!;
    const summary = Object.entries(lock.sets).map(([name, packages]) => ({
      set: name,
      packages: packages.length,
      downloadBytes: packages.reduce((sum, p) => sum + p.size, 0),
    }));
    if (global.json) {
      out(`${JSON.stringify({ lockfile: lockPath, releaseDate: lock.distribution.releaseDate, sets: summary }, null, 2)}\n`);
    } else {
      for (const s of summary) out(`${s.set}: ${s.packages} packages, ${(s.downloadBytes / 1048576).toFixed(1)} MiB to download\n`);
      out(`locked against ${lock.distribution.codename} of ${lock.distribution.releaseDate} in ${lockPath}\n`);
    }
  },
};
