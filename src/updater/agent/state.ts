/** What the agent remembers on /var: the update in flight, versions that failed, the last result. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { replaceFileDurably } from '../../shared/durable.ts';

export const STATE_DIR = '/var/lib/slipway/update';
const STATE_FILE = `${STATE_DIR}/state.json`;

export interface UpdateState {
  /** Installed into the other slot; decided at the boot after (blessed, or fallen back). */
  pending?: { version: string; label: string; slot: 'a' | 'b'; rootHash: string; at: string };
  /** Versions never to install again, with why. */
  bad: Record<string, string>;
  last?: { result: 'up to date' | 'installed' | 'switched' | 'rolled back' | 'failed'; version?: string; message: string; at: string };
}

export function readState(file = STATE_FILE): UpdateState {
  if (!existsSync(file)) return { bad: {} };
  const state = JSON.parse(readFileSync(file, 'utf8')) as UpdateState;
  return { ...state, bad: state.bad ?? {} };
}

export function writeState(state: UpdateState, file = STATE_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  replaceFileDurably(file, `${JSON.stringify(state, null, 2)}\n`);
}

export function result(state: UpdateState, last: Omit<NonNullable<UpdateState['last']>, 'at'>): UpdateState {
  return { ...state, last: { ...last, at: new Date().toISOString() } };
}
