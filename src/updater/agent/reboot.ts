import { execFileSync, spawnSync } from 'node:child_process';
import { calendarMoment, isOpen, nextOpening, parseWindow, windowLength } from '../../shared/reboot-window.ts';

const REBOOT_UNIT = 'slipway-update-reboot';

/** Reboots now, or (outside the reboot window) at a random moment of its next opening. */
export function reboot(windowText?: string): void {
  const now = new Date();
  const window = windowText ? parseWindow(windowText) : undefined;
  if (!window || isOpen(window, now)) {
    execFileSync('systemctl', ['reboot'], { stdio: 'inherit' });
    return;
  }
  const opening = nextOpening(window, now);
  // A reboot an earlier apply scheduled is replaced, not doubled.
  spawnSync('systemctl', ['stop', `${REBOOT_UNIT}.timer`], { stdio: 'ignore' });
  execFileSync('systemd-run', ['--quiet', '--collect', `--unit=${REBOOT_UNIT}`, `--on-calendar=${calendarMoment(opening)}`, `--timer-property=RandomizedDelaySec=${windowLength(window) * 60}`, '--timer-property=AccuracySec=1s', 'systemctl', 'reboot'], { stdio: 'inherit' });
  process.stdout.write(`slipway-update: reboots in the window ${windowText}, from ${calendarMoment(opening)}\n`);
}
