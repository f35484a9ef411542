/**
 * The installer ISO (`build --format iso`) on machines that look like servers, with no virtio
 * device: the ISO in a SATA CD drive, NVMe disks, an e1000e NIC. From the ISO the host runs live
 * and, told by its host config (passed by fw_cfg), installs on the empty NVMe disk and powers off;
 * that disk alone then boots the host the config describes, which takes an A/B update from the
 * lab's repository. A disk that holds partitions and data is refused, and not one byte of it changes.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { configFwCfg } from '../../src/hostconfig/deliver.ts';
import { sha256File } from '../../src/shared/hash.ts';
import { tempDir } from '../helpers/archive.ts';
import { makeKeyPair, ssh, type KeyPair } from '../helpers/ssh.ts';
import { buildVersion, openLab, publishVersion, waitForAgentLine, waitForHealth, type UpdateLab } from '../helpers/update-lab.ts';
import { freePort } from '../helpers/variant.ts';

const GiB = 1024 ** 3;
/** udev's stable name for the NVMe disk after the CD drive (serials follow the harness's attach order). */
const SECOND_NVME = '/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_slipway-disk1';
/** The default host, built for real machines: drivers for NVMe, SATA and Intel NICs. */
const forServers = (recipe: Record<string, any>) => {
  recipe.kernel.moduleSets = ['storage', 'network'];
};

let lab: UpdateLab;
let iso: string;
let key: KeyPair;
let vm: VirtualMachine | undefined;

beforeAll(async () => {
  lab = await openLab();
  key = await makeKeyPair('installer');
  iso = join(await buildVersion(lab, '1.0.0', forServers, undefined, 'raw,iso'), 'host_1.0.0.iso');
  await buildVersion(lab, '2.0.0', forServers);
  await publishVersion(lab, '2.0.0');
}, 900_000);

afterEach(async () => {
  await vm?.dispose();
  vm = undefined;
});

afterAll(async () => {
  await lab?.server.close();
});

/** A host config, written as YAML (JSON is YAML), and what QEMU passes of it by fw_cfg. */
async function configFor(config: Record<string, unknown>): Promise<Array<{ name: string; file: string }>> {
  const dir = tempDir('installer-config');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, JSON.stringify(config));
  return configFwCfg(file, iso, dir);
}

/** Root logs in with the test's key (sshd reads root's keys from /etc here: its home is on the read-only root). */
function rootLogin(publicKey: string): Array<Record<string, unknown>> {
  return [
    { path: '/etc/ssh/sshd_config.d/20-root-key.conf', content: 'Match User root\n    AuthorizedKeysFile /etc/ssh/root_authorized_keys\n' },
    { path: '/etc/ssh/root_authorized_keys', mode: '0600', content: `${publicKey}\n` },
  ];
}

describe('the installer ISO', () => {
  it('installs on the empty NVMe disk of a machine without virtio, which then boots alone into the provisioned host and updates A/B', async () => {
    const fwCfg = await configFor({
      hostname: 'installed-host',
      users: [{ name: 'admin', sshAuthorizedKeys: [key.publicKey] }],
      files: rootLogin(key.publicKey),
      install: { device: SECOND_NVME },
    });
    vm = await VirtualMachine.start({ cdrom: iso, emptyDisks: [{ size: 4 * GiB, bus: 'nvme' }], nic: 'e1000e', fwCfg });
    await vm.waitFor(/slipway-install: powering off/, 600_000);
    await vm.exit();
    const log = vm.console;
    expect(log).toMatch(/slipway-initrd: running live from \/dev\/sr0/);
    expect(log).toMatch(/slipway-install: installing host_1\.0\.0 from the medium on \/dev\/nvme0n1 \(QEMU NVMe Ctrl, 4\.0 GiB\)/);
    expect(log).toMatch(/slipway-install: written \d+ of \d+ MiB \(50%\)/);
    expect(log).toMatch(/slipway-install: host_1\.0\.0 is on \/dev\/nvme0n1: .* all of it read back and matched/);
    expect(log).toMatch(/the host config is on the installed ESP \(\/dev\/nvme0n1p1:\/slipway\/config\.yaml\)/);
    const disk = join(tempDir('installed'), 'server.qcow2');
    copyFileSync(vm.extraDisks[0]!.file, disk);
    await vm.dispose();

    // The partition table was made for the 4 GiB disk: its backup is in the disk's last sectors.
    const raw = join(tempDir('installed-raw'), 'disk.raw');
    await execa('qemu-img', ['convert', '-O', 'raw', disk, raw]);
    expect((await execa('sfdisk', ['-d', raw])).stdout).toMatch(new RegExp(`last-lba: ${(4 * GiB) / 512 - 34}\n`));
    await execa('sfdisk', ['--verify', raw]);

    const [http, sshPort] = [await freePort(), await freePort()];
    vm = await VirtualMachine.start({ image: disk, diskBus: 'nvme', nic: 'e1000e', forwards: [{ host: http, guest: 80 }, { host: sshPort, guest: 22 }] });
    await waitForHealth(vm, 0);
    expect(vm.console).toMatch(/BdsDxe: starting Boot\d+ "UEFI QEMU NVMe Ctrl/);
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/nvme0n1p2 verified by \/dev\/nvme0n1p3, \/var on \/dev\/nvme0n1p6/);
    expect(vm.console).toMatch(/slipway-provision: applied the ESP's \/slipway\/config\.yaml \(host installed-host\)/);
    expect(await (await fetch(`http://127.0.0.1:${http}/`)).text()).toMatch(/Hello from version 1\.0\.0/);
    // The address came from the DHCP server of QEMU's user network, as systemd-networkd's lease says.
    const login = await ssh(sshPort, 'admin', key, 'hostname; basename "$(readlink /sys/class/net/en*/device/driver)"; grep -h "^ADDRESS=" /run/systemd/netif/leases/*');
    expect(login.stdout.split('\n')).toEqual(['installed-host', 'e1000e', 'ADDRESS=10.0.2.15']);

    const apply = await ssh(sshPort, 'root', key, 'slipway-update apply 2>&1');
    expect(apply.stdout).toMatch(/2\.0\.0/);
    const before = vm.console.length;
    await ssh(sshPort, 'root', key, 'systemctl reboot');
    await vm.waitFor(/slipway-initrd: root \/dev\/nvme0n1p4 verified by \/dev\/nvme0n1p5, \/var on \/dev\/nvme0n1p6/, 300_000, before);
    await waitForHealth(vm, before);
    await waitForAgentLine(vm, '2.0.0 is good');
    expect(await (await fetch(`http://127.0.0.1:${http}/`)).text()).toMatch(/Hello from version 2\.0\.0/);
    expect((await ssh(sshPort, 'admin', key, 'hostname')).stdout).toBe('installed-host');
  }, 900_000);

  it('refuses a disk that holds partitions and data, and leaves every byte of it as it was', async () => {
    const dir = tempDir('installer-refused');
    const data = join(dir, 'data.raw');
    await execa('truncate', ['-s', '3G', data]);
    await execa('sfdisk', ['-q', data], { input: 'label: gpt\n,64M,L\n,128M,L\n' });
    const files = tempDir('installer-files');
    writeFileSync(join(files, 'precious'), 'keep me\n');
    await execa('mkfs.ext4', ['-q', '-L', 'data', '-d', files, '-E', 'offset=1048576', data, '65536k']);
    const before = await sha256File(data);
    const fwCfg = await configFor({ hostname: 'refused', install: { device: SECOND_NVME } });
    vm = await VirtualMachine.start({ cdrom: iso, disks: [{ file: data, bus: 'nvme' }], nic: 'e1000e', fwCfg });
    const refusal = await vm.waitFor(/slipway-install: error: [^\n]*/, 600_000);
    expect(refusal[0]).toMatch(/error: \/dev\/nvme0n1 \(QEMU NVMe Ctrl, 3\.0 GiB\) holds a gpt partition table with 2 partitions: nvme0n1p1 64\.0 MiB ext4 "data", nvme0n1p2 128\.0 MiB; nothing was written to it/);
    await vm.waitFor(/slipway-install: hint: [^\n]*install\.wipe: true/, 60_000);
    await vm.kill();
    expect(await sha256File(data)).toBe(before);
  });
});
