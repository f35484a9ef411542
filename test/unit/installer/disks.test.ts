/**
 * The installer's choice of disk, on a made-up sysfs (the folders and files the kernel shows) and
 * a stand-in for blkid's probe: the refusals that keep it off disks it was not told to use, and the
 * words it says them in. The end-to-end test (test/e2e/installer.test.ts) runs it on real devices.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InstallError } from '../../../src/errors.ts';
import { chooseDisk, diskContents, listDisks, type System } from '../../../src/installer/disks.ts';
import { InstallSchema } from '../../../src/hostconfig/schema.ts';

const GiB = 1024 ** 3;

interface FakeDisk {
  name: string;
  size: number;
  model?: string;
  ro?: boolean;
  blockSize?: number;
  found?: Record<string, string>;
  partitions?: Array<{ size: number; found?: Record<string, string> }>;
}

function machine(disks: FakeDisk[]): System {
  const sysfs = mkdtempSync(join(tmpdir(), 'slipway-sysfs-'));
  const probes = new Map<string, Record<string, string>>();
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `${text}\n`);
  };
  for (const disk of disks) {
    const dir = join(sysfs, 'block', disk.name);
    write(join(dir, 'size'), String(disk.size / 512));
    write(join(dir, 'ro'), disk.ro ? '1' : '0');
    write(join(dir, 'queue', 'logical_block_size'), String(disk.blockSize ?? 512));
    if (disk.model) write(join(dir, 'device', 'model'), `${disk.model}   `);
    probes.set(`/dev/${disk.name}`, disk.found ?? {});
    (disk.partitions ?? []).forEach((part, index) => {
      const name = `${disk.name}${disk.name.startsWith('nvme') ? 'p' : ''}${index + 1}`;
      write(join(dir, name, 'partition'), String(index + 1));
      write(join(dir, name, 'size'), String(part.size / 512));
      probes.set(`/dev/${name}`, part.found ?? {});
    });
  }
  // by-id links as udev makes them: nvme-MODEL_SERIAL, to each disk.
  const links = new Map(disks.map((d) => [`/dev/disk/by-id/nvme-${d.name}`, `/dev/${d.name}`]));
  return { sysfs, probe: (device) => probes.get(device) ?? {}, resolve: (path) => links.get(path) ?? (probes.has(path) ? path : undefined) };
}

const settings = (input: Record<string, unknown>) => InstallSchema.parse(input);
const used: FakeDisk = {
  name: 'nvme0n1', size: 3 * GiB, model: 'QEMU NVMe Ctrl', found: { PTTYPE: 'gpt' },
  partitions: [{ size: 64 * 1024 ** 2, found: { TYPE: 'ext4', LABEL: 'data' } }, { size: 128 * 1024 ** 2 }],
};
const empty: FakeDisk = { name: 'nvme1n1', size: 4 * GiB, model: 'QEMU NVMe Ctrl' };

describe('the disks the installer sees', () => {
  it('lists disks with what is on them, leaving out CD drives, loop, RAM and device-mapper devices', () => {
    const system = machine([used, empty, { name: 'sr0', size: GiB }, { name: 'loop0', size: GiB }, { name: 'dm-0', size: GiB }, { name: 'zram0', size: GiB }]);
    const disks = listDisks(system);
    expect(disks.map((d) => d.name)).toEqual(['nvme0n1', 'nvme1n1']);
    expect(diskContents(disks[0]!)).toBe('a gpt partition table with 2 partitions: nvme0n1p1 64.0 MiB ext4 "data", nvme0n1p2 128.0 MiB');
    expect(diskContents(disks[1]!)).toBe('nothing');
    expect(disks[0]!.model).toBe('QEMU NVMe Ctrl');
  });

  it('picks the only empty disk, never the medium', () => {
    const system = machine([used, empty, { name: 'sda', size: GiB }]);
    expect(chooseDisk(system, settings({ device: 'only-empty-disk' }), { medium: '/dev/sda', minimumSize: 2 * GiB }).device).toBe('/dev/nvme1n1');
  });

  it('refuses the only-empty-disk rule when no disk or several disks are empty, naming each disk and what it holds', () => {
    expect(() => chooseDisk(machine([used]), settings({ device: 'only-empty-disk' }), { minimumSize: GiB })).toThrow(
      'install.device only-empty-disk: no disk is empty (/dev/nvme0n1 (QEMU NVMe Ctrl, 3.0 GiB) holds a gpt partition table with 2 partitions',
    );
    expect(() => chooseDisk(machine([empty, { ...empty, name: 'sdb' }]), settings({ device: 'only-empty-disk' }), { minimumSize: GiB })).toThrow('2 disks are empty');
  });

  it('refuses a disk that holds partitions unless wipe is set, saying which disk and what is on it', () => {
    const system = machine([used, empty]);
    const named = (wipe: boolean) => chooseDisk(system, settings({ device: '/dev/disk/by-id/nvme-nvme0n1', wipe }), { minimumSize: GiB });
    expect(() => named(false)).toThrow(InstallError);
    expect(() => named(false)).toThrow(
      '/dev/nvme0n1 (QEMU NVMe Ctrl, 3.0 GiB) holds a gpt partition table with 2 partitions: nvme0n1p1 64.0 MiB ext4 "data", nvme0n1p2 128.0 MiB; nothing was written to it',
    );
    expect(named(true).device).toBe('/dev/nvme0n1');
  });

  it('refuses a disk that holds this image already, even with wipe: a reboot back into the installer installs nothing', () => {
    const installed: FakeDisk = { name: 'nvme0n1', size: 4 * GiB, found: { PTTYPE: 'gpt' }, partitions: [{ size: 64 * 1024 ** 2, found: { PART_ENTRY_UUID: 'AB-CD' } }] };
    const system = machine([installed]);
    const holdsImage = (disk: { partitions: Array<{ uuid?: string }> }) => disk.partitions.some((p) => p.uuid === 'ab-cd');
    expect(() => chooseDisk(system, settings({ device: '/dev/nvme0n1', wipe: true }), { minimumSize: GiB, holdsImage })).toThrow('/dev/nvme0n1 (4.0 GiB) holds this image already; nothing was written to it');
  });

  it('refuses a partition, the medium itself, and a path that leads to no disk', () => {
    const system = machine([used, empty]);
    const choose = (device: string, medium?: string) => chooseDisk(system, settings({ device, wipe: true }), { minimumSize: GiB, medium });
    expect(() => choose('/dev/nvme0n1p1')).toThrow('install.device /dev/nvme0n1p1 is /dev/nvme0n1p1, a partition of /dev/nvme0n1');
    expect(() => choose('/dev/nvme1n1', '/dev/nvme1n1')).toThrow('is the medium this installer runs from');
  });

  it('refuses a disk that is too small, read-only or has 4096-byte sectors', () => {
    const rule = settings({ device: 'only-empty-disk' });
    expect(() => chooseDisk(machine([{ ...empty, size: GiB }]), rule, { minimumSize: 2 * GiB })).toThrow('is smaller than the image (2.0 GiB)');
    expect(() => chooseDisk(machine([{ ...empty, blockSize: 4096 }]), rule, { minimumSize: GiB })).toThrow('has 4096-byte sectors');
    expect(() => chooseDisk(machine([{ ...empty, ro: true }, { ...empty, name: 'sdb', ro: true }]), rule, { minimumSize: GiB })).toThrow('no disk is empty');
  });

  it('says a named device is not there, and lists the disks there are', () => {
    const attempt = () => chooseDisk(machine([empty]), settings({ device: '/dev/disk/by-id/nvme-nothing' }), { minimumSize: GiB });
    expect(attempt).toThrow('install.device /dev/disk/by-id/nvme-nothing is no block device here');
    try {
      attempt();
    } catch (error) {
      expect((error as InstallError).hint).toBe('the disks here are /dev/nvme1n1 (QEMU NVMe Ctrl, 4.0 GiB): name one of them, best by a /dev/disk/by-id/ path');
    }
  });
});

describe('install settings', () => {
  it('take a path under /dev or the only-empty-disk rule, and default to no wipe and a power-off', () => {
    expect(settings({ device: '/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_x' })).toEqual({ device: '/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_x', wipe: false, then: 'poweroff' });
    expect(InstallSchema.safeParse({ device: 'sda' }).success).toBe(false);
    expect(InstallSchema.safeParse({ device: '/dev/sda; rm -rf /' }).success).toBe(false);
    expect(InstallSchema.safeParse({ device: '/dev/sda', then: 'halt' }).success).toBe(false);
  });
});
