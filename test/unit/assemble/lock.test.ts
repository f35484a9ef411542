import { describe, expect, it } from 'vitest';
import { PackageIndex } from '../../../src/assemble/archive/packages.ts';
import type { Archive } from '../../../src/assemble/archive/open.ts';
import { INITRD_PACKAGES } from '../../../src/assemble/initrd.ts';
import { BOOT_PACKAGES, HOST_SET, LockedPackageSchema, LockfileSchema, resolveLock } from '../../../src/assemble/lock.ts';
import { RecipeSchema } from '../../../src/recipe/schema.ts';

const OLD_ENTRY = {
  name: 'systemd', version: '252.38-1~deb12u1', architecture: 'amd64', filename: 'pool/main/s/systemd/systemd_252.38-1~deb12u1_amd64.deb',
  size: 3_000_000, sha256: 'a'.repeat(64), source: 'systemd', sourceVersion: '252.38-1~deb12u1', essential: false,
};

describe('LockedPackageSchema', () => {
  it('reads entries of lockfiles written before sizes and chains were recorded', () => {
    expect(LockedPackageSchema.parse(OLD_ENTRY)).toEqual(OLD_ENTRY);
  });

  it('reads entries with an installed size and the chain that pulled the package in', () => {
    const entry = { ...OLD_ENTRY, installedSize: 9_437_184, neededBy: ['packages', 'systemd-sysv 252.38-1~deb12u1'] };
    expect(LockedPackageSchema.parse(entry)).toEqual(entry);
  });

  it('refuses a negative or fractional size, an empty chain and unknown keys', () => {
    for (const bad of [{ installedSize: -1 }, { installedSize: 1.5 }, { neededBy: [] }, { neededBy: 'packages' }, { why: ['packages'] }]) {
      expect(LockedPackageSchema.safeParse({ ...OLD_ENTRY, ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('LockfileSchema', () => {
  const lockfile = (releaseDate: string) => {
    const lock = smallLock();
    return { ...lock, distribution: { ...lock.distribution, releaseDate } };
  };

  it('reads a lockfile the resolver wrote', () => {
    expect(LockfileSchema.safeParse(lockfile('Sat, 11 Jul 2026 10:16:37 UTC')).success).toBe(true);
  });

  it('refuses a release date that is not a date, which would have become the build time of every file', () => {
    const bad = LockfileSchema.safeParse(lockfile('last tuesday'));
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([['distribution.releaseDate', 'expected the Release file\'s date, such as "Sat, 11 Jul 2026 10:16:37 UTC"']]);
  });
});

/** A Packages paragraph with an Installed-Size (KiB) and optional Depends. */
function stanza(name: string, kib: number, depends?: string): string {
  return [
    `Package: ${name}`, 'Version: 1.0-1', 'Architecture: amd64', `Installed-Size: ${kib}`, ...(depends ? [`Depends: ${depends}`] : []),
    `Filename: pool/main/${name}_1.0-1_amd64.deb`, 'Size: 100', `SHA256: ${'0'.repeat(64)}`,
  ].join('\n');
}

/** The lock of a recipe with one package and its library, from a small index of the archive. */
function smallLock(): ReturnType<typeof resolveLock> {
  const recipe = RecipeSchema.parse({ name: 'host', version: '1.0.0', distribution: { base: 'none' }, kernel: { package: 'linux-image-test' }, packages: ['app'] });
  const index = new PackageIndex('amd64');
  const names = ['linux-image-test', ...BOOT_PACKAGES, ...INITRD_PACKAGES];
  index.addIndex(`${[...names.map((n) => stanza(n, 10)), stanza('app', 2048, 'libapp'), stanza('libapp', 512)].join('\n\n')}\n`);
  const archive = { index, release: { codename: 'bookworm', date: 'Sat, 10 May 2025 09:30:00 UTC' } } as unknown as Archive;
  return resolveLock(recipe, archive);
}

describe('resolveLock', () => {
  it('records each package’s installed size in bytes and the chain that pulled it in', () => {
    const lock = smallLock();
    expect(LockfileSchema.parse(lock)).toEqual(lock);
    const host = new Map(lock.sets[HOST_SET]!.map((p) => [p.name, p]));
    expect(host.get('app')).toMatchObject({ installedSize: 2048 * 1024, neededBy: ['packages'] });
    expect(host.get('libapp')).toMatchObject({ installedSize: 512 * 1024, neededBy: ['packages', 'app 1.0-1'] });
    expect(lock.sets.initrd!.find((p) => p.name === 'fdisk')).toMatchObject({ installedSize: 10 * 1024, neededBy: ['the initrd'] });
  });
});
