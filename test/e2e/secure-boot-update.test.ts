/**
 * Updates keep the chain of trust: a host signed with the user's keys, running under Secure Boot
 * firmware that enrolled them, refuses an update whose UKI other keys signed before it writes
 * anything (its status says why), then installs one signed by its own key, which the firmware
 * boots and the agent blesses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { secureBootKeys } from '../helpers/secure-boot.ts';
import { buildVersion, openLab, publishVersion, rebootAndWait, updateStatus, waitForBlessing, type UpdateLab } from '../helpers/update-lab.ts';

let lab: UpdateLab;
let vm: VirtualMachine;

beforeAll(async () => {
  lab = await openLab();
  const keys = await secureBootKeys();
  const otherKeys = await secureBootKeys('secure-boot-keys-other');
  const running = await buildVersion(lab, '2.0.0', undefined, keys);
  await buildVersion(lab, '3.0.0', undefined, otherKeys);
  await buildVersion(lab, '4.0.0', undefined, keys);
  vm = await VirtualMachine.start({ image: `${running}/host_2.0.0.raw`, secureBoot: true, shell: true });
  await vm.waitFor(/slipway-health: ok/, 600_000);
}, 1_200_000);

afterAll(async () => {
  await vm?.dispose();
  await lab?.server.close();
});

describe('a host under Secure Boot, updated', () => {
  it('refuses an update whose UKI other keys signed, before writing anything, and says why', async () => {
    expect(vm.console).toMatch(/secureboot: Secure boot enabled/);
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

  it('installs an update signed by its own key, which the firmware boots and the agent blesses', async () => {
    await publishVersion(lab, '4.0.0');
    const apply = await vm.run('slipway-update apply 2>&1', 600_000);
    expect(apply.exitCode, apply.stdout).toBe(0);
    const boot = await rebootAndWait(vm);
    expect(boot).toMatch(/Welcome to .*host 4\.0\.0/);
    expect(boot).toMatch(/secureboot: Secure boot enabled/);
    await waitForBlessing(vm, '4.0.0');
  });
});
