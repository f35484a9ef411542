import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readState, result, writeState } from '../../../src/updater/agent/state.ts';
import { tempDir } from '../../helpers/archive.ts';

describe('the agent state on /var', () => {
  it('starts empty, and keeps what was written, replacing the file whole', () => {
    const file = join(tempDir('state'), 'update', 'state.json');
    expect(readState(file)).toEqual({ bad: {} });
    const state = result({ bad: { '4.0.0': 'did not come up healthy within 3 boots' }, pending: { version: '5.0.0', label: 'host_5.0.0', slot: 'b', rootHash: 'ab'.repeat(32), at: '2026-01-01T00:00:00Z' } }, { result: 'installed', version: '5.0.0', message: 'installed' });
    writeState(state, file);
    expect(readState(file)).toEqual(state);
    expect(state.last?.at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(existsSync(`${file}.new`)).toBe(false);
  });
});
