/** The size of a block device, which fstat does not give: read from sysfs by its major:minor. */
import { fstatSync, readFileSync } from 'node:fs';

export function blockDeviceSize(fd: number): number {
  const { rdev } = fstatSync(fd);
  // Linux's dev_t layout: minor's low 8 bits, major's 12 bits, then minor's high bits.
  const major = (rdev >>> 8) & 0xfff;
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
  const sectors = Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim());
  return sectors * 512;
}
