/** Block devices and disk files: a device's size, dropping what the kernel caches of it, and reading a range. */
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';

/** The size of a block device, which fstat does not give: read from sysfs by its major:minor. */
export function blockDeviceSize(fd: number): number {
  const { rdev } = fstatSync(fd);
  // Linux's dev_t layout: minor's low 8 bits, major's 12 bits, then minor's high bits.
  const major = (rdev >>> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  const sectors = Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
  return sectors * 512;
}

/**
 * Writes out and forgets the kernel's cached blocks of these devices (BLKFLSBUF, via util-linux's
 * blockdev), so what is read next comes from the disk itself, not from memory.
 */
export function dropCachedBlocks(...devices: string[]): void {
  execFileSync('blockdev', ['--flushbufs', ...devices], { stdio: 'pipe' });
}

/** Up to `length` bytes of a file or device from `offset` (fewer at its end). */
export function readRange(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
