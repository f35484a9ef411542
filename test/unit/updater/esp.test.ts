import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markBad, removeUkis, stageUki, ukiEntries } from '../../../src/updater/agent/esp.ts';
import { tempDir } from '../../helpers/archive.ts';

function esp(files: string[]): string {
  const dir = tempDir('esp');
  mkdirSync(join(dir, 'EFI/Linux'), { recursive: true });
  for (const file of files) writeFileSync(join(dir, 'EFI/Linux', file), file);
  return dir;
}

describe('UKI entries on the ESP', () => {
  it('reads labels and boot counters as systemd-boot names them', () => {
    const entries = ukiEntries(esp(['host_1.0.0.efi', 'host_2.0.0+2-1.efi', 'host_3.0.0+3.efi', 'notes.txt']));
    expect(entries.sort((a, b) => a.label.localeCompare(b.label))).toEqual([
      { file: 'host_1.0.0.efi', label: 'host_1.0.0', triesLeft: undefined },
      { file: 'host_2.0.0+2-1.efi', label: 'host_2.0.0', triesLeft: 2 },
      { file: 'host_3.0.0+3.efi', label: 'host_3.0.0', triesLeft: 3 },
    ]);
    expect(ukiEntries(tempDir('empty-esp'))).toEqual([]);
  });

  it('stages a new UKI beside its place and names it with 3 tries only when committed', () => {
    const dir = esp(['host_1.0.0.efi']);
    const staged = stageUki(dir, 'host_2.0.0');
    writeFileSync(staged.path, 'uki bytes');
    expect(ukiEntries(dir).map((e) => e.label)).toEqual(['host_1.0.0']);
    staged.commit();
    expect(readdirSync(join(dir, 'EFI/Linux')).sort()).toEqual(['host_1.0.0.efi', 'host_2.0.0+3.efi']);
    expect(readFileSync(join(dir, 'EFI/Linux/host_2.0.0+3.efi'), 'utf8')).toBe('uki bytes');
  });

  it('marks an entry bad (no tries left, so systemd-boot boots it last) and removes a version’s entries', () => {
    const dir = esp(['host_1.0.0.efi', 'host_2.0.0+1-2.efi']);
    markBad(dir, ukiEntries(dir).find((e) => e.label === 'host_2.0.0')!);
    expect(existsSync(join(dir, 'EFI/Linux/host_2.0.0+0-3.efi'))).toBe(true);
    removeUkis(dir, 'host_2.0.0');
    expect(readdirSync(join(dir, 'EFI/Linux'))).toEqual(['host_1.0.0.efi']);
  });
});
