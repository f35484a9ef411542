/**
 * The default host built for real machines (`kernel.moduleSets: [storage, network]`), booted on
 * what a server has instead of virtio: its disk on SATA (q35's AHCI controller) with an Intel
 * e1000e NIC and no virtio device at all, then the same image on an NVMe disk. The initrd finds the
 * root by its root hash whatever the disk is called, and the demo page answers through the e1000e.
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

  it('boots the same image from an NVMe disk, its NIC driven by e1000e', async () => {
    const port = await freePort();
    // The debug shell's console is the one virtio device here: it only lets the test look inside.
    vm = await VirtualMachine.start({ image, diskBus: 'nvme', nic: 'e1000e', forwards: [{ host: port, guest: 80 }], shell: true });
    await vm.waitFor(/slipway-health: ok/, 300_000);
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/nvme0n1p2 verified by \/dev\/nvme0n1p3, \/var on \/dev\/nvme0n1p6/);
    const drivers = (await vm.run('for nic in /sys/class/net/en*; do basename "$(readlink "$nic/device/driver")"; done')).stdout;
    expect(drivers).toBe('e1000e');
    expect((await vm.run('findmnt -no SOURCE /var')).stdout).toBe('/dev/nvme0n1p6');
    expect(await pageThrough(port)).toMatch(/Hello from a slipway container host/);
  });
});
