/**
 * Where a first boot finds its host config besides fw_cfg: a config baked into the ESP by
 * `slipway build --config` (with the plan compiled from it), and a config drive (a filesystem
 * labelled SLIPWAY-CFG), with the plan `slipway config compile` wrote. The ESP comes
 * before the drive. And fw_cfg as the real `slipway boot --config` sets it.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { VirtualMachine } from '../../qemu/runner.ts';
import { tempDir } from '../helpers/archive.ts';
import { REPO_ROOT, slipway } from '../helpers/cli.ts';
import { buildVariant } from '../helpers/variant.ts';

const machines: VirtualMachine[] = [];
afterAll(async () => {
  for (const machine of machines) await machine.dispose();
});

function configFile(hostname: string, extension = 'yaml'): string {
  const file = join(tempDir('config'), `${hostname}.${extension}`);
  writeFileSync(file, stringify({ hostname, files: [{ path: '/etc/slipway-test/source', content: `${hostname}\n` }] }));
  return file;
}

/** A small FAT filesystem labelled SLIPWAY-CFG with config.yaml (and plan.tar, when given) at its top, as a config drive. */
async function configDrive(config: string, plan?: string): Promise<string> {
  const drive = join(tempDir('config-drive'), 'drive.img');
  await execa('mkfs.vfat', ['-C', '-n', 'SLIPWAY-CFG', drive, '2048']);
  await execa('mcopy', ['-i', drive, config, '::/config.yaml'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  if (plan) await execa('mcopy', ['-i', drive, plan, '::/plan.tar'], { env: { MTOOLS_SKIP_CHECK: '1' } });
  return drive;
}

async function provisionedHostname(image: string, drive: string): Promise<{ hostname: string; console: string }> {
  const vm = await VirtualMachine.start({ image, shell: true, extraDrives: [drive] });
  machines.push(vm);
  await vm.waitFor(/slipway-health: ok/, 300_000);
  const hostname = (await vm.run('hostname; cat /etc/slipway-test/source')).stdout;
  const console = vm.console;
  await vm.dispose();
  return { hostname, console };
}

/** The image the drive test builds, which the boot --config test boots again. */
let image: string;

describe('host config sources', () => {
  it('reads a config baked into the ESP before one on a config drive', async () => {
    const baked = configFile('from-esp', 'json');
    const { image } = await buildVariant(() => {}, 'raw', ['--config', baked]);
    const esp = await execa('mdir', ['-i', `${image}@@${1024 * 1024}`, '-b', '::/slipway'], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(esp.stdout).toMatch(/config\.json/);
    expect(esp.stdout).toMatch(/plan\.tar/);
    const { hostname, console } = await provisionedHostname(image, await configDrive(configFile('from-drive')));
    expect(console).toMatch(/slipway-initrd: host config from the ESP's \/slipway\/config\.json/);
    expect(console).toMatch(/slipway-initrd: applying the plan slipway compiled from it for this image/);
    expect(hostname).toBe('from-esp\nfrom-esp');
  });

  // A drive's config without a plan is compiled at boot as any other is (clouds.test boots drives
  // of that kind: cidata and config-2).
  it('reads a config drive labelled SLIPWAY-CFG, with the plan slipway config compile wrote', async () => {
    ({ image } = await buildVariant(() => {}));
    const config = configFile('compiled');
    const plan = join(tempDir('plan'), 'plan.tar');
    const compiled = await slipway(['config', 'compile', config, '--image', image, '--out', plan]);
    expect(compiled.exitCode, compiled.stderr).toBe(0);
    const withPlan = await provisionedHostname(image, await configDrive(config, plan));
    expect(withPlan.console).toMatch(/slipway-initrd: host config from config\.yaml on the config drive \/dev\/vdb/);
    expect(withPlan.console).toMatch(/slipway-initrd: applying the plan slipway compiled from it for this image/);
    expect(withPlan.hostname).toBe('compiled\ncompiled');
  });

  it('gets the config and its plan by fw_cfg from slipway boot --config, and leaves nothing behind', async () => {
    const tmp = tempDir('boot-tmp');
    const boot = execa(process.execPath, [join(REPO_ROOT, 'bin/slipway.js'), 'boot', image, '--config', configFile('from-boot')], {
      reject: false, stdin: 'ignore', all: true, env: { CI: '1', TMPDIR: tmp },
    });
    let output = '';
    boot.all!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 300_000;
    while (!/slipway-health: ok|slipway-initrd: error/.test(output) && boot.exitCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    boot.kill('SIGINT');
    await boot;
    expect(output).toMatch(/slipway-initrd: host config from fw_cfg opt\/slipway\/config/);
    expect(output).toMatch(/slipway-initrd: applying the plan slipway compiled from it for this image/);
    expect(output).toMatch(/slipway-provision: applied fw_cfg opt\/slipway\/config \(host from-boot\)/);
    expect(output).toMatch(/slipway-health: ok/);
    // Only slipway's own temporary folders (tsx keeps its cache there too).
    expect(readdirSync(tmp).filter((name) => name.startsWith('slipway-'))).toEqual([]);
  });
});
