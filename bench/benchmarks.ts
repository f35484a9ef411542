import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { openArchive } from '../src/assemble/archive/open.ts';
import { ContentCache, defaultCacheDir } from '../src/assemble/cache.ts';
import { fetchPackages } from '../src/assemble/download.ts';
import { resolveLock } from '../src/assemble/lock.ts';
import { parseRecipe } from '../src/recipe/load.ts';
import { archiveSourceFor } from '../src/cli/context.ts';
import { copyFileSync, readFileSync as readText } from 'node:fs';
import { measure } from './process-tree.ts';

const BIN = new URL('../bin/slipway.js', import.meta.url).pathname;
const MiB = 1024 * 1024;

export interface Measurement {
  label: string;
  value: string;
  target?: string;
  met?: boolean;
}

export interface Benchmark {
  name: string;
  description: string;
  run: () => Promise<Measurement[]>;
}

const RECIPE_PATH = new URL('../recipes/host.yaml', import.meta.url).pathname;

function defaultHost() {
  const parsed = parseRecipe(readFileSync(RECIPE_PATH, 'utf8'), RECIPE_PATH);
  if (!parsed.ok) throw parsed.error;
  const loaded = { recipe: parsed.value, path: RECIPE_PATH, dir: join(RECIPE_PATH, '..') };
  return { loaded, source: archiveSourceFor(loaded, {}) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export const benchmarks: Benchmark[] = [
  {
    name: 'resolve',
    description: 'resolve the default host from a warm index cache (signed release fetched, indices cached)',
    async run() {
      const { loaded, source } = defaultHost();
      const cache = new ContentCache(defaultCacheDir());
      await openArchive(source, cache); // warms the index cache
      const runs: number[] = [];
      let packages = 0;
      for (let i = 0; i < 3; i++) {
        const start = performance.now();
        const archive = await openArchive(source, cache);
        const lock = resolveLock(loaded.recipe, archive);
        runs.push(performance.now() - start);
        packages = lock.sets.host!.length;
      }
      const best = Math.min(...runs);
      const worst = Math.max(...runs);
      return [
        { label: 'packages in the host set', value: String(packages) },
        { label: 'best of 3', value: seconds(best) },
        { label: 'worst of 3', value: seconds(worst), target: '< 2 s', met: worst < 2000 },
      ];
    },
  },
  {
    name: 'download',
    description: 'download every package of the default host into a cold cache',
    async run() {
      const { loaded, source } = defaultHost();
      const indexCache = new ContentCache(defaultCacheDir());
      const lock = resolveLock(loaded.recipe, await openArchive(source, indexCache));
      const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-cache-'));
      try {
        const packages = Object.values(lock.sets).flat();
        const start = performance.now();
        const { stats } = await fetchPackages(packages, source, new ContentCache(dir));
        const elapsed = performance.now() - start;
        return [
          { label: 'packages', value: String(packages.length) },
          { label: 'bytes', value: `${(stats.bytes / 1048576).toFixed(1)} MiB` },
          { label: 'time', value: seconds(elapsed) },
          { label: 'throughput', value: `${(stats.bytes / 1048576 / (elapsed / 1000)).toFixed(1)} MiB/s` },
          { label: 'downloads under way at once (most)', value: String(stats.maxInFlight), target: '>= 4', met: stats.maxInFlight >= 4 },
        ];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'build',
    description: 'build the default host: cold (empty cache), then warm with only the version changed',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-build-'));
      try {
        copyFileSync(RECIPE_PATH, join(dir, 'host.yaml'));
        const cache = join(dir, 'cache');
        const common = ['--cache', cache, '--out', join(dir, 'out'), '--json'];
        const cold = await measure(process.execPath, [BIN, 'build', join(dir, 'host.yaml'), ...common], { CI: '1' });
        const warm = await measure(process.execPath, [BIN, 'build', join(dir, 'host.yaml'), ...common, '--version', '1.0.1'], { CI: '1' });
        const manifest = JSON.parse(readText(join(dir, 'out', 'host_1.0.1.manifest.json'), 'utf8')) as {
          artifacts: Record<string, { size: number }>;
          disk: { partitions: Array<{ role: string; size: number }> };
        };
        const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
        return [
          { label: 'cold build (download, decompress, build)', value: `${cold.seconds.toFixed(1)} s` },
          { label: 'warm rebuild, new version', value: `${warm.seconds.toFixed(1)} s`, target: '< 30 s', met: warm.seconds < 30 },
          { label: 'peak memory, build and its tools (warm)', value: `${warm.peakMiB.toFixed(0)} MiB`, target: '< 512 MiB', met: warm.peakMiB < 512 },
          { label: 'peak memory, build and its tools (cold)', value: `${cold.peakMiB.toFixed(0)} MiB`, target: '< 512 MiB', met: cold.peakMiB < 512 },
          { label: 'root filesystem (squashfs, zstd)', value: mib(manifest.artifacts.root!.size) },
          { label: 'UKI (kernel + initrd)', value: mib(manifest.artifacts.uki!.size) },
          { label: 'qcow2', value: mib(manifest.artifacts.qcow2!.size) },
          ...manifest.disk.partitions.map((p) => ({ label: `partition ${p.role}`, value: mib(p.size) })),
        ];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];
