import { describe, expect, it } from 'vitest';
import { cleanConsole, consoleTail, failedUnits, fatalProblem, fatalProblems, judgeConsole } from '../../../qemu/console.ts';

/** A boot that went well, as the serial console shows it once cleaned. */
const GOOD_BOOT = [
  '[    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)',
  '[    0.000000] Command line: console=ttyS0 transparent_hugepage=never',
  '[    2.104455] slipway-initrd: root /dev/vda2 verified by /dev/vda3, /var on /dev/vda6',
  '[    2.913201] systemd[1]: systemd 252.31-1~deb12u1 running in system mode (+PAM +AUDIT +SELINUX)',
  '',
  'Welcome to host 1.0.0 (slipway)!',
  '',
  '[  OK  ] Started systemd-journald.service - Journal Service.',
  '[  OK  ] Reached target multi-user.target - Multi-User System.',
  'slipway-health: ok',
].join('\n');

function boot(...lines: string[]): string {
  return `${GOOD_BOOT}\n${lines.join('\n')}\n`;
}

describe('cleanConsole', () => {
  it("removes systemd's colours and the serial line's carriage returns", () => {
    const raw = '[\x1b[0;32m  OK  \x1b[0m] Started \x1b[0;1;39mcontainerd.service\x1b[0m - containerd container runtime.\r\n[\x1b[0;1;31mFAILED\x1b[0m] Failed to start \x1b[0;1;39mslipway-container-web.service\x1b[0m - Container web.\r\n';
    expect(cleanConsole(raw)).toBe('[  OK  ] Started containerd.service - containerd container runtime.\n[FAILED] Failed to start slipway-container-web.service - Container web.\n');
  });

  it('removes cursor and private-mode escapes too', () => {
    expect(cleanConsole('\x1b[?25l\x1b[2J\x1b[1;1HBdsDxe: loading Boot0001\x1b[?25h\r\n')).toBe('BdsDxe: loading Boot0001\n');
  });

  it('leaves plain text alone', () => {
    expect(cleanConsole(GOOD_BOOT)).toBe(GOOD_BOOT);
  });
});

describe('consoleTail', () => {
  it('keeps the last lines', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join('\n');
    expect(consoleTail(text, 3)).toBe('line 98\nline 99\nline 100');
    expect(consoleTail(text).split('\n')).toHaveLength(40);
    expect(consoleTail(text).split('\n')[0]).toBe('line 61');
  });

  it('keeps all of a short console', () => {
    expect(consoleTail('one\ntwo', 40)).toBe('one\ntwo');
  });
});

describe('fatalProblem', () => {
  it('finds nothing in a good boot', () => {
    expect(fatalProblem(GOOD_BOOT)).toBeUndefined();
  });

  it('finds a kernel panic, with its line', () => {
    const text = boot('[    3.141592] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', '[    3.141700] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0-28-amd64 #1');
    expect(fatalProblem(text)).toBe('kernel panic: Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)');
  });

  it('finds an oops by its first line, BUG: or Oops:', () => {
    const text = boot('[   12.345678] BUG: kernel NULL pointer dereference, address: 0000000000000008', '[   12.345700] #PF: supervisor read access in kernel mode', '[   12.345800] Oops: 0000 [#1] PREEMPT SMP NOPTI');
    expect(fatalProblem(text)).toBe('kernel oops: BUG: kernel NULL pointer dereference, address: 0000000000000008');
    expect(fatalProblem(boot('[   12.345800] Oops: 0002 [#1] PREEMPT SMP NOPTI'))).toBe('kernel oops: Oops: 0002 [#1] PREEMPT SMP NOPTI');
  });

  it('does not take a word that ends in BUG or Oops for an oops', () => {
    expect(fatalProblem(boot('[    1.000000] DEBUG: probing virtio devices', 'NoOops: nothing happened'))).toBeUndefined();
  });

  it("finds systemd's emergency shell, whichever of its lines shows", () => {
    expect(fatalProblem(boot('[  OK  ] Reached target emergency.target - Emergency Mode.', 'You are in emergency mode. After logging in, type "journalctl -xb" to view'))).toBe(
      'emergency shell: You are in emergency mode. After logging in, type "journalctl -xb" to view',
    );
    expect(fatalProblem(boot('Give root password for maintenance', '(or press Control-D to continue): '))).toBe('emergency shell: Give root password for maintenance');
    expect(fatalProblem(boot('[   45.000000] systemd[1]: Entering emergency mode. Exit the shell to continue.'))).toBe('emergency shell: Entering emergency mode. Exit the shell to continue.');
  });

  it('finds an error of the initrd and a failed health check', () => {
    expect(fatalProblem(boot('[    2.200000] slipway-initrd: error: cannot mount the verified root /dev/vda2'))).toBe('initrd failure: slipway-initrd: error: cannot mount the verified root /dev/vda2');
    expect(fatalProblem(boot('slipway-health: FAILED: container web is not running (after 60 s)'))).toBe('health check failed: slipway-health: FAILED: container web is not running (after 60 s)');
  });

  it('does not take a passing or rebooting health check, or initrd progress, for a failure', () => {
    expect(fatalProblem(boot('slipway-health: rebooting a version on trial', 'slipway-initrd: growing /var to the end of /dev/vda'))).toBeUndefined();
  });

  it('reports the first kind in its own order, not the first in the text', () => {
    const text = boot('slipway-health: FAILED: a container keeps restarting (after 60 s)', '[  120.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100');
    expect(fatalProblem(text)).toBe('kernel panic: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100');
  });

  it('passes over the problems a test expects, and still finds the others', () => {
    const health = boot('slipway-health: FAILED: container web keeps restarting (restarted 3 times)');
    expect(fatalProblem(health, ['health check failed'])).toBeUndefined();
    const both = boot('slipway-health: FAILED: container web keeps restarting (restarted 3 times)', 'Entering emergency mode. Exit the shell to continue.');
    expect(fatalProblem(both, ['health check failed'])).toBe('emergency shell: Entering emergency mode. Exit the shell to continue.');
  });
});

describe('fatalProblems', () => {
  it('lists each kind of problem once, with the first line that shows it', () => {
    const text = boot(
      'slipway-health: FAILED: container web is not running (after 60 s)',
      '[   80.000000] BUG: unable to handle page fault for address: ffffffffc0a01000',
      '[   80.100000] Kernel panic - not syncing: Fatal exception',
      '[   90.000000] Kernel panic - not syncing: a second one',
    );
    expect(fatalProblems(text)).toEqual([
      'kernel panic: Kernel panic - not syncing: Fatal exception',
      'kernel oops: BUG: unable to handle page fault for address: ffffffffc0a01000',
      'health check failed: slipway-health: FAILED: container web is not running (after 60 s)',
    ]);
  });

  it('is empty for a good boot', () => {
    expect(fatalProblems(GOOD_BOOT)).toEqual([]);
  });
});

describe('failedUnits', () => {
  it('names every unit systemd failed to start, as it wrote them', () => {
    const text = boot(
      '[FAILED] Failed to start slipway-container-web.service - Container web.',
      "See 'systemctl status slipway-container-web.service' for details.",
      '[  OK  ] Started ssh.service - OpenBSD Secure Shell server.',
      '[ FAILED ] Failed to start systemd-networkd.service - Network Configuration.  ',
    );
    expect(failedUnits(text)).toEqual(['slipway-container-web.service - Container web.', 'systemd-networkd.service - Network Configuration.']);
  });

  it('finds a failure once the colours are cleaned away', () => {
    const raw = '[\x1b[0;1;31mFAILED\x1b[0m] Failed to start \x1b[0;1;39mcontainerd.service\x1b[0m - containerd container runtime.\r\n';
    expect(failedUnits(cleanConsole(raw))).toEqual(['containerd.service - containerd container runtime.']);
  });

  it('ignores units that started, and failures that are not failures to start', () => {
    const text = boot('[  OK  ] Started containerd.service - containerd container runtime.', '[FAILED] Failed unmounting var.mount - /var.', 'Failed to start the debug shell: no console');
    expect(failedUnits(text)).toEqual([]);
  });
});

describe('judgeConsole', () => {
  it('passes a good boot, with its tail', () => {
    expect(judgeConsole(GOOD_BOOT)).toEqual({ ok: true, problems: [], failedUnits: [], excerpt: GOOD_BOOT });
  });

  it('fails a boot with a failed unit even without a fatal problem', () => {
    const verdict = judgeConsole(boot('[FAILED] Failed to start slipway-container-web.service - Container web.'));
    expect(verdict).toMatchObject({ ok: false, problems: [], failedUnits: ['slipway-container-web.service - Container web.'] });
  });

  it('fails a boot with a fatal problem, the excerpt ending with the console', () => {
    const filler = Array.from({ length: 60 }, (_, i) => `[   ${10 + i}.000000] systemd[1]: step ${i}`);
    const verdict = judgeConsole(boot(...filler, '[   99.000000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100'));
    expect(verdict.ok).toBe(false);
    expect(verdict.problems).toEqual(['kernel panic: Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100']);
    expect(verdict.excerpt.split('\n')).toHaveLength(40);
    expect(verdict.excerpt).toMatch(/Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n$/);
    expect(verdict.excerpt).not.toMatch(/Welcome to/);
  });
});
