/**
 * A plain QEMU boot for build tests: UEFI (OVMF with a private copy of its variables), the image as
 * a virtio disk, the serial console captured, and a wait for a line on it. The full harness with
 * verdicts, port forwards and commands lives in qemu/ (issue 4); this is only enough to prove a boot.
 */
import { copyFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { tempDir } from './archive.ts';

const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface BootResult {
  console: string;
  matched: boolean;
  /** The copy of the image that was booted, as QEMU left it. */
  disk: string;
}

/**
 * Boots a copy of the image until the console shows `until`, QEMU exits, or the timeout passes.
 * `diskSize` grows the copy first, as a user would give a server a bigger disk.
 */
export async function bootUntil(image: string, until: RegExp, timeoutMs: number, options: { diskSize?: number } = {}): Promise<BootResult> {
  const dir = tempDir('qemu');
  const disk = join(dir, 'disk.raw');
  const vars = join(dir, 'vars.fd');
  copyFileSync(image, disk);
  if (options.diskSize) truncateSync(disk, options.diskSize);
  copyFileSync(OVMF_VARS, vars);
  const qemu: ResultPromise = execa(
    'qemu-system-x86_64',
    [
      '-machine', 'q35', '-accel', 'tcg', '-m', '1024', '-smp', '2', '-nographic', '-no-reboot', '-nodefaults',
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`,
      '-drive', `if=pflash,format=raw,unit=1,file=${vars}`,
      '-drive', `if=virtio,format=raw,file=${disk}`,
      '-serial', 'stdio',
    ],
    { reject: false, stdin: 'ignore', buffer: false },
  );
  let console = '';
  return await new Promise<BootResult>((resolve) => {
    const finish = (matched: boolean) => {
      clearTimeout(timer);
      qemu.kill('SIGKILL');
      resolve({ console, matched, disk });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    qemu.stdout!.on('data', (chunk: Buffer) => {
      console += chunk.toString('utf8');
      if (until.test(console)) finish(true);
    });
    void qemu.then(() => finish(until.test(console)));
  });
}
