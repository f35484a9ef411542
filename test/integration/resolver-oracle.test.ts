/**
 * Our resolver against apt: for each package set, slipway and `apt-get install --simulate` (on an
 * empty system, same archive, no recommends) must choose exactly the same packages.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openArchive, type Archive } from '../../src/assemble/archive/open.ts';
import { baseRequests, resolvePackages } from '../../src/assemble/archive/resolve.ts';
import { ContentCache } from '../../src/assemble/cache.ts';
import { ResolveError } from '../../src/errors.ts';
import { SHARED_CACHE, SUITE, testMirror, testSource } from '../helpers/archive.ts';
import { IsolatedApt } from '../helpers/apt.ts';

// The Essential set is passed to apt explicitly: apt does not add it by itself on an empty system,
// while every slipway image with `base: essential` has it.
const SETS: Record<string, string[]> = {
  'default host': ['systemd', 'udev', 'containerd', 'runc', 'iptables', 'ca-certificates', 'nodejs', 'linux-image-amd64'],
  'ssh server and client tools': ['openssh-server', 'curl', 'iproute2', 'sudo'],
  'web server and python': ['nginx-light', 'python3-minimal'],
  'mail (virtual mail-transport-agent)': ['bsd-mailx'],
  'container tooling': ['podman', 'skopeo'],
  'network services': ['dnsmasq-base', 'chrony', 'nftables', 'openssl'],
};

let archive: Archive;
let apt: IsolatedApt;

beforeAll(async () => {
  [archive, apt] = await Promise.all([
    openArchive(testSource(), new ContentCache(SHARED_CACHE)),
    IsolatedApt.create(testMirror(), SUITE),
  ]);
});

function essentialNames(): string[] {
  return baseRequests(archive.index, 'essential').map((request) => request.atom.name);
}

function slipwayNames(names: string[]): string[] {
  const requests = [...baseRequests(archive.index, 'essential'), ...names.map((name) => ({ atom: { name }, origin: 'test' }))];
  return resolvePackages(archive.index, requests)
    .packages.map((pkg) => pkg.name)
    .sort();
}

describe('the resolver agrees with apt', () => {
  it('finds the Essential set apt knows', () => {
    expect(essentialNames()).toContain('base-files');
    expect(essentialNames()).toContain('dpkg');
    expect(essentialNames().length).toBeGreaterThan(15);
  });

  for (const [label, names] of Object.entries(SETS)) {
    it(`chooses the same packages for: ${label}`, async () => {
      const fromApt = await apt.simulateInstall([...essentialNames(), ...names]);
      if (!('names' in fromApt)) throw new Error(`apt refused ${names.join(' ')}:\n${fromApt.refused}`);
      expect(slipwayNames(names)).toEqual(fromApt.names);
    });
  }

  it('refuses what apt refuses: a package that does not exist', async () => {
    const fromApt = await apt.simulateInstall(['no-such-package-slipway']);
    expect('refused' in fromApt).toBe(true);
    expect(() => slipwayNames(['no-such-package-slipway'])).toThrow(ResolveError);
  });

  it('refuses what apt refuses: a version the archive does not have', async () => {
    const fromApt = await apt.simulateInstall(['bash=0.1-1']);
    expect('refused' in fromApt).toBe(true);
    const requests = [{ atom: { name: 'bash', relation: '=' as const, version: '0.1-1' }, origin: 'test' }];
    expect(() => resolvePackages(archive.index, requests)).toThrow(/bash \(= 0\.1-1\): no such version/);
  });
});
