/**
 * First boot with a host config next to a first boot without one, from the same image: the config
 * as `slipway boot --config` passes it (with the plan compiled on this host), and, for scale, the
 * config alone, which the image's Node checks and compiles at boot, and the config as an EC2
 * instance's user data (the network up in the initrd, IMDSv2's token, user data and identity).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import type { FwCfgEntry } from '../qemu/args.ts';
import { chooseAccel } from '../qemu/kvm.ts';
import { VirtualMachine, type MachineOptions } from '../qemu/runner.ts';
import { startMetadataService } from '../test/helpers/metadata-server.ts';
import { configFwCfg, FW_CFG_CONFIG, FW_CFG_PLAN } from '../src/hostconfig/deliver.ts';
import type { Benchmark } from './benchmarks.ts';
import { measure } from './process-tree.ts';

const BIN = new URL('../bin/slipway.js', import.meta.url).pathname;
const RECIPE_PATH = new URL('../recipes/host.yaml', import.meta.url).pathname;
const ROUNDS = 3;

async function secondsToHealthy(image: string, fwCfg: FwCfgEntry[] = [], cloud?: MachineOptions): Promise<number> {
  const started = performance.now();
  const vm = await VirtualMachine.start({ image, fwCfg, ...cloud });
  try {
    await vm.waitFor(/slipway-health: ok/, 600_000);
    if ((fwCfg.length > 0 || cloud) && !/slipway-provision: applied/.test(vm.console)) throw new Error(`the config was not applied:\n${vm.excerpt()}`);
    const compiledHere = fwCfg.some((entry) => entry.name === FW_CFG_PLAN);
    if (compiledHere !== /applying the plan slipway compiled/.test(vm.console)) throw new Error(`the plan was ${compiledHere ? 'not ' : ''}used:\n${vm.excerpt()}`);
    return (performance.now() - started) / 1000;
  } finally {
    await vm.dispose();
  }
}

export const provisionBenchmark: Benchmark = {
  name: 'provision',
  description: 'QEMU start to slipway-health: ok on first boot, with a host config and without (same image)',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-provision-'));
    try {
      copyFileSync(RECIPE_PATH, join(dir, 'host.yaml'));
      await measure(process.execPath, [BIN, 'build', join(dir, 'host.yaml'), '--out', join(dir, 'out'), '--format', 'raw'], { CI: '1' });
      await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'key')]);
      const config = join(dir, 'config.yaml');
      writeFileSync(config, stringify({
        hostname: 'bench-1',
        users: [{ name: 'ops', groups: ['sudo'], sshAuthorizedKeys: [(await execa('cat', [join(dir, 'key.pub')])).stdout] }],
        files: [{ path: '/etc/bench/env', content: 'MODE=bench\n', owner: 'ops', mode: '0640' }],
        sysctl: { 'net.core.somaxconn': 1024 },
        timezone: 'Europe/Berlin',
      }));
      const image = join(dir, 'out', 'host_1.0.0.raw');
      const accel = await chooseAccel();
      // As `slipway boot --config` passes it (with the plan compiled here), and the config alone (compiled at boot).
      const compiled = await configFwCfg(config, image, dir);
      const alone = compiled.filter((entry) => entry.name === FW_CFG_CONFIG);
      // One boot first, not counted: it brings the image into the host's page cache.
      await secondsToHealthy(image);
      const without: number[] = [];
      const withPlan: number[] = [];
      const withConfigAlone: number[] = [];
      const fromMetadata: number[] = [];
      const service = await startMetadataService('aws', { userData: readFileSync(config), hostname: 'bench-1', sshKeys: [] });
      const ec2: MachineOptions = { smbios: { manufacturer: 'Amazon EC2' }, linkLocal: [{ address: '169.254.169.254', port: 80, hostPort: service.port }] };
      for (let round = 0; round < ROUNDS; round++) {
        without.push(await secondsToHealthy(image));
        withPlan.push(await secondsToHealthy(image, compiled));
        withConfigAlone.push(await secondsToHealthy(image, alone));
        fromMetadata.push(await secondsToHealthy(image, [], ec2));
      }
      await service.stop();
      // Medians: a boot under emulation now and then takes seconds longer for reasons of its own.
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
      const runs = (values: number[]) => `${median(values).toFixed(1)} s (${values.map((v) => v.toFixed(1)).join(', ')})`;
      const extra = median(withPlan) - median(without);
      const extraAlone = median(withConfigAlone) - median(without);
      return [
        { label: 'accelerator', value: accel },
        { label: `first boot, no config (median of ${ROUNDS})`, value: runs(without) },
        { label: 'first boot, config and plan as slipway boot --config passes them', value: runs(withPlan) },
        { label: 'provisioning costs', value: `${extra.toFixed(1)} s`, target: '<= 3 s', met: extra <= 3 },
        { label: 'for scale: the config alone, which the image\'s Node checks and compiles', value: `${runs(withConfigAlone)}, ${extraAlone.toFixed(1)} s over none` },
        { label: 'for scale: the config as EC2 user data, from IMDSv2', value: `${runs(fromMetadata)}, ${(median(fromMetadata) - median(without)).toFixed(1)} s over none` },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
