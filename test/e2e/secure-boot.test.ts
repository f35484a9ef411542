/**
 * Secure Boot with the user's own keys, under OVMF's Secure Boot firmware (SMM on) starting in
 * setup mode: systemd-boot enrolls the image's keys at the first boot and the machine comes back
 * (a power cycle) enforcing them. Three UKIs that must not run sit on the ESP as newer versions,
 * each with one boot try: one unsigned, one signed by other keys, one signed by the right key and
 * changed after. The firmware refuses each, and systemd-boot falls back to the image's own UKI.
 * Last, an entry that adds init= and slipway.debug to the UKI's command line boots without them.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peSection } from '../../src/shared/pe.ts';
import { VirtualMachine } from '../../qemu/runner.ts';
import { tempDir } from '../helpers/archive.ts';
import { slipway } from '../helpers/cli.ts';
import { secureBootKeys, signedHost } from '../helpers/secure-boot.ts';

const EFI_GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
/** systemd-boot's vendor GUID, under which it says which entry it started. */
const SYSTEMD_LOADER = '4a67b082-0a4c-41cf-b6c7-440b29bb8c4f';
/** The UKIs that must not run, by the name systemd-boot would try them under (newest first). */
const REFUSED = { unsigned: 'host_9.0.0+1.efi', otherKeys: 'host_8.0.0+1.efi', changed: 'host_7.0.0+1.efi' } as const;

let vm: VirtualMachine;
/** The console of every boot of the machine (each power cycle starts a new log). */
let consoleText = '';
let powerCycles = 0;

/** The same UKI with one byte of the kernel flipped: its signature no longer matches. */
function changedCopy(uki: string, output: string): void {
  const image = readFileSync(uki);
  const kernel = peSection(image, '.linux')!;
  const at = kernel.byteOffset - image.byteOffset + Math.floor(kernel.length / 2);
  image[at] = image[at]! ^ 0xff;
  writeFileSync(output, image);
}

beforeAll(async () => {
  const keys = await secureBootKeys();
  const { image, dir } = await signedHost(keys);
  const manifest = JSON.parse(readFileSync(join(dir, 'out', 'host_1.0.0.manifest.json'), 'utf8')) as { disk: { partitions: Array<{ role: string; offset: number }> } };
  const esp = manifest.disk.partitions.find((p) => p.role === 'esp')!.offset;
  const work = tempDir('secure-boot');
  const disk = join(work, 'disk.raw');
  await execa('cp', ['--sparse=always', image, disk]);

  const signed = join(dir, 'out', 'host_1.0.0.efi');
  const unsigned = join(work, 'unsigned.efi');
  copyFileSync(signed, unsigned);
  await execa('sbattach', ['--remove', unsigned]);
  const other = join(work, 'other');
  expect((await slipway(['keygen', '--secure-boot', other])).exitCode).toBe(0);
  const otherKeys = join(work, 'other.efi');
  await execa('sbsign', ['--key', join(other, 'db.key'), '--cert', join(other, 'db.crt'), '--output', otherKeys, unsigned]);
  const changed = join(work, 'changed.efi');
  changedCopy(signed, changed);
  const files: Array<[string, string]> = [[unsigned, REFUSED.unsigned], [otherKeys, REFUSED.otherKeys], [changed, REFUSED.changed]];
  for (const [file, name] of files) await execa('mcopy', ['-i', `${disk}@@${esp}`, file, `::/EFI/Linux/${name}`], { env: { MTOOLS_SKIP_CHECK: '1' } });

  // No network card: a firmware with nothing left to boot stops at once instead of trying PXE.
  vm = await VirtualMachine.start({ image: disk, secureBoot: true, shell: true, noNetwork: true });
  for (let boot = 1; ; boot++) {
    const [seen] = await vm.waitFor(/slipway-health: ok|No bootable option or device was found/, 300_000);
    consoleText += vm.console;
    if (seen.startsWith('slipway-health')) break;
    // systemd-boot 252 gives up when the entry it starts is refused, and so does the firmware
    // once nothing else is left: power the machine off and on, as an operator or a watchdog
    // would. Each refused entry has used its one try, so the next boot passes it over.
    if (boot === 4) throw new Error(`still no boot after ${boot} power cycles:\n${vm.excerpt()}`);
    powerCycles += 1;
    await vm.kill();
    await vm.boot();
  }
}, 1_200_000);

afterAll(async () => {
  await vm?.dispose();
});

describe('a signed image under Secure Boot firmware', () => {
  it('had systemd-boot enroll its keys on the first boot, then came back on a power cycle', () => {
    expect(consoleText).toMatch(/Enrolling secure boot keys from directory: \\loader\\keys\\auto/);
    expect(vm.reboots).toBeGreaterThanOrEqual(1);
  });

  it('runs with Secure Boot enforced, in user mode', async () => {
    // Each EFI variable file is four bytes of attributes, then the value (efivarfs files cannot seek).
    const variable = async (name: string) => (await vm.run(`od -An -tu1 /sys/firmware/efi/efivars/${name}-${EFI_GLOBAL}`)).stdout.trim().split(/\s+/).at(-1);
    expect(await variable('SecureBoot')).toBe('1');
    expect(await variable('SetupMode')).toBe('0');
    expect(vm.console).toMatch(/secureboot: Secure boot enabled/);
    expect(consoleText).not.toMatch(/secureboot: Secure boot disabled/);
  });

  it('refused the unsigned UKI, the one signed by other keys and the changed one, then booted its own', async () => {
    for (const name of Object.values(REFUSED)) {
      const tried = name.replace('+1.efi', '+0-1.efi');
      expect(consoleText, name).toMatch(new RegExp(`Error loading .*${tried.replace(/[.+]/g, '\\$&')}: (Security Violation|Access Denied)`));
    }
    expect(powerCycles).toBeLessThanOrEqual(3);
    expect(vm.console).toMatch(/Welcome to .*host 1\.0\.0/);
    expect((await vm.run('cat /proc/cmdline')).stdout).toMatch(/^roothash=[0-9a-f]{64} /);
  });

  it('ignores a command line from outside the UKI: an entry that adds init= and slipway.debug boots as the UKI says', async () => {
    const uki = (await vm.run('ls -1 /boot/EFI/Linux')).stdout.split('\n').find((name) => name.startsWith('host_1.0.0'))!;
    // printf's escapes: a command to the debug shell is one line.
    const entry = `title override\\nefi /EFI/Linux/${uki}\\noptions init=/bin/sh slipway.debug\\n`;
    const setUp = await vm.run(`mkdir -p /boot/loader/entries && printf '${entry}' > /boot/loader/entries/override.conf && bootctl set-oneshot override.conf && sync`);
    expect(setUp.exitCode, setUp.stdout).toBe(0);
    const before = vm.console.length;
    await vm.run('systemctl reboot', 10_000).catch(() => undefined);
    await vm.waitFor(/slipway-health: ok/, 300_000, before);
    // systemd-boot started the entry with the extra options; systemd-stub left them out.
    expect((await vm.run(`dd if=/sys/firmware/efi/efivars/LoaderEntrySelected-${SYSTEMD_LOADER} bs=1 skip=4 status=none | tr -d '\\000'`)).stdout).toBe('override.conf');
    const cmdline = (await vm.run('cat /proc/cmdline')).stdout;
    expect(cmdline).toMatch(/^roothash=[0-9a-f]{64} /);
    expect(cmdline).not.toMatch(/init=|slipway\.debug/);
  });
});
