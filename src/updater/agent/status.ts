import { readSlots, slotOfRootHash } from '../slots.ts';
import { runningHost } from './host.ts';
import { readState } from './state.ts';

/** Slots, versions, the update in flight and the last result, for people or as JSON. */
export function status(json: boolean): void {
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
