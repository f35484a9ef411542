/**
 * Is KVM usable? /dev/kvm can exist and still hang QEMU (a CPU without virtualization extensions
 * behind it), so the probe runs real guest code: a 64 KiB BIOS whose reset vector writes one
 * byte to the serial port. If the byte arrives within the timeout, KVM works.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';

// At 0xFFF0 (the reset vector, 16-bit real mode): fninit; fwait (firmware does this first, and it is
// where a KVM without hardware support fails); mov dx,0x3f8; mov al,'K'; out dx,al; cli; hlt
const RESET_CODE = [0xdb, 0xe3, 0x9b, 0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xfa, 0xf4];

export function probeBios(): Buffer {
  const bios = Buffer.alloc(64 * 1024, 0xf4);
  Buffer.from(RESET_CODE).copy(bios, 0xfff0);
  return bios;
}

let cached: boolean | undefined;

/**
 * The verdict is kept for the rest of the host's boot, in the user's cache (with the boot ID it
 * holds for), so each process that boots machines (a test file, a benchmark) does not wait out
 * the probe's timeout again.
 */
function verdictFile(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'slipway', 'kvm-verdict');
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

export async function kvmWorks(timeoutMs = 3000): Promise<boolean> {
  if (cached !== undefined) return cached;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return (cached = false);
  }
  const file = verdictFile();
  const [boot, verdict] = (existsSync(file) ? readFileSync(file, 'utf8') : '').trim().split(' ');
  if (boot === bootId() && (verdict === 'kvm' || verdict === 'tcg')) return (cached = verdict === 'kvm');
  cached = await probeKvm(timeoutMs);
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${bootId()} ${cached ? 'kvm' : 'tcg'}\n`);
  } catch {
    // An unwritable cache only means probing again next time.
  }
  return cached;
}

async function probeKvm(timeoutMs: number): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-kvm-'));
  try {
    const bios = join(dir, 'probe.bin');
    const serial = join(dir, 'serial.log');
    writeFileSync(bios, probeBios());
    const qemu = execa(
      'qemu-system-x86_64',
      ['-accel', 'kvm', '-machine', 'q35', '-nodefaults', '-display', 'none', '-bios', bios, '-chardev', `file,id=s,path=${serial}`, '-serial', 'chardev:s'],
      { reject: false, stdin: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' },
    );
    const deadline = Date.now() + timeoutMs;
    let works = false;
    while (Date.now() < deadline && !works) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      try {
        works = readFileSync(serial, 'latin1').includes('K');
      } catch {
        // not created yet
      }
    }
    qemu.kill('SIGKILL');
    await qemu;
    return works;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function chooseAccel(wanted?: 'kvm' | 'tcg'): Promise<'kvm' | 'tcg'> {
  if (wanted) return wanted;
  return (await kvmWorks()) ? 'kvm' : 'tcg';
}
