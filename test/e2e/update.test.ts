/**
 * Signed A/B updates under QEMU, from a TUF repository that `slipway publish` made, served on
 * loopback (the guest reaches it as 10.0.2.2): 1 → 2 into slot B with provisioning (hostname, a
 * file, a user who logs in with their key), the ssh host keys and /var kept,
 * a tampered target refused with nothing written, power cuts at three points of an apply survived
 * (each time the host boots a good version and the next apply succeeds), then 3 → 4 into slot B.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { VirtualMachine } from '../../qemu/runner.ts';
import { tempDir } from '../helpers/archive.ts';
import { buildVersion, openLab, publishVersion, rebootAndWait as reboot, updateStatus, waitForBlessing as blessed, type UpdateLab } from '../helpers/update-lab.ts';
import { hostKeyFingerprints, makeKeyPair, ssh, type KeyPair } from '../helpers/ssh.ts';
import { freePort } from '../helpers/variant.ts';

let lab: UpdateLab;
let vm: VirtualMachine;
let pagePort: number;
let sshPort: number;
let opsKey: KeyPair;

async function page(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${pagePort}/`)).text();
}

const status = () => updateStatus(vm);

/** QEMU killed as by a power cut, then started again on the same disk (with a new console). */
async function cutPowerAndBoot(): Promise<void> {
  await vm.kill();
  await vm.boot();
  await vm.waitFor(/slipway-initrd: root/, 300_000);
}

/** Starts an apply that reports on the console, and cuts the power as soon as `point` shows there. */
async function cutPowerAt(point: RegExp): Promise<string> {
  const before = vm.console.length;
  void vm.run('slipway-update apply 2>&1 | tee /dev/console', 600_000).catch(() => undefined);
  await vm.waitFor(point, 600_000, before);
  const output = vm.console.slice(before);
  await cutPowerAndBoot();
  return output;
}

async function expectStillOn2WithSlotAUnbootable(): Promise<void> {
  await vm.waitFor(/slipway-health: ok/, 300_000);
  expect(vm.console).toMatch(/slipway-initrd: root \/dev\/vda4 verified by \/dev\/vda5/);
  const after = await status();
  expect(after.running).toEqual({ version: '2.0.0', slot: 'b' });
  expect(after.slots[0]).toEqual({ slot: 'a', contents: null, running: false });
  expect(after.pending).toBeNull();
  expect((await vm.run('ls -1 /boot/EFI/Linux')).stdout).not.toMatch(/host_3\.0\.0/);
}

/** An apply that completes, without the reboot: the slot is written, verified and bootable. */
async function expectApplySucceeds(): Promise<void> {
  const apply = await vm.run('slipway-update apply 2>&1', 600_000);
  expect(apply.exitCode, apply.stdout).toBe(0);
  expect(apply.stdout).toMatch(/installed in slot [ab]; it boots next, with 3 tries/);
}
const rebootAndWait = () => reboot(vm);
const waitForBlessing = (version: string) => blessed(vm, version);

beforeAll(async () => {
  lab = await openLab();
  for (const version of ['1.0.0', '2.0.0']) {
    await buildVersion(lab, version);
    await publishVersion(lab, version);
  }
  const config = join(tempDir('config'), 'config.yaml');
  opsKey = await makeKeyPair('ops');
  writeFileSync(config, stringify({
    hostname: 'updated-host',
    users: [{ name: 'ops', groups: ['sudo'], sshAuthorizedKeys: [opsKey.publicKey] }],
    files: [{ path: '/etc/slipway-test/provisioned', content: 'yes\n' }],
  }));
  pagePort = await freePort();
  sshPort = await freePort();
  vm = await VirtualMachine.start({
    image: join(lab.builds.get('1.0.0')!, 'host_1.0.0.raw'),
    shell: true,
    durableDisk: true,
    forwards: [{ host: pagePort, guest: 80 }, { host: sshPort, guest: 22 }],
    fwCfg: [{ name: 'opt/slipway/config', file: config }],
  });
  await vm.waitFor(/slipway-health: ok/, 300_000);
});

afterAll(async () => {
  await vm?.dispose();
  await lab?.server.close();
});

describe('A/B updates', () => {
  it('goes from 1 to 2 in slot B, keeping provisioning, the ssh host keys and /var', async () => {
    expect(await page()).toMatch(/Hello from version 1\.0\.0/);
    const fingerprints = await hostKeyFingerprints(sshPort);
    expect((await vm.run('echo kept > /var/lib/slipway-test-marker && slipway-update check')).stdout).toBe('2.0.0 is available (running 1.0.0)');
    const apply = await vm.run('slipway-update apply 2>&1', 600_000);
    expect(apply.exitCode, apply.stdout).toBe(0);
    expect(apply.stdout).toMatch(/slot b verified: root hash [0-9a-f]{64}/);
    expect((await status()).pending).toMatchObject({ version: '2.0.0', slot: 'b' });

    const boot = await rebootAndWait();
    expect(boot).toMatch(/slipway-initrd: root \/dev\/vda4 verified by \/dev\/vda5/);
    expect(boot).not.toMatch(/slipway-provision/);
    await waitForBlessing('2.0.0');
    expect(await page()).toMatch(/Hello from version 2\.0\.0/);
    expect((await vm.run('hostname; cat /etc/slipway-test/provisioned /var/lib/slipway-test-marker')).stdout).toBe('updated-host\nyes\nkept');
    expect(await hostKeyFingerprints(sshPort)).toEqual(fingerprints);
    const login = await ssh(sshPort, 'ops', opsKey, 'hostname; id -Gn; . /etc/os-release; echo $IMAGE_VERSION');
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout.split('\n')).toEqual(['updated-host', 'ops sudo', '2.0.0']);
    // systemd-bless-boot marked the entry good: no boot counter left in its name.
    const entries = (await vm.run('ls -1 /boot/EFI/Linux')).stdout.split('\n');
    expect(entries).toContain('host_2.0.0.efi');
    expect(entries.filter((entry) => entry.startsWith('host_2.0.0+'))).toEqual([]);
    const after = await status();
    expect(after.slots).toEqual([{ slot: 'a', contents: 'host_1.0.0', running: false }, { slot: 'b', contents: 'host_2.0.0', running: true }]);
  });

  it('refuses a target whose bytes do not match the signed hash, and writes nothing bootable', async () => {
    await buildVersion(lab, '3.0.0');
    await publishVersion(lab, '3.0.0');
    const target = join(lab.repo, 'targets', 'host', '3.0.0');
    const file = readdirSync(target).find((f) => f.endsWith('.root.squashfs'))!;
    const original = readFileSync(join(target, file));
    const altered = Buffer.from(original);
    altered[4096 * 10] = altered[4096 * 10]! ^ 0xff;
    writeFileSync(join(target, file), altered);
    const apply = await vm.run('slipway-update apply 2>&1', 600_000);
    writeFileSync(join(target, file), original);
    expect(apply.exitCode).not.toBe(0);
    expect(apply.stdout).toMatch(/slipway-update: .*has sha256 [0-9a-f]{64}, not [0-9a-f]{64} as the signed metadata says/);
    const after = await status();
    expect(after.slots[0]).toEqual({ slot: 'a', contents: null, running: false });
    expect(after.last).toMatchObject({ result: 'failed', version: '3.0.0' });
    expect(after.pending).toBeNull();
  });

  // The download streams straight into the slot, so the first cut lands in the middle of both the
  // download and the root image's write; the second once the root image is written, while the
  // verity image is written and the slot checked; the third right after the UKI is in place.
  it('survives a power cut in the middle of a download, on 2.0.0 with slot A unbootable, and the next apply succeeds', async () => {
    const path = readdirSync(join(lab.repo, 'targets', 'host', '3.0.0')).find((f) => f.endsWith('.root.squashfs'))!;
    const served = `/targets/host/3.0.0/${path}`;
    const before = lab.server.sent.get(served) ?? 0;
    void vm.run('slipway-update apply >/dev/null 2>&1', 600_000).catch(() => undefined);
    while ((lab.server.sent.get(served) ?? 0) - before < 30 * 1024 * 1024) await new Promise((resolve) => setTimeout(resolve, 200));
    await cutPowerAndBoot();
    await expectStillOn2WithSlotAUnbootable();
    await expectApplySucceeds();
  }, 900_000);

  it('survives a power cut while the slot is written and checked, and the next apply succeeds', async () => {
    const cutAt = await cutPowerAt(/slipway-update: writing host\/3\.0\.0\/host_3\.0\.0\.root\.verity/);
    expect(cutAt).not.toMatch(/slot a verified/);
    await expectStillOn2WithSlotAUnbootable();
    expect((await status()).last).toMatchObject({ result: 'failed', message: 'the install of 3.0.0 was interrupted before it became bootable; still on 2.0.0' });
    await expectApplySucceeds();
  }, 900_000);

  it('survives a power cut just after the UKI is written: 3.0.0 boots from slot A and is blessed', async () => {
    await cutPowerAt(/slipway-update: host_3\.0\.0 installed in slot a/);
    await vm.waitFor(/slipway-health: ok/, 300_000);
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/vda2 verified by \/dev\/vda3/);
    await waitForBlessing('3.0.0');
    expect(await page()).toMatch(/Hello from version 3\.0\.0/);
    expect((await status()).slots).toEqual([{ slot: 'a', contents: 'host_3.0.0', running: true }, { slot: 'b', contents: 'host_2.0.0', running: false }]);
  }, 900_000);

  it('then installs 4.0.0 into slot B, rebooting in the host\'s reboot window', async () => {
    await buildVersion(lab, '4.0.0');
    await publishVersion(lab, '4.0.0');
    // The window opens 12 hours from now (what a host config's update.rebootWindow writes).
    const start = String((Number((await vm.run('date +%H')).stdout) + 12) % 24).padStart(2, '0');
    const configured = await vm.run(`mkdir -p /etc/slipway && echo '{"rebootWindow":"${start}:00-${start}:30"}' > /etc/slipway/update.json`);
    expect(configured.exitCode).toBe(0);
    const apply = await vm.run('slipway-update apply --reboot 2>&1', 600_000);
    expect(apply.exitCode, apply.stdout).toBe(0);
    expect(apply.stdout).toMatch(new RegExp(`reboots in the window ${start}:00-${start}:30, from \\d{4}-\\d{2}-\\d{2} ${start}:00:00`));
    expect((await vm.run('systemctl is-active slipway-update-reboot.timer')).stdout).toBe('active');
    expect((await status()).running.version).toBe('3.0.0');

    // The window comes: the timer's service reboots into 4.0.0.
    const before = vm.console.length;
    await vm.run('systemctl start slipway-update-reboot.service', 10_000).catch(() => undefined);
    await vm.waitFor(/slipway-health: ok/, 300_000, before);
    expect(vm.console.slice(before)).toMatch(/slipway-initrd: root \/dev\/vda4 verified by \/dev\/vda5/);
    await waitForBlessing('4.0.0');
    expect(await page()).toMatch(/Hello from version 4\.0\.0/);
    expect((await vm.run('hostname; cat /var/lib/slipway-test-marker')).stdout).toBe('updated-host\nkept');
  }, 900_000);
});
