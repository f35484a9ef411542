import { describe, expect, it } from 'vitest';
import { closureProblems, type ControlledPackage } from '../../../../src/assemble/archive/closure.ts';

function controlled(name: string, version: string, fields: Record<string, string> = {}): ControlledPackage {
  const extra = Object.entries(fields).map(([field, value]) => `${field}: ${value}\n`).join('');
  return { name, version, control: `Package: ${name}\nVersion: ${version}\nArchitecture: amd64\n${extra}Description: test\n` };
}

const LIBC = controlled('libc6', '2.36-9', { 'Multi-Arch': 'same' });
const MAWK = controlled('mawk', '1.3.4', { Provides: 'awk', Depends: 'libc6 (>= 2.29)' });
const options = { architecture: 'amd64', mayBeMissing: new Set<string>() };

describe('closureProblems', () => {
  it('accepts a set that meets every dependency, by name, alternative or Provides', () => {
    const set = [LIBC, MAWK, controlled('base-files', '12.4', { 'Pre-Depends': 'awk', Depends: 'libc6 (>= 2.34), zlib1g | libc6' })];
    expect(closureProblems(set, options)).toEqual([]);
  });

  it('names a dependency nothing in the set meets, with the packages that need it', () => {
    const set = [MAWK, controlled('bash', '5.2', { 'Pre-Depends': 'libc6 (>= 2.36)' }), controlled('dash', '0.5', { Depends: 'libc6 (>= 2.36)' })];
    expect(closureProblems(set, options)).toEqual([
      'nothing in the set meets "libc6 (>= 2.29)", which mawk 1.3.4 depends on',
      'nothing in the set meets "libc6 (>= 2.36)", which bash 5.2, dash 0.5 depend on',
    ]);
  });

  it('counts a version that does not fit as missing', () => {
    expect(closureProblems([controlled('libc6', '2.28-10'), MAWK], options)).toEqual([
      'nothing in the set meets "libc6 (>= 2.29)", which mawk 1.3.4 depends on',
    ]);
  });

  it('lets names the image leaves out or provides itself go unmet', () => {
    const set = [LIBC, controlled('systemd', '252', { Depends: 'libc6, linux-initramfs-tool, libcryptsetup12' })];
    expect(closureProblems(set, { ...options, mayBeMissing: new Set(['linux-initramfs-tool', 'libcryptsetup12']) })).toEqual([]);
  });

  it('refuses a .deb that is not the package the lockfile names', () => {
    const set = [LIBC, { ...MAWK, name: 'gawk' }, { name: 'hostname', version: '3.23', control: 'garbage' }];
    expect(closureProblems(set, options)).toEqual([
      'gawk 1.3.4: its .deb is mawk 1.3.4',
      'hostname 3.23: its .deb has no control file naming a package and version',
    ]);
  });

  it('reports a control file whose relations do not parse instead of failing', () => {
    const set = [LIBC, controlled('broken', '1', { Depends: 'libc6 (>= )' })];
    expect(closureProblems(set, options)).toEqual(['broken 1: its control file: cannot parse dependency "libc6 (>= )"']);
  });
});
