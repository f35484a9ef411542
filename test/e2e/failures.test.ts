/**
 * The harness fails a boot that goes wrong, within its timeout and with the console lines that show
 * why: a kernel panic, an emergency shell, a container that exits and stays down.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BootFailure, VirtualMachine } from '../../qemu/runner.ts';
import { buildVariant } from '../helpers/variant.ts';

let vm: VirtualMachine | undefined;
afterEach(async () => {
  await vm?.dispose();
  vm = undefined;
});

async function bootFailure(image: string, timeoutMs: number): Promise<BootFailure> {
  vm = await VirtualMachine.start({ image, noReboot: true });
  const started = Date.now();
  const failure = await vm.waitFor(/slipway-health: ok/, timeoutMs).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(BootFailure);
  expect(Date.now() - started).toBeLessThan(timeoutMs + 5000);
  return failure as BootFailure;
}

describe('the boot harness catches failed boots', () => {
  it('a kernel panic', async () => {
    // The kernel cannot run the initrd's init: it panics looking for a root of its own.
    const { image } = await buildVariant((r) => (r.kernel.cmdline = ['console=ttyS0', 'rdinit=/no-such-init']));
    const failure = await bootFailure(image, 240_000);
    expect(failure.problem).toMatch(/^kernel panic: Kernel panic - not syncing: /);
    expect(failure.excerpt).toMatch(/Kernel panic - not syncing/);
  });

  it('an emergency shell', async () => {
    const { image } = await buildVariant((r) => (r.kernel.cmdline = ['console=ttyS0', 'systemd.unit=emergency.target']));
    const failure = await bootFailure(image, 240_000);
    expect(failure.problem).toMatch(/^emergency shell: /);
    expect(failure.excerpt).toMatch(/emergency mode/);
  });

  // A crash-looping container fails the check at once (update-rollback.test.ts); this one is never
  // restarted, so the check waits out its timeout.
  it('a container that exits at once and is not restarted', async () => {
    const { image } = await buildVariant((r) => {
      r.containers[0].command = ['/bin/busybox', 'false'];
      r.containers[0].restart = 'no';
      r.health = { timeoutSeconds: 10 };
    });
    const failure = await bootFailure(image, 300_000);
    expect(failure.problem).toMatch(/^health check failed: slipway-health: FAILED: container web is not running \(after 10 s\)$/);
    expect(failure.excerpt).toMatch(/slipway-health: FAILED/);
  });
});
