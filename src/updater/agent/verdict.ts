/**
 * What becomes of a version once it was installed: at boot, whether it came up or fell back; after
 * boot-complete.target, that it is good; by hand, that it goes back to the other slot's version.
 */
import { UpdateError } from '../../errors.ts';
import { PARTITION_TYPES, rootLabel } from '../../shared/layout.ts';
import { readSlots, slotOfRootHash } from '../slots.ts';
import { markBad, mountEsp, removeUkis, ukiEntries } from './esp.ts';
import { partitionDevice, runningHost } from './host.ts';
import { reboot } from './reboot.ts';
import { readState, result, writeState } from './state.ts';

function espOf(host: ReturnType<typeof runningHost>, disk: ReturnType<typeof readSlots>): string {
  return mountEsp(partitionDevice(host.disk, disk.table.partitions.find((p) => p.type === PARTITION_TYPES.esp)!.number));
}

/**
 * At every boot, for an update in flight: running it means it came up (`blessed` finishes once
 * boot-complete.target is reached); its entry out of tries means it failed its three boots (bad,
 * never installed again); no entry at all means the power went before it became bootable.
 */
export function bootCheck(): void {
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

export function blessed(): void {
  const state = readState();
  const host = runningHost();
  if (state.pending?.version !== host.version) return;
  writeState(result({ ...state, pending: undefined }, { result: 'switched', version: host.version, message: `running ${host.version} in slot ${state.pending.slot}` }));
  process.stdout.write(`slipway-update: ${host.version} is good\n`);
}

export function rollback(rebootAfter: boolean): void {
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
