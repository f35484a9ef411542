/**
 * `slipway-update`, bundled into the image as /usr/lib/slipway/update.cjs and run by its Node:
 *
 *   slipway-update check [--json]           is there a newer release on this host's channel?
 *   slipway-update apply [--reboot]         install it into the inactive slot (then reboot into it)
 *   slipway-update status [--json]          slots, versions, the update in flight, the last result
 *   slipway-update rollback [--reboot]      boot the other slot's version again, and never retry this one
 *   slipway-update boot-check               at boot: did the last update come up, or fall back?
 *   slipway-update blessed                  after boot-complete.target: the new version is good
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { SlipwayError, UpdateError, errorMessage } from '../../errors.ts';
import { compareVersions } from '../../shared/debian-version.ts';
import { readSlots, slotOfRootHash, type Slot } from '../slots.ts';
import { PARTITION_TYPES, rootLabel } from '../../shared/layout.ts';
import { installRelease } from './apply.ts';
import { markBad, mountEsp, removeUkis, ukiEntries } from './esp.ts';
import { partitionDevice, runningHost, type RunningHost } from './host.ts';
import { UpdateRepository, type Release } from './repository.ts';
import { STATE_DIR, readState, result, writeState } from './state.ts';
import { calendarMoment, isOpen, nextOpening, parseWindow, windowLength } from '../../shared/reboot-window.ts';

const CONFIG = '/usr/lib/slipway/update/config.json';
const TRUSTED_ROOT = '/usr/lib/slipway/update/root.json';
const HOST_OVERRIDES = '/etc/slipway/update.json';
const REBOOT_UNIT = 'slipway-update-reboot';
const LOCK = '/run/slipway-update.lock';

interface AgentConfig {
  url: string;
  channel: string;
  rebootWindow?: string;
}

/** The recipe's settings, with the host config's channel and reboot window over them. */
function config(): AgentConfig {
  if (!existsSync(CONFIG)) throw new UpdateError('this image has no update repository configured', "set update.url (and update.trustedRoot) in the recipe");
  const base = JSON.parse(readFileSync(CONFIG, 'utf8')) as AgentConfig;
  const host = existsSync(HOST_OVERRIDES) ? (JSON.parse(readFileSync(HOST_OVERRIDES, 'utf8')) as Partial<AgentConfig>) : {};
  return { url: base.url.replace(/\/$/, ''), channel: host.channel ?? base.channel, rebootWindow: host.rebootWindow ?? base.rebootWindow };
}

/** One update at a time: a lock file holding the pid, stale when that process is gone. */
function lock(): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'));
      if (holder && existsSync(`/proc/${holder}`)) throw new UpdateError(`another update is running (pid ${holder})`, 'wait for it, or see slipway-update status');
      rmSync(LOCK, { force: true });
    }
  }
  throw new UpdateError(`cannot take ${LOCK}`, 'is /run writable?');
}

async function newest(): Promise<{ release?: Release; current: string; skipped: string[]; host: RunningHost; repository: UpdateRepository }> {
  const host = runningHost();
  const { url, channel } = config();
  const state = readState();
  const repository = new UpdateRepository(url, STATE_DIR, TRUSTED_ROOT);
  const releases = await repository.releases(host.name, channel);
  const newer = releases.filter((r) => compareVersions(r.version, host.version) > 0);
  const skipped = newer.filter((r) => state.bad[r.version]).map((r) => r.version);
  return { release: newer.find((r) => !state.bad[r.version]), current: host.version, skipped, host, repository };
}

/** Reboots now, or (outside the reboot window) at a random moment of its next opening. */
function reboot(windowText?: string): void {
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

const mib = (bytes: number) => bytes / 1048576;

/** The numbers an operator (and the benchmark) wants from an apply. */
function summary(release: Release, writeSeconds: number, seconds: number): string {
  const slotBytes = release.root.length + release.verity.length;
  const downloaded = slotBytes + release.uki.length;
  const peak = process.resourceUsage().maxRSS / 1024;
  return `slot written at ${(mib(slotBytes) / writeSeconds).toFixed(1)} MiB/s (${mib(slotBytes).toFixed(1)} MiB in ${writeSeconds.toFixed(1)} s); ${mib(downloaded).toFixed(1)} MiB downloaded, installed in ${seconds.toFixed(1)} s; peak memory ${peak.toFixed(0)} MiB`;
}

async function check(json: boolean): Promise<void> {
  const { release, current, skipped } = await newest();
  if (json) process.stdout.write(`${JSON.stringify({ current, available: release?.version ?? null, skipped }, null, 2)}\n`);
  else process.stdout.write(release ? `${release.version} is available (running ${current})\n` : `up to date (running ${current})\n`);
}

async function apply(rebootAfter: boolean): Promise<void> {
  const unlock = lock();
  try {
    const { release, current, host, repository } = await newest();
    if (!release) {
      writeState(result(readState(), { result: 'up to date', version: current, message: `up to date at ${current}` }));
      process.stdout.write(`up to date (running ${current})\n`);
      return;
    }
    const pending = (slot: Slot) => ({ version: release.version, label: rootLabel(release.name, release.version), slot: slot.name, rootHash: release.rootHash, at: new Date().toISOString() });
    try {
      const started = performance.now();
      const say = (step: string) => process.stdout.write(`slipway-update: ${step}\n`);
      const { slot, writeSeconds } = await installRelease(host, release, repository, say, (slot) => writeState({ ...readState(), pending: pending(slot) }));
      process.stdout.write(`slipway-update: ${summary(release, writeSeconds, (performance.now() - started) / 1000)}\n`);
      writeState(result(readState(), { result: 'installed', version: release.version, message: `${release.version} installed in slot ${slot.name}; it runs after a reboot` }));
    } catch (error) {
      writeState(result({ ...readState(), pending: undefined }, { result: 'failed', version: release.version, message: errorMessage(error) }));
      throw error;
    }
  } finally {
    unlock();
  }
  if (rebootAfter) reboot(config().rebootWindow);
}

function espOf(host: ReturnType<typeof runningHost>, disk: ReturnType<typeof readSlots>): string {
  return mountEsp(partitionDevice(host.disk, disk.table.partitions.find((p) => p.type === PARTITION_TYPES.esp)!.number));
}

/**
 * At every boot, for an update in flight: running it means it came up (`blessed` finishes once
 * boot-complete.target is reached); its entry out of tries means it failed its three boots (bad,
 * never installed again); no entry at all means the power went before it became bootable.
 */
function bootCheck(): void {
  const state = readState();
  if (!state.pending) return;
  const host = runningHost();
  if (host.version === state.pending.version) return;
  const pending = state.pending;
  const esp = espOf(host, readSlots(host.disk));
  const entries = ukiEntries(esp).filter((entry) => entry.label === pending.label);
  if (entries.length === 0) {
    const message = `the install of ${pending.version} was interrupted before it became bootable; still on ${host.version}`;
    writeState(result({ ...state, pending: undefined }, { result: 'failed', version: pending.version, message }));
    process.stdout.write(`slipway-update: ${message}\n`);
    return;
  }
  if (!entries.some((entry) => entry.triesLeft === 0)) return; // not tried yet: systemd-boot still has it to boot
  removeUkis(esp, pending.label);
  const message = `${pending.version} did not come up healthy within its 3 boots; back on ${host.version}, and ${pending.version} is never installed again`;
  writeState(result({ ...state, pending: undefined, bad: { ...state.bad, [pending.version]: 'did not come up healthy within 3 boots' } }, { result: 'rolled back', version: pending.version, message }));
  process.stdout.write(`slipway-update: ${message}\n`);
}

function blessed(): void {
  const state = readState();
  const host = runningHost();
  if (state.pending?.version !== host.version) return;
  writeState(result({ ...state, pending: undefined }, { result: 'switched', version: host.version, message: `running ${host.version} in slot ${state.pending.slot}` }));
  process.stdout.write(`slipway-update: ${host.version} is good\n`);
}

function status(json: boolean): void {
  const host = runningHost();
  const disk = readSlots(host.disk);
  const running = slotOfRootHash(disk, host.rootHash);
  const state = readState();
  const report = {
    running: { version: host.version, slot: running?.name },
    slots: disk.slots.map((slot) => ({ slot: slot.name, contents: slot.label ?? null, running: slot === running })),
    pending: state.pending ?? null,
    bad: state.bad,
    last: state.last ?? null,
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  process.stdout.write(`running ${host.version} in slot ${running?.name ?? '?'}\n`);
  for (const slot of report.slots) process.stdout.write(`slot ${slot.slot}: ${slot.contents ?? 'empty'}${slot.running ? ' (running)' : ''}\n`);
  if (state.pending) process.stdout.write(`pending: ${state.pending.version} in slot ${state.pending.slot}\n`);
  for (const [version, why] of Object.entries(state.bad)) process.stdout.write(`never again: ${version} (${why})\n`);
  if (state.last) process.stdout.write(`last: ${state.last.result}: ${state.last.message} (${state.last.at})\n`);
}

function rollback(rebootAfter: boolean): void {
  const host = runningHost();
  const disk = readSlots(host.disk);
  const other = disk.slots.find((slot) => slot !== slotOfRootHash(disk, host.rootHash));
  const esp = espOf(host, disk);
  const entries = ukiEntries(esp);
  if (!other?.label || !entries.some((e) => e.label === other.label)) throw new UpdateError('the other slot holds no bootable version', 'there is nothing to roll back to');
  for (const entry of entries.filter((e) => e.label === rootLabel(host.name, host.version))) markBad(esp, entry);
  const state = readState();
  writeState(result({ ...state, pending: undefined, bad: { ...state.bad, [host.version]: 'rolled back by hand' } }, { result: 'rolled back', version: host.version, message: `rolled back by hand from ${host.version} to ${other.label}` }));
  process.stdout.write(`slipway-update: ${other.label} boots next\n`);
  if (rebootAfter) reboot();
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  const rebootAfter = rest.includes('--reboot');
  try {
    if (command === 'check') await check(json);
    else if (command === 'apply') await apply(rebootAfter);
    else if (command === 'status') status(json);
    else if (command === 'rollback') rollback(rebootAfter);
    else if (command === 'boot-check') bootCheck();
    else if (command === 'blessed') blessed();
    else {
      process.stderr.write('usage: slipway-update check|apply [--reboot]|status [--json]|rollback [--reboot]\n');
      return 2;
    }
    return 0;
  } catch (error) {
    const message = error instanceof SlipwayError ? `slipway-update: ${error.message}\nhint: ${error.hint}\n` : `slipway-update: ${errorMessage(error)}\n`;
    process.stderr.write(message);
    return error instanceof SlipwayError ? error.exitCode : 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
