/**
 * The installer against a plain dd, in one run, on the same kind of machine: the default host built
 * for servers with its ISO, booted from a SATA CD drive beside an empty 4 GiB NVMe disk and an e1000e
 * NIC. One machine installs (power-on to power-off, and the installer's own count of bytes and
 * rate); the other, booted the same way without an install device, copies the raw image from a
 * second NVMe disk onto its empty one with `dd bs=4M conv=fsync`, as an image writer would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { VirtualMachine } from '../qemu/runner.ts';
import { configFwCfg } from '../src/hostconfig/deliver.ts';
import type { Benchmark, Measurement } from './benchmarks.ts';
import { measure } from './process-tree.ts';

const BIN = new URL('../bin/slipway.js', import.meta.url).pathname;
const RECIPE_PATH = new URL('../recipes/host.yaml', import.meta.url).pathname;
const GiB = 1024 ** 3;
const TARGET = '/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_slipway-disk1';
const SOURCE = '/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_slipway-disk2';

/** The fw_cfg entries for a host config. */
async function config(dir: string, name: string, iso: string, value: Record<string, unknown>) {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(value));
  const planDir = mkdtempSync(join(dir, `${name}-plan-`));
  return configFwCfg(file, iso, planDir);
}

export const installBenchmark: Benchmark = {
  name: 'install',
  description: 'the installer ISO onto an empty NVMe disk, next to a plain dd of the raw image onto the same kind of disk',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-bench-install-'));
    try {
      const recipe = parse(readFileSync(RECIPE_PATH, 'utf8')) as Record<string, any>;
      recipe.kernel.moduleSets = ['storage', 'network'];
      writeFileSync(join(dir, 'host.yaml'), stringify(recipe));
      const out = join(dir, 'out');
      await measure(process.execPath, [BIN, 'build', join(dir, 'host.yaml'), '--out', out, '--format', 'raw,iso'], { CI: '1' });
      const iso = join(out, 'host_1.0.0.iso');
      const raw = join(out, 'host_1.0.0.raw');
      const machine = { cdrom: iso, emptyDisks: [{ size: 4 * GiB, bus: 'nvme' as const }], nic: 'e1000e' as const };

      const installer = await VirtualMachine.start({ ...machine, fwCfg: await config(dir, 'install', iso, { install: { device: TARGET } }) });
      const installStart = performance.now();
      await installer.waitFor(/slipway-install: powering off/, 900_000);
      await installer.exit();
      const installSeconds = (performance.now() - installStart) / 1000;
      const summary = /slipway-install: host_1\.0\.0 is on \S+: ([\d.]+) MiB at ([\d.]+) MiB\/s written, all of it read back and matched, in ([\d.]+) s/.exec(installer.console);
      await installer.dispose();
      if (!summary) throw new Error('the installer printed no summary line');

      // The source disk is an overlay of the raw image, so dd reads the very bytes the build wrote.
      const source = join(dir, 'source.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', raw, '-F', 'raw', source]);
      const copy = `dd if=${SOURCE} of=${TARGET} bs=4M conv=fsync 2>&1 | sed "s/^/bench-dd: /" >/dev/console; systemctl poweroff`;
      const ddConfig = await config(dir, 'dd', iso, {
        units: [{ name: 'bench-dd.service', enabled: true, content: `[Unit]\nAfter=systemd-udev-settle.service\nWants=systemd-udev-settle.service\n[Service]\nType=oneshot\nExecStart=/bin/sh -c '${copy}'\n[Install]\nWantedBy=multi-user.target\n` }],
      });
      const dd = await VirtualMachine.start({ ...machine, disks: [{ file: source, bus: 'nvme' }], fwCfg: ddConfig });
      const copied = await dd.waitFor(/bench-dd: (\d+) bytes \([^)]*\) copied, ([\d.]+) s, [^\n]*/, 900_000);
      await dd.exit();
      await dd.dispose();

      const [written, rate, installerSeconds] = [Number(summary[1]), Number(summary[2]), Number(summary[3])];
      const ddMiB = Number(copied[1]) / 1048576;
      const ddSeconds = Number(copied[2]);
      const ddRate = ddMiB / ddSeconds;
      const results: Measurement[] = [
        { label: 'installer: power-on to power-off', value: `${installSeconds.toFixed(1)} s` },
        { label: 'installer: write, read back, table', value: `${installerSeconds.toFixed(1)} s` },
        { label: 'installer: bytes written', value: `${written.toFixed(0)} MiB` },
        { label: 'installer: write rate', value: `${rate.toFixed(1)} MiB/s`, target: `>= half of dd's`, met: rate >= ddRate / 2 },
        { label: 'dd: bytes written (the raw disk)', value: `${ddMiB.toFixed(0)} MiB` },
        { label: 'dd: time', value: `${ddSeconds.toFixed(1)} s` },
        { label: 'dd: write rate', value: `${ddRate.toFixed(1)} MiB/s` },
        { label: 'installer time (with read-back) vs dd', value: `${installerSeconds.toFixed(1)} s vs ${ddSeconds.toFixed(1)} s`, target: 'shorter', met: installerSeconds < ddSeconds },
      ];
      return results;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
