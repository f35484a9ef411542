/**
 * The machine's disks as the installer sees them: what sysfs says of each (size, model, read-only,
 * the partitions the kernel found) and what blkid finds on it (a partition table, a filesystem),
 * and the choice of the one to install on, with the refusals that protect the others.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../errors.ts';
import { ONLY_EMPTY_DISK, type InstallSettings } from '../hostconfig/schema.ts';
import { formatSize as formatBytes } from '../recipe/size.ts';

export interface Partition {
  name: string;
  size: number;
  /** What blkid finds in it: "ext4 \"data\"", say; empty when it finds nothing. */
  content: string;
  /** Its GPT partition UUID, lower-case, when it has one. */
  uuid?: string;
}

export interface Disk {
  name: string;
  device: string;
  size: number;
  model: string;
  readOnly: boolean;
  logicalBlockSize: number;
  /** What blkid finds on the whole disk: "a gpt partition table", "an ext4 filesystem", or empty. */
  content: string;
  partitions: Partition[];
}

/** Where the installer reads the machine from; tests point it at a made-up sysfs. */
export interface System {
  sysfs: string;
  /** blkid's low-level probe of a device: its KEY=value pairs, none when it finds nothing. */
  probe(device: string): Record<string, string>;
  /** The block device a path leads to (/dev/disk/by-id/... → /dev/nvme0n1); undefined if none does. */
  resolve(path: string): string | undefined;
}

export const LIVE_SYSTEM: System = {
  sysfs: '/sys',
  probe(device) {
    let text: string;
    try {
      text = execFileSync('blkid', ['-p', '-o', 'export', device], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // Exit 2 is "nothing found"; anything else (conflicting signatures, an unreadable disk) is not empty.
      const { status, stderr } = error as { status?: number; stderr?: string };
      if (status === 2) return {};
      throw new InstallError(`cannot tell what ${device} holds: blkid -p exited ${status ?? '(not run)'}${stderr?.trim() ? `: ${stderr.trim()}` : ''}`, 'look at the disk with wipefs and blkid; nothing was written to it');
    }
    return Object.fromEntries(text.split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  },
  resolve(path) {
    try {
      const real = realpathSync(path);
      return statSync(real).isBlockDevice() ? real : undefined;
    } catch {
      return undefined;
    }
  },
};

/** Devices that are never an install target: loop, RAM and compressed-RAM disks, CD drives, device-mapper and md. */
const NOT_DISKS = /^(loop|ram|zram|sr|dm-|md|fd)/;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function describeProbe(found: Record<string, string>): string {
  if (found.PTTYPE) return `a ${found.PTTYPE} partition table`;
  if (found.TYPE) return `${found.TYPE}${found.LABEL ? ` "${found.LABEL}"` : ''}`;
  return '';
}

export function readDisk(system: System, name: string): Disk {
  const dir = join(system.sysfs, 'block', name);
  const partitions = readdirSync(dir)
    .filter((entry) => entry.startsWith(name) && existsSync(join(dir, entry, 'partition')))
    .sort((a, b) => Number(readText(join(dir, a, 'partition'))) - Number(readText(join(dir, b, 'partition'))))
    .map((part) => {
      const found = system.probe(`/dev/${part}`);
      return { name: part, size: Number(readText(join(dir, part, 'size'))) * 512, content: describeProbe(found), uuid: found.PART_ENTRY_UUID?.toLowerCase() };
    });
  return {
    name,
    device: `/dev/${name}`,
    size: Number(readText(join(dir, 'size'))) * 512,
    model: readText(join(dir, 'device', 'model')),
    readOnly: readText(join(dir, 'ro')) === '1',
    logicalBlockSize: Number(readText(join(dir, 'queue', 'logical_block_size')) || 512),
    content: describeProbe(system.probe(`/dev/${name}`)),
    partitions,
  };
}

export function listDisks(system: System): Disk[] {
  return readdirSync(join(system.sysfs, 'block'))
    .filter((name) => !NOT_DISKS.test(name))
    .sort()
    .map((name) => readDisk(system, name));
}

export function isEmpty(disk: Disk): boolean {
  return disk.content === '' && disk.partitions.length === 0;
}

/** "/dev/nvme0n1 (QEMU NVMe Ctrl, 2.0 GiB)" */
export function diskTitle(disk: Disk): string {
  return `${disk.device} (${[disk.model, formatBytes(disk.size)].filter(Boolean).join(', ')})`;
}

/** What is on a disk, in words: its table and each partition with what it holds. */
export function diskContents(disk: Disk): string {
  if (isEmpty(disk)) return 'nothing';
  const parts = disk.partitions.map((p) => `${p.name} ${formatBytes(p.size)}${p.content ? ` ${p.content}` : ''}`);
  const table = disk.content || 'a partition table';
  return parts.length === 0 ? table : `${table} with ${parts.length} partition${parts.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** The disk a device path names: /dev/disk/by-id/... and the like resolve to the disk they link to. */
function diskNamed(system: System, path: string, disks: Disk[]): Disk {
  const real = system.resolve(path);
  if (!real) throw new InstallError(`install.device ${path} is no block device here`, `the disks here are ${disks.map(diskTitle).join('; ') || 'none'}: name one of them, best by a /dev/disk/by-id/ path`);
  const name = real.replace(/^\/dev\//, '');
  const whole = disks.find((disk) => disk.name === name);
  if (whole) return whole;
  const holder = disks.find((disk) => disk.partitions.some((p) => p.name === name));
  if (holder) throw new InstallError(`install.device ${path} is ${real}, a partition of ${holder.device}`, `name the whole disk, ${holder.device}: the image brings its own partitions`);
  throw new InstallError(`install.device ${path} is ${real}, which is not a disk to install on`, `the disks here are ${disks.map(diskTitle).join('; ') || 'none'}`);
}

/**
 * The disk to install on, checked: not the medium the live system runs from, writable, big enough,
 * with 512-byte sectors, and (unless `wipe`) holding no partitions or filesystem.
 */
export function chooseDisk(system: System, settings: InstallSettings, options: { medium?: string; minimumSize: number; holdsImage?: (disk: Disk) => boolean }): Disk {
  const disks = listDisks(system).filter((disk) => disk.device !== options.medium);
  let disk: Disk;
  if (settings.device === ONLY_EMPTY_DISK) {
    const empty = disks.filter((d) => isEmpty(d) && !d.readOnly && d.size > 0);
    if (empty.length !== 1) {
      const seen = disks.map((d) => `${diskTitle(d)} holds ${diskContents(d)}`).join('; ') || 'no disks';
      throw new InstallError(
        `install.device ${ONLY_EMPTY_DISK}: ${empty.length === 0 ? 'no disk is empty' : `${empty.length} disks are empty`} (${seen})`,
        'name the disk with install.device: /dev/disk/by-id/...',
      );
    }
    disk = empty[0]!;
  } else {
    if (options.medium && system.resolve(settings.device) === options.medium) {
      throw new InstallError(`install.device ${settings.device} is the medium this installer runs from`, 'name another disk');
    }
    disk = diskNamed(system, settings.device, disks);
  }
  if (disk.readOnly) throw new InstallError(`${diskTitle(disk)} is read-only`, 'name a writable disk');
  if (disk.size < options.minimumSize) {
    throw new InstallError(`${diskTitle(disk)} is smaller than the image (${formatBytes(options.minimumSize)})`, 'name a bigger disk, or make the image smaller (disk.slotSize and disk.dataSize in the recipe)');
  }
  if (disk.logicalBlockSize !== 512) {
    throw new InstallError(`${diskTitle(disk)} has ${disk.logicalBlockSize}-byte sectors; slipway's partition tables are written for 512-byte sectors`, 'name a disk with 512-byte sectors (most can be switched with nvme format)');
  }
  // Booted from the medium again after an install (a reboot with the CD still first): never again.
  if (options.holdsImage?.(disk)) {
    throw new InstallError(`${diskTitle(disk)} holds this image already; nothing was written to it`, 'boot from that disk (put it before the installer in the boot order); to install again, wipe it first');
  }
  if (!isEmpty(disk) && !settings.wipe) {
    throw new InstallError(
      `${diskTitle(disk)} holds ${diskContents(disk)}; nothing was written to it`,
      'to install over it (all of it is lost), set install.wipe: true in the host config; or name another disk',
    );
  }
  return disk;
}
