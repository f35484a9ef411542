/**
 * An A/B update under QEMU: bytes downloaded and time from `slipway-update apply` to the new version
 * running, the agent's write speed next to dd writing the same amount into the same virtual disk,
 * and the agent's peak memory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { VirtualMachine } from '../qemu/runner.ts';
import { generateKeys } from '../src/updater/keys.ts';
import { initRepository, publish } from '../src/updater/publish.ts';
import { serveFolder } from '../test/helpers/static-server.ts';
import type { Benchmark } from './benchmarks.ts';
import { measure } from './process-tree.ts';

const BIN = new URL('../bin/slipway.js', import.meta.url).pathname;
const RECIPE_PATH = new URL('../recipes/host.yaml', import.meta.url).pathname;

export const updateBenchmark: Benchmark = {
  name: 'update',
  description: 'slipway-update apply from 1.0.0 to 2.0.0 under QEMU, and a plain dd into the same disk',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-update-'));
    const server = await serveFolder(join(dir, 'repo'));
    let vm: VirtualMachine | undefined;
    try {
      generateKeys(join(dir, 'keys'));
      const trustedRoot = initRepository(join(dir, 'repo'), join(dir, 'keys'));
      const recipe = parse(readFileSync(RECIPE_PATH, 'utf8')) as Record<string, unknown>;
      recipe.update = { url: `http://10.0.2.2:${server.port}`, trustedRoot };
      recipe.debug = { shell: true };
      writeFileSync(join(dir, 'host.yaml'), stringify(recipe));
      for (const version of ['1.0.0', '2.0.0']) {
        await measure(process.execPath, [BIN, 'build', join(dir, 'host.yaml'), '--out', join(dir, version), '--version', version, '--format', 'raw'], { CI: '1' });
        await publish(join(dir, version), join(dir, 'repo'), join(dir, 'keys'));
      }
      vm = await VirtualMachine.start({ image: join(dir, '1.0.0', 'host_1.0.0.raw'), shell: true });
      await vm.waitFor(/slipway-health: ok/, 600_000);
      const started = performance.now();
      const apply = await vm.run('slipway-update apply 2>&1', 900_000);
      if (apply.exitCode !== 0) throw new Error(`apply failed:\n${apply.stdout}`);
      const before = vm.console.length;
      await vm.run('systemctl reboot', 10_000).catch(() => undefined);
      await vm.waitFor(/slipway-health: ok/, 600_000, before);
      const total = (performance.now() - started) / 1000;
      const line = /([\d.]+) MiB in ([\d.]+) s \(([\d.]+) MiB\/s\), peak memory (\d+) MiB/.exec(apply.stdout);
      if (!line) throw new Error(`no summary in:\n${apply.stdout}`);
      const [mib, , agentRate, peak] = [Number(line[1]), Number(line[2]), Number(line[3]), Number(line[4])];
      // dd writes the same amount from the running root's partition into the other slot's, synced.
      const count = Math.ceil(mib);
      const dd = await vm.run(`dd if=/dev/vda4 of=/dev/vda2 bs=1M count=${count} conv=fsync 2>&1 | tail -1`, 900_000);
      const ddSeconds = Number(/copied, ([\d.]+) s/.exec(dd.stdout)?.[1]);
      const ddRate = count / ddSeconds;
      return [
        { label: 'downloaded (root, verity, UKI)', value: `${mib.toFixed(1)} MiB` },
        { label: 'apply to 2.0.0 healthy (TCG)', value: `${total.toFixed(1)} s` },
        { label: 'agent: download, verify, write', value: `${agentRate.toFixed(1)} MiB/s` },
        { label: 'dd into the same disk', value: `${ddRate.toFixed(1)} MiB/s` },
        { label: 'agent / dd', value: `${((agentRate / ddRate) * 100).toFixed(0)}%`, target: '>= 80%', met: agentRate / ddRate >= 0.8 },
        { label: 'agent peak memory', value: `${peak} MiB`, target: '< 96 MiB', met: peak < 96 },
      ];
    } finally {
      await vm?.dispose();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
