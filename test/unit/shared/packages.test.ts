import { describe, expect, it } from 'vitest';
import { formatNeededBy, formatPackagesFile, parsePackagesFile, sizeListing, type PackageRecord } from '../../../src/shared/packages.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

const SYSTEMD: PackageRecord = { name: 'systemd', version: '252.38-1~deb12u1', architecture: 'amd64', installedSize: 9 * MiB, neededBy: ['packages'] };
const LIBSYSTEMD: PackageRecord = {
  name: 'libsystemd-shared', version: '252.38-1~deb12u1', architecture: 'amd64', installedSize: 6 * MiB,
  neededBy: ['packages', 'systemd 252.38-1~deb12u1'],
};
const BASE_FILES: PackageRecord = { name: 'base-files', version: '12.4+deb12u11', architecture: 'amd64', installedSize: 340 * KiB, neededBy: ['the Essential set'] };

describe('the package record in the image', () => {
  it('writes name, version and architecture, then the size in bytes and the chain', () => {
    expect(formatPackagesFile([SYSTEMD, LIBSYSTEMD])).toBe(
      'systemd 252.38-1~deb12u1 amd64 9437184 packages\n' +
      'libsystemd-shared 252.38-1~deb12u1 amd64 6291456 packages → systemd 252.38-1~deb12u1\n',
    );
  });

  it('reads back what it wrote, chains with spaces in their entries and origins included', () => {
    expect(parsePackagesFile(formatPackagesFile([SYSTEMD, LIBSYSTEMD, BASE_FILES]))).toEqual([SYSTEMD, LIBSYSTEMD, BASE_FILES]);
  });

  it('writes the three columns of before when the lockfile has no sizes, and reads such records without them', () => {
    const old = { name: 'runc', version: '1.1.5+ds1-1+deb12u1', architecture: 'amd64' };
    expect(formatPackagesFile([old])).toBe('runc 1.1.5+ds1-1+deb12u1 amd64\n');
    expect(parsePackagesFile('runc 1.1.5+ds1-1+deb12u1 amd64\ntzdata 2025b-0+deb12u1 all\n')).toEqual([
      old,
      { name: 'tzdata', version: '2025b-0+deb12u1', architecture: 'all' },
    ]);
  });

  it('keeps a chain whose size is unknown, with "-" in the size column', () => {
    const text = formatPackagesFile([{ name: 'a', version: '1', architecture: 'all', neededBy: ['packages'] }]);
    expect(text).toBe('a 1 all - packages\n');
    expect(parsePackagesFile(text)).toEqual([{ name: 'a', version: '1', architecture: 'all', neededBy: ['packages'] }]);
  });
});

describe('sizeListing', () => {
  it('sorts largest first, by name among equal sizes, and sums every size', () => {
    const twin = { ...LIBSYSTEMD, name: 'aaa-twin' };
    const listing = sizeListing([BASE_FILES, LIBSYSTEMD, SYSTEMD, twin]);
    expect(listing.rows.map((r) => r.name)).toEqual(['systemd', 'aaa-twin', 'libsystemd-shared', 'base-files']);
    expect(listing.installedSize).toBe(9 * MiB + 6 * MiB + 6 * MiB + 340 * KiB);
    expect(listing).toMatchObject({ packages: 4, unknown: 0 });
    expect(listing.rows[2]).toEqual({ name: 'libsystemd-shared', version: '252.38-1~deb12u1', installedSize: 6 * MiB, neededBy: ['packages', 'systemd 252.38-1~deb12u1'] });
  });

  it('keeps only the top rows but totals all packages', () => {
    const listing = sizeListing([BASE_FILES, LIBSYSTEMD, SYSTEMD], 2);
    expect(listing.rows.map((r) => r.name)).toEqual(['systemd', 'libsystemd-shared']);
    expect(listing.packages).toBe(3);
    expect(listing.installedSize).toBe(15 * MiB + 340 * KiB);
  });

  it('puts packages without a size last and counts them, leaving them out of the total', () => {
    const listing = sizeListing([{ name: 'old', version: '1' }, { ...BASE_FILES, installedSize: 0 }, SYSTEMD]);
    expect(listing.rows.map((r) => [r.name, r.installedSize])).toEqual([['systemd', 9 * MiB], ['base-files', 0], ['old', null]]);
    expect(listing).toMatchObject({ packages: 3, unknown: 1, installedSize: 9 * MiB });
    expect(listing.rows[2]!.neededBy).toEqual([]);
  });
});

describe('formatNeededBy', () => {
  it('shows the origin whole, then the names of the packages in between', () => {
    expect(formatNeededBy(['packages', 'openssh-server 1:9.2p1-2+deb12u6', 'openssh-client 1:9.2p1-2+deb12u6'])).toBe('packages → openssh-server → openssh-client');
    expect(formatNeededBy(['the Essential set'])).toBe('the Essential set');
    expect(formatNeededBy(['containers (web)', 'busybox-static 1:1.35.0-4+b3'])).toBe('containers (web) → busybox-static');
  });

  it('shows a question mark for an unknown chain', () => {
    expect(formatNeededBy([])).toBe('?');
  });
});
