/**
 * The default host built for real machines (`kernel.moduleSets: [storage, network]`), booted on
 * what a server has instead of virtio: its disk on SATA (q35's AHCI controller) with an Intel
 * e1000e NIC and no virtio device at all. The initrd finds the root by its root hash whatever the
 * disk is called, and the demo page answers through the e1000e. (NVMe disks: installer.test
 * installs onto one and boots it with an e1000e NIC; clouds.test boots its EC2 host from one.)
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

let image: string;
let vm: VirtualMachine | undefined;

beforeAll(async () => {
  ({ image } = await buildVariant((recipe) => {
    recipe.kernel.moduleSets = ['storage', 'network'];
  }));
});

afterEach(async () => {
  await vm?.dispose();
  vm = undefined;
});

async function pageThrough(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('the default host on server hardware', () => {
  it('boots from a SATA disk with an e1000e NIC and no virtio device, and serves the demo page through it', async () => {
    const port = await freePort();
    vm = await VirtualMachine.start({ image, diskBus: 'sata', nic: 'e1000e', forwards: [{ host: port, guest: 80 }] });
    await vm.waitFor(/slipway-health: ok/, 300_000);
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/sda2 verified by \/dev\/sda3, \/var on \/dev\/sda6/);
    expect(await pageThrough(port)).toMatch(/Hello from a slipway container host/);
  });
});
