import { describe, expect, it } from 'vitest';
import { debianPurl } from '../../../src/pipeline/sbom.ts';

describe('debianPurl', () => {
  it('writes the canonical form: a version’s epoch colon and plus encoded, qualifiers sorted', () => {
    expect(debianPurl({ name: 'libstdc++6', version: '12.2.0-14', architecture: 'amd64' }, 'bookworm')).toBe('pkg:deb/debian/libstdc%2B%2B6@12.2.0-14?arch=amd64&distro=bookworm');
    expect(debianPurl({ name: 'cryptsetup-bin', version: '2:2.6.1-4~deb12u2', architecture: 'amd64' }, 'bookworm')).toBe('pkg:deb/debian/cryptsetup-bin@2%3A2.6.1-4~deb12u2?arch=amd64&distro=bookworm');
    expect(debianPurl({ name: 'tzdata', version: '2025b-0+deb12u1', architecture: 'all' }, 'bookworm')).toBe('pkg:deb/debian/tzdata@2025b-0%2Bdeb12u1?arch=all&distro=bookworm');
  });
});
