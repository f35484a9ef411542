/**
 * Boots for the build tests, through the same harness as everything else (qemu/runner.ts): UEFI,
 * a private overlay over the image, the console captured, a wait for a line on it.
 */
import { join } from 'node:path';
import { execa } from 'execa';
import { BootFailure, VirtualMachine } from '../../qemu/runner.ts';
import { tempDir } from './archive.ts';

export interface BootResult {
  console: string;
  matched: boolean;
  /** The machine's disk as QEMU left it, converted to raw for tools that read disks. */
  disk: string;
}

/**
 * Boots the image until the console shows `until`, a fatal problem appears, QEMU exits or the
 * timeout passes. `diskSize` grows the machine's disk first, as a bigger server disk would be.
 */
export async function bootUntil(image: string, until: RegExp, timeoutMs: number, options: { diskSize?: number } = {}): Promise<BootResult> {
  const vm = await VirtualMachine.start({ image, noReboot: true, diskSize: options.diskSize });
  let matched = false;
  try {
    await vm.waitFor(until, timeoutMs);
    matched = true;
  } catch (error) {
    if (!(error instanceof BootFailure)) throw error;
  }
  const console = vm.console;
  await vm.kill();
  const disk = join(tempDir('booted'), 'disk.raw');
  await execa('qemu-img', ['convert', '-O', 'raw', vm.overlay, disk]);
  await vm.dispose();
  return { console, matched, disk };
}
