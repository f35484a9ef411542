/** `check` and `apply`: the newest release this host may take, and its install into the inactive slot. */
import { compareVersions } from '../../shared/debian-version.ts';
import { errorMessage } from '../../errors.ts';
import { rootLabel } from '../../shared/layout.ts';
import type { Slot } from '../slots.ts';
import { installRelease } from './apply.ts';
import { config, TRUSTED_ROOT } from './config.ts';
import { runningHost, type RunningHost } from './host.ts';
import { lock } from './lock.ts';
import { reboot } from './reboot.ts';
import { UpdateRepository, type Release } from './repository.ts';
import { STATE_DIR, readState, result, writeState } from './state.ts';

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

const mib = (bytes: number) => bytes / 1048576;

/** The numbers an operator (and the benchmark) wants from an apply. */
function summary(release: Release, writeSeconds: number, seconds: number): string {
  const slotBytes = release.root.length + release.verity.length;
  const downloaded = slotBytes + release.uki.length;
  const peak = process.resourceUsage().maxRSS / 1024;
  return `slot written at ${(mib(slotBytes) / writeSeconds).toFixed(1)} MiB/s (${mib(slotBytes).toFixed(1)} MiB in ${writeSeconds.toFixed(1)} s); ${mib(downloaded).toFixed(1)} MiB downloaded, installed in ${seconds.toFixed(1)} s; peak memory ${peak.toFixed(0)} MiB`;
}

export async function check(json: boolean): Promise<void> {
  const { release, current, skipped } = await newest();
  if (json) process.stdout.write(`${JSON.stringify({ current, available: release?.version ?? null, skipped }, null, 2)}\n`);
  else process.stdout.write(release ? `${release.version} is available (running ${current})\n` : `up to date (running ${current})\n`);
}

export async function apply(rebootAfter: boolean): Promise<void> {
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
