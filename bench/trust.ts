/**
 * What the chain of trust costs at boot: the default host as built (no firmware checks, no TPM),
 * signed and booted under Secure Boot firmware that enrolled its keys, and signed with /var sealed
 * to a software TPM. Each machine boots once first (enrolling its keys, sealing /var), and is then
 * powered on again three times, interleaved with the others, from QEMU's start to the demo page.
 * No target: the differences are reported, and docs/design.md explains them.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { VirtualMachine, type MachineOptions } from '../qemu/runner.ts';
import type { Benchmark, Measurement } from './benchmarks.ts';
import { secondsToDemoPage } from './demo-page.ts';
import { measure } from './process-tree.ts';

const BIN = new URL('../bin/slipway.js', import.meta.url).pathname;
const RECIPE_PATH = new URL('../recipes/host.yaml', import.meta.url).pathname;

interface Variant {
  label: string;
  build: string[];
  sealed?: boolean;
  machine: Partial<MachineOptions>;
}

/** Seconds from a power-on to the demo page answering on `port`. */
async function powerOnToPage(vm: VirtualMachine, port: number): Promise<number> {
  const start = performance.now();
  await vm.boot();
  return secondsToDemoPage(vm, port, start);
}

export const trustBenchmark: Benchmark = {
  name: 'trust',
  description: 'power-on to the demo page: as built, under Secure Boot, and under Secure Boot with /var sealed to the TPM',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-trust-'));
    const machines: VirtualMachine[] = [];
    try {
      await measure(process.execPath, [BIN, 'keygen', '--secure-boot', join(dir, 'keys')], {});
      const variants: Variant[] = [
        { label: 'as built', build: [], machine: {} },
        { label: 'Secure Boot', build: ['--secure-boot-keys', join(dir, 'keys')], machine: { secureBoot: true } },
        { label: 'Secure Boot + sealed /var', build: ['--secure-boot-keys', join(dir, 'keys')], sealed: true, machine: { secureBoot: true, tpm: true } },
      ];
      const results: Measurement[] = [];
      const booted: Array<{ variant: Variant; vm: VirtualMachine; port: number; runs: number[] }> = [];
      for (const [index, variant] of variants.entries()) {
        const recipe = parse(readFileSync(RECIPE_PATH, 'utf8')) as Record<string, any>;
        if (variant.sealed) recipe.disk = { ...recipe.disk, encryption: 'tpm2' };
        const folder = join(dir, `variant-${index}`);
        writeFileSync(join(dir, `host-${index}.yaml`), stringify(recipe));
        await measure(process.execPath, [BIN, 'build', join(dir, `host-${index}.yaml`), '--out', folder, '--format', 'raw', ...variant.build], { CI: '1' });
        const uki = statSync(join(folder, 'host_1.0.0.efi')).size;
        results.push({ label: `${variant.label}: UKI`, value: `${(uki / 1048576).toFixed(1)} MiB` });
        const port = 18000 + Math.floor(Math.random() * 1000);
        // The first boot enrolls the keys (and seals /var): it is timed on its own.
        const start = performance.now();
        const vm = await VirtualMachine.start({ image: join(folder, 'host_1.0.0.raw'), forwards: [{ host: port, guest: 80 }], ...variant.machine });
        machines.push(vm);
        await vm.waitFor(/slipway-health: ok/, 600_000);
        results.push({ label: `${variant.label}: first boot to healthy`, value: `${((performance.now() - start) / 1000).toFixed(1)} s` });
        await vm.kill();
        booted.push({ variant, vm, port, runs: [] });
      }
      // Interleaved, so a slow moment of the build host weighs on all alike; medians of 3.
      for (let round = 0; round < 3; round++) {
        for (const machine of booted) {
          machine.runs.push(await powerOnToPage(machine.vm, machine.port));
          await machine.vm.kill();
        }
      }
      const median = (runs: number[]) => [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
      const plain = median(booted[0]!.runs);
      for (const { variant, runs } of booted) {
        const seconds = median(runs);
        const extra = variant === booted[0]!.variant ? '' : `, ${seconds - plain >= 0 ? '+' : ''}${(seconds - plain).toFixed(1)} s`;
        results.push({ label: `${variant.label}: power-on to the page`, value: `${seconds.toFixed(1)} s (${runs.map((r) => r.toFixed(1)).join(', ')}${extra})` });
      }
      return results;
    } finally {
      for (const machine of machines) await machine.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
