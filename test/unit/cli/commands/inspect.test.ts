import { describe, expect, it } from 'vitest';
import { sizeTable } from '../../../../src/cli/commands/inspect.ts';
import { sizeListing } from '../../../../src/shared/packages.ts';

describe('inspect --sizes for people', () => {
  it('prints SIZE PACKAGE WHY, largest first, in KiB and MiB, with the total last', () => {
    const listing = sizeListing([
      { name: 'base-files', version: '12.4', installedSize: 340 * 1024, neededBy: ['the Essential set'] },
      { name: 'libsystemd-shared', version: '252.38', installedSize: 6 * 1048576 + 524288, neededBy: ['packages', 'systemd 252.38'] },
      { name: 'systemd', version: '252.38', installedSize: 9 * 1048576, neededBy: ['packages'] },
    ]);
    expect(sizeTable(listing)).toBe(
      [
        '     SIZE  PACKAGE            WHY',
        '  9.0 MiB  systemd            packages',
        '  6.5 MiB  libsystemd-shared  packages → systemd',
        '340.0 KiB  base-files         the Essential set',
        ' 15.8 MiB  total of 3 packages',
        '',
      ].join('\n'),
    );
  });

  it('says why sizes are missing and what to do', () => {
    const text = sizeTable(sizeListing([{ name: 'runc', version: '1.1.5' }]));
    expect(text).toMatch(/^   \?  runc     \?$/m);
    expect(text).toMatch(/1 of 1 packages have no recorded size .*run 'slipway lock RECIPE' and build again/);
  });
});
