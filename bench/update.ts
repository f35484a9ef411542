/**
 * An A/B update under QEMU: bytes downloaded and time from `slipway-update apply` to the new version
 * running, the agent's write speed into the slot next to a plain dd of the same image from the same
 * server into the same partition, and the agent's peak memory.
 *
 * The dd reads the HTTP response straight from a bash /dev/tcp socket: no client, no checks, the
 * fastest any update over this network can write. Two more lines put it in context: the same
 * stream through tee into sha256sum and dd (what verifying costs with C tools), and dd from the
 * other slot's partition (no network at all).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
      const targets = join(dir, 'repo', 'targets', 'host', '2.0.0');
      const rootTarget = `/targets/host/2.0.0/${readdirSync(targets).find((name) => name.endsWith('.root.squashfs'))}`;
      const get = `exec 3<>/dev/tcp/10.0.2.2/${server.port}; printf 'GET ${rootTarget} HTTP/1.0\\r\\n\\r\\n' >&3; while IFS= read -r line <&3 && [ -n "\${line%$'\\r'}" ]; do :; done`;
      const ddRate = async (command: string) => {
        const result = await vm!.run(command, 300_000);
        const copied = /(\d+) bytes .* copied, ([\d.]+) s/.exec(result.stdout);
        if (!copied) throw new Error(`no dd summary in:\n${result.stdout}`);
        return Number(copied[1]) / 1048576 / Number(copied[2]);
      };
      // Slot B (vda4) is the one the agent writes next; running 1.0.0 is on slot A (vda2).
      const plainDd = await ddRate(`${get}; dd of=/dev/vda4 bs=1M iflag=fullblock conv=fsync <&3 2>&1; exec 3<&-`);
      const teeDd = await ddRate(`${get}; tee >(sha256sum >/dev/null) <&3 | dd of=/dev/vda4 bs=1M iflag=fullblock conv=fsync 2>&1; exec 3<&-`);
      const localDd = await ddRate('dd if=/dev/vda2 of=/dev/vda4 bs=1M count=100 conv=fsync 2>&1');

      const started = performance.now();
      const apply = await vm.run('slipway-update apply 2>&1', 900_000);
      if (apply.exitCode !== 0) throw new Error(`apply failed:\n${apply.stdout}`);
      const before = vm.console.length;
      await vm.run('systemctl reboot', 10_000).catch(() => undefined);
      await vm.waitFor(/slipway-health: ok/, 600_000, before);
      const total = (performance.now() - started) / 1000;
      const line = /slot written at ([\d.]+) MiB\/s .*; ([\d.]+) MiB downloaded, installed in ([\d.]+) s; peak memory (\d+) MiB/.exec(apply.stdout);
      if (!line) throw new Error(`no summary in:\n${apply.stdout}`);
      const [agentRate, downloaded, installSeconds, peak] = line.slice(1).map(Number) as [number, number, number, number];
      return [
        { label: 'downloaded (root, verity, UKI)', value: `${downloaded.toFixed(1)} MiB` },
        { label: 'apply: download, write, verify (TCG)', value: `${installSeconds.toFixed(1)} s` },
        { label: 'apply to 2.0.0 healthy (TCG)', value: `${total.toFixed(1)} s` },
        { label: 'agent: slot write (HTTP, sha256, fsync)', value: `${agentRate.toFixed(1)} MiB/s` },
        { label: 'plain dd from the server into the slot', value: `${plainDd.toFixed(1)} MiB/s` },
        { label: 'agent / plain dd', value: `${((agentRate / plainDd) * 100).toFixed(0)}%`, target: '>= 80%', met: agentRate / plainDd >= 0.8 },
        { label: 'for scale: tee | sha256sum + dd', value: `${teeDd.toFixed(1)} MiB/s (${((teeDd / plainDd) * 100).toFixed(0)}% of plain dd)` },
        { label: 'for scale: dd from the other slot', value: `${localDd.toFixed(1)} MiB/s` },
        { label: 'agent peak memory (RSS)', value: `${peak} MiB`, target: '< 96 MiB', met: peak < 96 },
      ];
    } finally {
      await vm?.dispose();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
