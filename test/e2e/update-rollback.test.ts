/**
 * Automatic rollback under QEMU: a new version that fails its health check, and one whose kernel
 * panics, each get their three boots from systemd-boot's boot counting; then the host is back on
 * the version it ran before, without help, and the agent records the failed version as bad and
 * never installs it again.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { buildVersion, openLab, publishVersion, updateStatus, waitForAgentLine, waitForHealth, type UpdateLab } from '../helpers/update-lab.ts';

const ROLLBACK_TIMEOUT = 1_200_000;

let lab: UpdateLab;
let vm: VirtualMachine;

/** Applies the newest release, reboots, and returns the console from then until the host is healthy again. */
async function applyAndRideOutTheTrial(problem: string): Promise<string> {
  const apply = await vm.run('slipway-update apply 2>&1', 600_000);
  expect(apply.exitCode, apply.stdout).toBe(0);
  const before = vm.console.length;
  await vm.run('systemctl reboot', 10_000).catch(() => undefined);
  await vm.waitFor(/slipway-initrd: root \/dev\/vda2/, ROLLBACK_TIMEOUT, before, [problem]);
  await waitForHealth(vm, vm.console.lastIndexOf('slipway-initrd: root /dev/vda2'), [problem]);
  return vm.console.slice(before);
}

/** The agent's boot check on the way back to slot A records the rollback and says so; then its status. */
async function waitForRollback(version: string): Promise<any> {
  await waitForAgentLine(vm, `${version} did not come up healthy within its 3 boots`, 'slipway-initrd: root /dev/vda2');
  const status = await updateStatus(vm);
  expect(status.last).toMatchObject({ result: 'rolled back', version });
  return status;
}

async function expectNeverRetried(bad: string[]): Promise<void> {
  const check = JSON.parse((await vm.run('slipway-update check --json')).stdout);
  expect(check).toEqual({ current: '2.0.0', available: null, skipped: bad });
  const apply = await vm.run('slipway-update apply 2>&1');
  expect(apply).toMatchObject({ exitCode: 0, stdout: 'up to date (running 2.0.0)' });
  const entries = (await vm.run('ls -1 /boot/EFI/Linux')).stdout.split('\n');
  for (const version of bad) expect(entries.filter((entry) => entry.startsWith(`host_${version}`))).toEqual([]);
}

beforeAll(async () => {
  lab = await openLab();
  await buildVersion(lab, '2.0.0');
  await publishVersion(lab, '2.0.0');
  // 3.0.0's only container exits at once: the health check never sees it running.
  await buildVersion(lab, '3.0.0', (recipe) => {
    recipe.containers[0].command = ['/bin/busybox', 'false'];
    recipe.health = { timeoutSeconds: 20 };
  });
  // 4.0.0's kernel finds no init to run and panics; panic=1 (the last panic= wins over the image's
  // 10) reboots it after a second, not ten.
  await buildVersion(lab, '4.0.0', (recipe) => {
    recipe.kernel.cmdline = [...recipe.kernel.cmdline, 'rdinit=/slipway-test-no-such-init', 'panic=1'];
  });
  vm = await VirtualMachine.start({ image: join(lab.builds.get('2.0.0')!, 'host_2.0.0.raw'), shell: true });
  await vm.waitFor(/slipway-health: ok/, 300_000);
});

afterAll(async () => {
  await vm?.dispose();
  await lab?.server.close();
});

describe('automatic rollback', () => {
  it(
    'falls back from a 3 whose health check fails, marks it bad and never installs it again',
    async () => {
      await publishVersion(lab, '3.0.0');
      const trial = await applyAndRideOutTheTrial('health check failed');
      expect(trial.match(/slipway-initrd: root \/dev\/vda4 verified by \/dev\/vda5/g)).toHaveLength(3);
      // None of the three boots came up healthy; the failures reached the console.
      const onTrial = trial.slice(0, trial.indexOf('slipway-initrd: root /dev/vda2'));
      expect(onTrial).not.toMatch(/slipway-health: ok/);
      expect(onTrial).toMatch(/slipway-health: FAILED: container web keeps restarting \(restarted 3 times\)/);
      expect(trial).toMatch(/slipway-health: rebooting a version on trial/);

      const status = await waitForRollback('3.0.0');
      expect(status.running).toEqual({ version: '2.0.0', slot: 'a' });
      expect(status.bad).toEqual({ '3.0.0': 'did not come up healthy within 3 boots' });
      expect(status.pending).toBeNull();
      expect((await vm.run('slipway-update status')).stdout).toMatch(/never again: 3\.0\.0 \(did not come up healthy within 3 boots\)/);
      await expectNeverRetried(['3.0.0']);
    },
    ROLLBACK_TIMEOUT,
  );

  it(
    'falls back from a 4 whose kernel panics',
    async () => {
      await publishVersion(lab, '4.0.0');
      const trial = await applyAndRideOutTheTrial('kernel panic');
      expect(trial.match(/Kernel panic - not syncing/g)).toHaveLength(3);
      expect(trial).not.toMatch(/slipway-initrd: root \/dev\/vda4/);

      const status = await waitForRollback('4.0.0');
      expect(status.running).toEqual({ version: '2.0.0', slot: 'a' });
      expect(Object.keys(status.bad).sort()).toEqual(['3.0.0', '4.0.0']);
      await expectNeverRetried(['4.0.0', '3.0.0']); // newest first, as check lists them
    },
    ROLLBACK_TIMEOUT,
  );
});
