/**
 * Netboot: a diskless machine boots the default host's netboot UKI by PXE from QEMU's TFTP server;
 * the UKI's initrd fetches the root and its verity data from an HTTP server on loopback (10.0.2.2
 * to the guest), runs live with /var in memory, and serves the demo page. The same machine with a
 * byte of the served root changed stops in the initrd: dm-verity refuses the block, and nothing of
 * that root runs. Given a host config with an install device, a netbooted machine installs itself
 * on its empty disk from the same folder, as the installer ISO does.
 */
import { closeSync, copyFileSync, mkdirSync, openSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { configFwCfg } from '../../src/hostconfig/deliver.ts';
import { tempDir } from '../helpers/archive.ts';
import { serveFolder, type StaticServer } from '../helpers/static-server.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

const BASE = 'host_1.0.0';
let server: StaticServer;
let served: string;
let tftp: string;
let vm: VirtualMachine | undefined;

beforeAll(async () => {
  served = tempDir('netboot-http');
  server = await serveFolder(served);
  // The URL is the build's: each run's port makes its own build.
  const { dir } = await buildVariant((recipe) => {
    recipe.netboot = { url: `http://10.0.2.2:${server.port}/images/` };
  }, 'raw,netboot');
  const out = join(dir, 'out');
  tftp = tempDir('netboot-tftp');
  copyFileSync(join(out, `${BASE}.netboot.efi`), join(tftp, `${BASE}.netboot.efi`));
  const images = join(served, 'images');
  mkdirSync(images);
  for (const suffix of ['root.squashfs', 'root.verity', 'install.json', 'install.bin']) copyFileSync(join(out, `${BASE}.${suffix}`), join(images, `${BASE}.${suffix}`));
});

afterEach(async () => {
  await vm?.dispose();
  vm = undefined;
});

afterAll(async () => {
  await server?.close();
});

describe('netboot', () => {
  it('boots a diskless machine by PXE, fetches the root over HTTP, runs live and serves the demo page', async () => {
    const port = await freePort();
    vm = await VirtualMachine.start({ netboot: { dir: tftp, bootFile: `${BASE}.netboot.efi` }, forwards: [{ host: port, guest: 80 }], shell: true });
    await vm.waitFor(/slipway-health: ok/, 300_000);
    const url = `http://10.0.2.2:${server.port}/images/${BASE}`;
    expect(vm.console).toContain(`slipway-initrd: fetching the root from ${url}.root.squashfs`);
    expect(vm.console).toContain(`slipway-initrd: root ${url}.root.squashfs verified by its verity data, /var in memory`);
    expect(server.requests).toEqual(expect.arrayContaining([`/images/${BASE}.root.squashfs`, `/images/${BASE}.root.verity`]));
    expect((await vm.run('findmnt -no FSTYPE /var')).stdout).toBe('tmpfs');
    expect((await vm.run('lsblk -dno NAME,TYPE | grep -c disk || true')).stdout).toBe('0');
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(await response.text()).toMatch(/Hello from a slipway container host/);
  });

  it('installs itself on the empty disk its host config names, reading the image from the served folder', async () => {
    const configDir = tempDir('netboot-install');
    const config = join(configDir, 'config.yaml');
    writeFileSync(config, 'hostname: netbooted\ninstall: { device: only-empty-disk }\n');
    const fwCfg = await configFwCfg(config, join(tftp, `${BASE}.netboot.efi`), configDir);
    vm = await VirtualMachine.start({ netboot: { dir: tftp, bootFile: `${BASE}.netboot.efi` }, emptyDisks: [{ size: 3 * 1024 ** 3, bus: 'virtio' }], fwCfg });
    await vm.waitFor(/slipway-install: powering off/, 600_000);
    await vm.exit();
    const url = `http://10.0.2.2:${server.port}/images/`;
    expect(vm.console).toMatch(new RegExp(`slipway-install: installing ${BASE} from ${url.replace(/\./g, '\\.')} on /dev/vda`));
    expect(vm.console).toMatch(/all of it read back and matched/);
    expect(server.requests).toEqual(expect.arrayContaining([`/images/${BASE}.install.json`, `/images/${BASE}.install.bin`]));
    const raw = join(configDir, 'disk.raw');
    await execa('qemu-img', ['convert', '-O', 'raw', vm.extraDisks[0]!.file, raw]);
    expect((await execa('sfdisk', ['-d', raw])).stdout.match(/^\S+ : start=/gm)).toHaveLength(6);
  });

  it('refuses a served root with one byte changed, before any of it runs', async () => {
    const root = join(served, 'images', `${BASE}.root.squashfs`);
    // A byte in the middle of the file, far from the superblock the mount would read first.
    const at = Math.floor(statSync(root).size / 2);
    const fd = openSync(root, 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);
    vm = await VirtualMachine.start({ netboot: { dir: tftp, bootFile: `${BASE}.netboot.efi` }, noReboot: true });
    await vm.waitFor(/does not match this UKI's root hash/, 300_000);
    await vm.exit();
    expect(vm.console).not.toMatch(/Welcome to|slipway-initrd: root .* verified/);
  });
});
