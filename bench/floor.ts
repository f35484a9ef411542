/**
 * The floor for boot benchmarks: the same OVMF + systemd-boot + UKI path, but the UKI holds the
 * image's kernel and an initrd of busybox alone, whose init prints a marker. Nothing can boot
 * faster on this machine through this path.
 */
import { closeSync, createReadStream, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeCpio } from '../src/assemble/cpio.ts';
import { readTarFiles } from '../src/shared/tar.ts';
import { makeEsp } from '../src/bootimage/esp.ts';
import { writeGpt } from '../src/shared/gpt.ts';
import { makeUki, ukiSbat } from '../src/bootimage/uki.ts';
import { MiB, PARTITION_TYPES, stableUuid } from '../src/shared/layout.ts';

export const FLOOR_MARKER = 'SLIPWAY-FLOOR-REACHED';

/** Files from a plain data tar in the cache, by path. */
function filesFromTar(tar: string, wanted: RegExp): Promise<Map<string, Buffer>> {
  return readTarFiles(createReadStream(tar), (name) => wanted.test(name));
}

export async function buildFloorDisk(dir: string, tars: { kernel: string; busybox: string; systemdBoot: string }, epoch: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const [kernelFiles, busyboxFiles, bootFiles] = await Promise.all([
    filesFromTar(tars.kernel, /^boot\/vmlinuz-/),
    filesFromTar(tars.busybox, /bin\/busybox$/),
    filesFromTar(tars.systemdBoot, /(linuxx64\.efi\.stub|systemd-bootx64\.efi)$/),
  ]);
  const pick = (files: Map<string, Buffer>, pattern: RegExp) => [...files].find(([name]) => pattern.test(name))![1];
  const init = `#!/bin/busybox sh\n/bin/busybox echo ${FLOOR_MARKER}\n/bin/busybox poweroff -f\n`;
  const initrd = gzipSync(
    writeCpio(
      [
        { path: 'bin', type: 'directory', mode: 0o755 },
        { path: 'bin/busybox', type: 'file', mode: 0o755, data: pick(busyboxFiles, /busybox$/) },
        { path: 'dev', type: 'directory', mode: 0o755 },
        { path: 'dev/console', type: 'char', mode: 0o600, devMajor: 5, devMinor: 1 },
        { path: 'init', type: 'file', mode: 0o755, data: Buffer.from(init) },
      ],
      epoch,
    ),
  );
  const stub = join(dir, 'linuxx64.efi.stub');
  const loader = join(dir, 'systemd-bootx64.efi');
  writeFileSync(stub, pick(bootFiles, /stub$/));
  writeFileSync(loader, pick(bootFiles, /systemd-bootx64\.efi$/));
  const uki = join(dir, 'floor.efi');
  await makeUki({ stub, kernel: pick(kernelFiles, /vmlinuz/), initrd, cmdline: 'console=ttyS0', osRelease: 'ID=floor\nVERSION_ID=1\n', epoch, sbat: ukiSbat('floor', '1') }, dir, uki);
  const loaderConf = join(dir, 'loader.conf');
  writeFileSync(loaderConf, 'timeout 0\n');
  const esp = join(dir, 'esp.img');
  const espSize = 64 * MiB;
  await makeEsp(esp, espSize, '12345678', [
    { path: 'EFI/BOOT/BOOTX64.EFI', source: loader },
    { path: 'EFI/Linux/floor_1.efi', source: uki },
    { path: 'loader/loader.conf', source: loaderConf },
  ], epoch);
  const disk = join(dir, 'floor.raw');
  const size = espSize + 2 * MiB;
  const gpt = writeGpt(size, stableUuid('floor'), [{ type: PARTITION_TYPES.esp, uuid: stableUuid('floor-esp'), name: 'esp', offset: MiB, size: espSize }]);
  const fd = openSync(disk, 'w');
  ftruncateSync(fd, size);
  writeSync(fd, gpt.head, 0, gpt.head.length, 0);
  writeSync(fd, readFileSync(esp), 0, espSize, MiB);
  writeSync(fd, gpt.tail, 0, gpt.tail.length, gpt.tailOffset);
  closeSync(fd);
  return disk;
}
