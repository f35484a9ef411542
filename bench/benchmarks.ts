import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { chooseAccel } from '../qemu/kvm.ts';
import { VirtualMachine } from '../qemu/runner.ts';
import { openArchive } from '../src/assemble/archive/open.ts';
import { ContentCache, defaultCacheDir } from '../src/assemble/cache.ts';
import { fetchPackages } from '../src/assemble/download.ts';
import { resolveLock, type Lockfile } from '../src/assemble/lock.ts';
import { archiveSourceOf } from '../src/pipeline/sources.ts';
import { parseRecipe } from '../src/recipe/load.ts';
import { secondsToDemoPage } from './demo-page.ts';
import { FLOOR_MARKER, buildFloorDisk } from './floor.ts';
import { measure } from './process-tree.ts';
import { installBenchmark } from './install.ts';
import { provisionBenchmark } from './provision.ts';
import { trustBenchmark } from './trust.ts';
import { updateBenchmark } from './update.ts';

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
  return { loaded, source: archiveSourceOf(loaded, undefined) };
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
        const manifest = JSON.parse(readFileSync(join(dir, 'out', 'host_1.0.1.manifest.json'), 'utf8')) as {
          artifacts: Record<string, { size: number }>;
          disk: { partitions: Array<{ role: string; size: number }> };
        };
        const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
        const rootSize = manifest.artifacts.root!.size;
        const ukiSize = manifest.artifacts.uki!.size;
        return [
          { label: 'cold build (download, decompress, build)', value: `${cold.seconds.toFixed(1)} s`, target: '<= 25 s', met: cold.seconds <= 25 },
          { label: 'warm rebuild, new version', value: `${warm.seconds.toFixed(1)} s`, target: '<= 10 s', met: warm.seconds <= 10 },
          { label: 'peak memory, build and its tools (warm)', value: `${warm.peakMiB.toFixed(0)} MiB`, target: '< 512 MiB', met: warm.peakMiB < 512 },
          { label: 'peak memory, build and its tools (cold)', value: `${cold.peakMiB.toFixed(0)} MiB`, target: '< 512 MiB', met: cold.peakMiB < 512 },
          { label: 'root filesystem (squashfs, zstd)', value: mib(rootSize), target: '<= 80 MiB', met: rootSize <= 80 * MiB },
          { label: 'UKI (kernel + initrd)', value: mib(ukiSize), target: '<= 12 MiB', met: ukiSize <= 12 * MiB },
          { label: 'qcow2', value: mib(manifest.artifacts.qcow2!.size) },
          ...manifest.disk.partitions.map((p) => ({ label: `partition ${p.role}`, value: mib(p.size) })),
        ];
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'boot',
    description: 'QEMU start to the demo page answering, next to the floor (OVMF + systemd-boot + kernel + busybox initrd)',
    async run() {
      const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-boot-'));
      const machines: VirtualMachine[] = [];
      try {
        const recipe = parseYaml(readFileSync(RECIPE_PATH, 'utf8')) as Record<string, unknown>;
        recipe.debug = { shell: true }; // to read the guest's memory; the shell costs nothing at boot
        writeFileSync(join(dir, 'host.yaml'), stringifyYaml(recipe));
        await measure(process.execPath, [BIN, 'build', join(dir, 'host.yaml'), '--out', join(dir, 'out'), '--format', 'raw'], { CI: '1' });
        const lock = JSON.parse(readFileSync(join(dir, 'host.lock.json'), 'utf8')) as Lockfile;
        const cache = new ContentCache(defaultCacheDir());
        const tar = (set: string, pattern: RegExp) => cache.pathFor('unpacked', lock.sets[set]!.find((p) => pattern.test(p.name))!.sha256, '.tar');
        const floorDisk = await buildFloorDisk(join(dir, 'floor'), {
          kernel: tar('host', /^linux-image-\d/),
          busybox: tar('container:web', /^busybox-static$/),
          systemdBoot: tar('host', /^systemd-boot-efi$/),
        }, 0);

        const accel = await chooseAccel();
        const floorRuns: number[] = [];
        const hostRuns: number[] = [];
        let used = 0;
        // Interleaved, so a slow moment of the build host weighs on both alike; medians of 3.
        for (let round = 0; round < 3; round++) {
          const floorStart = performance.now();
          const floor = await VirtualMachine.start({ image: floorDisk, noReboot: true });
          machines.push(floor);
          await floor.waitFor(new RegExp(FLOOR_MARKER), 180_000);
          floorRuns.push((performance.now() - floorStart) / 1000);
          await floor.dispose();

          const port = 18000 + Math.floor(Math.random() * 1000);
          const hostStart = performance.now();
          const host = await VirtualMachine.start({ image: join(dir, 'out', 'host_1.0.0.raw'), forwards: [{ host: port, guest: 80 }], shell: true });
          machines.push(host);
          hostRuns.push(await secondsToDemoPage(host, port, hostStart));
          await host.waitFor(/slipway-health: ok/, 120_000);
          used = Math.max(used, Number((await host.run("awk '/MemTotal/ {t=$2} /MemAvailable/ {a=$2} END {print int((t-a)/1024)}' /proc/meminfo")).stdout));
          await host.dispose();
        }
        const median = (runs: number[]) => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
        const runs = (values: number[]) => values.map((v) => v.toFixed(1)).join(', ');
        const floorSeconds = median(floorRuns);
        const hostSeconds = median(hostRuns);
        return [
          { label: 'accelerator', value: accel },
          { label: 'floor: QEMU start to busybox marker', value: `${floorSeconds.toFixed(1)} s (${runs(floorRuns)})` },
          { label: 'host: QEMU start to the demo page', value: `${hostSeconds.toFixed(1)} s (${runs(hostRuns)})` },
          { label: 'host / floor (medians of 3)', value: `${(hostSeconds / floorSeconds).toFixed(2)}x`, target: '<= 2.5x', met: hostSeconds / floorSeconds <= 2.5 },
          { label: 'guest memory in use after boot (most of 3)', value: `${used} MiB`, target: '<= 200 MiB', met: used <= 200 },
        ];
      } finally {
        for (const machine of machines) await machine.dispose();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  provisionBenchmark,
  updateBenchmark,
  trustBenchmark,
  installBenchmark,
];
