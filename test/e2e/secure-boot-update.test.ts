/**
 * The chain of trust, from the firmware to /var, kept across updates: a host signed with the
 * user's keys, with a software TPM, under Secure Boot firmware that enrolled them, seals /var at
 * its first boot. It refuses an update whose UKI other keys signed, and one whose PCR policy
 * another key signed, before writing anything (its status says why); it installs one signed by
 * its own keys, which the firmware boots and which unlocks /var with its data. Then the same disk
 * with Secure Boot off, with another TPM, and with a UKI of the same version whose PCR policy
 * another key signed, each stops before /var is opened, and the next power-on with the right
 * firmware, TPM and UKI unlocks it, data and LUKS header unchanged. (A UKI signed by other db
 * keys does not get that far: the firmware refuses it, as test/e2e/secure-boot.test.ts shows.)
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVMF_VARS, VirtualMachine } from '../../qemu/runner.ts';
import { signPcrPolicy } from '../../src/bootimage/pcr-policy.ts';
import { readSecureBootKeys, signEfiProgram } from '../../src/bootimage/secure-boot.ts';
import { peSection } from '../../src/shared/pe.ts';
import { tempDir } from '../helpers/archive.ts';
import { secureBootKeys, secureBootKeysWithOtherPcrKey } from '../helpers/secure-boot.ts';
import { partitionStart } from '../helpers/slot.ts';
import { buildVersion, openLab, publishVersion, updateStatus, waitForBlessing, waitForHealth, type UpdateLab } from '../helpers/update-lab.ts';
import type { RecipeChange } from '../helpers/variant.ts';

const sealed: RecipeChange = (recipe) => {
  recipe.disk = { ...recipe.disk, encryption: 'tpm2' };
};
const WITNESS = '/var/lib/slipway-witness';
/** The LUKS2 header area (16 MiB by default), hashed in the guest. */
const HEADER_DIGEST = 'head -c 16777216 /dev/vda6 | sha256sum';

let lab: UpdateLab;
let vm: VirtualMachine;
let keys: string;
let otherPcrKeys: string;

beforeAll(async () => {
  lab = await openLab();
  keys = await secureBootKeys();
  const otherKeys = await secureBootKeys('secure-boot-keys-other');
  otherPcrKeys = await secureBootKeysWithOtherPcrKey();
  const running = await buildVersion(lab, '2.0.0', sealed, keys);
  await buildVersion(lab, '3.0.0', sealed, otherKeys);
  await buildVersion(lab, '4.0.0', sealed, keys);
  await buildVersion(lab, '3.1.0', sealed, otherPcrKeys);
  vm = await VirtualMachine.start({ image: `${running}/host_2.0.0.raw`, secureBoot: true, tpm: true, shell: true });
  await vm.waitFor(/slipway-health: ok/, 600_000);
}, 1_200_000);

afterAll(async () => {
  await vm?.dispose();
  await lab?.server.close();
});

/** Powers the machine on, changed as `changes` say, waits for the initrd to stop at /var, and powers it off. */
async function stopsAtVar(changes: Parameters<VirtualMachine['boot']>[0] = {}): Promise<string> {
  await vm.boot(changes);
  await vm.waitFor(/slipway-initrd: the boot stops here/, 300_000, 0, ['initrd failure']);
  const text = vm.console;
  await vm.kill();
  return text;
}

/**
 * Version 4's UKI as the disk has it, with its PCR policy signed by another key and signed again
 * by the right db key: the firmware runs it, and its signature is the only thing that differs.
 */
async function withOtherPcrPolicy(uki: string, output: string): Promise<void> {
  const work = tempDir('forged');
  const image = readFileSync(uki);
  const section = (name: string) => {
    const file = join(work, name.slice(1));
    writeFileSync(file, peSection(image, name)!);
    return file;
  };
  const other = readSecureBootKeys(otherPcrKeys, 'test', true).pcr!;
  copyFileSync(other.publicKey, join(work, 'pcrpkey'));
  const measured = { linux: section('.linux'), osrel: section('.osrel'), cmdline: section('.cmdline'), initrd: section('.initrd'), pcrpkey: join(work, 'pcrpkey') };
  writeFileSync(join(work, 'pcrsig'), await signPcrPolicy(measured, other));
  const unsigned = join(work, 'unsigned.efi');
  copyFileSync(uki, unsigned);
  await execa('sbattach', ['--remove', unsigned]);
  // RSA 2048 keys and signatures: the new sections are as long as the old ones.
  await execa('objcopy', ['--update-section', `.pcrpkey=${measured.pcrpkey}`, '--update-section', `.pcrsig=${join(work, 'pcrsig')}`, unsigned]);
  await signEfiProgram(readSecureBootKeys(keys, 'test'), unsigned, output, 0);
}

describe('a host under Secure Boot with /var sealed to its TPM, updated', () => {
  it('sealed /var at its first boot: LUKS2 on the data partition, opened in the initrd', async () => {
    expect(vm.console).toMatch(/secureboot: Secure boot enabled/);
    expect(vm.console).toMatch(/slipway-initrd: first boot: sealing \/var on \/dev\/vda6/);
    expect((await vm.run('blkid -p -s TYPE -s VERSION -o export /dev/vda6')).stdout).toMatch(/VERSION=2\nTYPE=crypto_LUKS/);
    expect((await vm.run('findmnt -no SOURCE /var')).stdout.trim()).toBe('/dev/mapper/var');
    expect((await vm.run(`echo sealed data > ${WITNESS} && sync`)).exitCode).toBe(0);
  });

  it('refuses an update whose UKI other keys signed, before writing anything, and says why', async () => {
    const before = await updateStatus(vm);
    await publishVersion(lab, '3.0.0');
    const apply = await vm.run('slipway-update apply 2>&1', 300_000);
    expect(apply.exitCode).toBe(6);
    expect(apply.stdout).toMatch(/slipway-update: the UKI of 3\.0\.0 is refused: it is signed by CN ?= ?slipway signature database key [0-9a-f]{8}, which this host does not trust/);
    expect(apply.stdout).not.toMatch(/slot . cleared|writing /);
    const after = await updateStatus(vm);
    expect(after.slots).toEqual(before.slots);
    expect(after.pending).toBeNull();
    expect(after.last).toMatchObject({ result: 'failed', version: '3.0.0', message: expect.stringMatching(/^the UKI of 3\.0\.0 is refused: /) });
  });

  it('refuses an update whose PCR policy another key signed, which could not unlock /var', async () => {
    const before = await updateStatus(vm);
    await publishVersion(lab, '3.1.0');
    const apply = await vm.run('slipway-update apply 2>&1', 300_000);
    expect(apply.exitCode).toBe(6);
    expect(apply.stdout).toMatch(/the UKI of 3\.1\.0 is refused: its PCR policy is signed by another key than the one \/var is sealed to/);
    expect((await updateStatus(vm)).slots).toEqual(before.slots);
  });

  it('installs an update signed by its own keys (through its sandboxed unit), which the firmware boots and which unlocks /var', { timeout: 1_200_000 }, async () => {
    await publishVersion(lab, '4.0.0');
    // As the timer would: slipway-update.service runs `apply --reboot` under its unit's sandbox.
    const before = vm.console.length;
    await vm.run('systemctl start --no-block slipway-update.service');
    await vm.waitFor(/slipway-initrd: root/, 900_000, before).catch(async (error: Error) => {
      error.message += `\n--- slipway-update.service ---\n${(await vm.run('journalctl -u slipway-update.service --no-pager | tail -30').catch(() => ({ stdout: '' }))).stdout}`;
      throw error;
    });
    await waitForHealth(vm, before);
    const boot = vm.console.slice(before);
    expect(boot).toMatch(/Welcome to .*host 4\.0\.0/);
    expect(boot).toMatch(/secureboot: Secure boot enabled/);
    expect(boot).toMatch(/slipway-initrd: \/var unlocked with the key sealed to this machine's TPM/);
    await waitForBlessing(vm, '4.0.0');
    expect((await vm.run(`cat ${WITNESS}`)).stdout).toBe('sealed data');
  });

  it('does not open /var with Secure Boot off, another TPM, or a UKI whose PCR policy another key signed; then does, unchanged', async () => {
    const header = (await vm.run(HEADER_DIGEST)).stdout;
    const forged = join(tempDir('forged'), 'forged.efi');
    await withOtherPcrPolicy(join(lab.builds.get('4.0.0')!, 'host_4.0.0.efi'), forged);
    await vm.kill();

    // Secure Boot off: the firmware's keys cleared (its variables as new, in setup mode), and the
    // ESP without the lists systemd-boot would enroll again.
    const vars = join(vm.dir, 'OVMF_VARS.fd');
    copyFileSync(vars, `${vars}.enrolled`);
    copyFileSync(OVMF_VARS, vars);
    await onEsp((esp) => execa('mdeltree', ['-i', esp, '::/loader/keys'], { env: { MTOOLS_SKIP_CHECK: '1' } }));
    expect(await stopsAtVar()).toMatch(/cannot unlock \/var \(\/dev\/vda6\): Secure Boot is off/);
    copyFileSync(`${vars}.enrolled`, vars);

    expect(await stopsAtVar({ tpmState: tempDir('other-tpm') })).toMatch(/cannot unlock \/var \(\/dev\/vda6\): its key is sealed to another TPM/);

    // A newer entry with one try: systemd-boot starts it once, and passes over it after.
    await onEsp((esp) => execa('mcopy', ['-i', esp, forged, '::/EFI/Linux/host_4.0.1+1.efi'], { env: { MTOOLS_SKIP_CHECK: '1' } }));
    const forgedBoot = await stopsAtVar({ tpmState: undefined });
    expect(forgedBoot).toMatch(/secureboot: Secure boot enabled/);
    expect(forgedBoot).toMatch(/cannot unlock \/var \(\/dev\/vda6\): its key is sealed to another TPM, another Secure Boot state, or PCR policies signed by another key/);

    await vm.boot();
    await waitForHealth(vm, 0);
    expect(vm.console).toMatch(/Welcome to .*host 4\.0\.0/);
    expect((await vm.run(`cat ${WITNESS}`)).stdout).toBe('sealed data');
    expect((await vm.run(HEADER_DIGEST)).stdout).toBe(header);
  }, 1_200_000);
});

/**
 * Changes the ESP of the machine's disk while it is off: the overlay made raw, `change` given the
 * ESP as mtools names it (image@@offset), and the result made the overlay again.
 */
async function onEsp(change: (esp: string) => Promise<unknown>): Promise<void> {
  const raw = join(tempDir('disk'), 'disk.raw');
  await execa('qemu-img', ['convert', '-O', 'raw', vm.overlay, raw]);
  await change(`${raw}@@${await partitionStart(raw, 1)}`);
  await execa('qemu-img', ['convert', '-O', 'qcow2', raw, vm.overlay]);
}
