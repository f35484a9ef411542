/**
 * What the agent learns from the running host: its name and version (os-release), the root hash
 * it booted (kernel command line), the disk that holds its slots and the device of each partition.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UpdateError } from '../../errors.ts';

export interface RunningHost {
  name: string;
  version: string;
  rootHash: string;
  /** /dev/vda, say. */
  disk: string;
}

function osRelease(root = '/'): Map<string, string> {
  const text = readFileSync(join(root, 'etc/os-release'), 'utf8');
  return new Map(text.split('\n').filter((l) => l.includes('=')).map((l) => {
    const eq = l.indexOf('=');
    return [l.slice(0, eq), l.slice(eq + 1).replace(/^"(.*)"$/, '$1')];
  }));
}

/** The disk under the verified root: /dev/mapper/root's first slave partition, then its parent. */
function rootDisk(): string {
  for (const dm of readdirSync('/sys/block').filter((name) => name.startsWith('dm-'))) {
    const slaves = readdirSync(`/sys/block/${dm}/slaves`);
    if (slaves.length === 0) continue;
    const partition = realpathSync(`/sys/class/block/${slaves[0]}`);
    if (existsSync(join(partition, 'partition'))) return `/dev/${basename(dirname(partition))}`;
  }
  throw new UpdateError('cannot find the disk the root was verified from', 'updates run on a slipway host booted from its own disk');
}

export function runningHost(): RunningHost {
  const release = osRelease();
  const rootHash = /(?:^|\s)roothash=([0-9a-f]{64})(?:\s|$)/.exec(readFileSync('/proc/cmdline', 'utf8'))?.[1];
  if (!rootHash) throw new UpdateError('the kernel command line has no roothash=', 'updates run on a slipway host');
  const name = release.get('IMAGE_ID');
  const version = release.get('IMAGE_VERSION');
  if (!name || !version) throw new UpdateError('/etc/os-release has no IMAGE_ID or IMAGE_VERSION', 'updates run on a slipway host');
  return { name, version, rootHash, disk: rootDisk() };
}

/** /dev/vda + 4 → /dev/vda4; /dev/nvme0n1 + 4 → /dev/nvme0n1p4. */
export function partitionDevice(disk: string, number: number): string {
  const name = basename(disk);
  for (const entry of readdirSync(`/sys/block/${name}`)) {
    const file = `/sys/block/${name}/${entry}/partition`;
    if (existsSync(file) && Number(readFileSync(file, 'utf8')) === number) return `/dev/${entry}`;
  }
  throw new UpdateError(`${disk} has no partition ${number}`, 'is this a disk slipway built?');
}
