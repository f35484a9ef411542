import { describe, expect, it } from 'vitest';
import { PackageIndex } from '../../../../src/assemble/archive/packages.ts';

const SHA = 'a'.repeat(64);

const PACKAGES = `Package: libfoo1
Source: foo (1.2-3)
Version: 1.2-3+b1
Installed-Size: 120
Maintainer: Jane <jane@example.org>
Architecture: amd64
Multi-Arch: same
Depends: libc6 (>= 2.34), zlib1g | libz-ng
Pre-Depends: init-system-helpers (>= 1.54~)
Provides: foo-abi-1, libfoo (= 1.2)
Conflicts: libfoo0
Breaks: old-foo (<< 1.0)
Description: a library
 with a long description
Homepage: https://example.org/foo
Priority: optional
Section: libs
Filename: pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb
Size: 4096
SHA256: ${SHA}

Package: base-files
Essential: yes
Priority: required
Version: 12.4
Architecture: amd64
Filename: pool/main/b/base-files/base-files_12.4_amd64.deb
Size: 70000
SHA256: ${SHA}

Package: base-files
Essential: yes
Priority: required
Version: 12.10
Architecture: amd64
Filename: pool/main/b/base-files/base-files_12.10_amd64.deb
Size: 70000
SHA256: ${SHA}

Package: tzdata
Version: 2024a-0
Filename: pool/main/t/tzdata/tzdata_2024a-0_all.deb
SHA256: ${SHA}

Package: arm-only
Version: 1.0
Architecture: arm64
Filename: pool/main/a/arm-only/arm-only_1.0_arm64.deb
SHA256: ${SHA}

Package: no-checksum
Version: 1.0
Architecture: amd64
Filename: pool/main/n/no-checksum/no-checksum_1.0_amd64.deb
`;

function makeIndex(): PackageIndex {
  const index = new PackageIndex('amd64');
  index.addIndex(PACKAGES);
  return index;
}

describe('PackageIndex', () => {
  it('keeps packages of its architecture and "all", with a file and a checksum', () => {
    const index = makeIndex();
    expect([...index.all()].map((p) => p.name).sort()).toEqual(['base-files', 'base-files', 'libfoo1', 'tzdata']);
    expect(index.size).toBe(3);
    expect(index.versions('arm-only')).toEqual([]);
    expect(index.versions('no-checksum')).toEqual([]);
  });

  it('reads the fields of a package', () => {
    const [pkg] = makeIndex().versions('libfoo1');
    expect(pkg).toMatchObject({
      name: 'libfoo1',
      version: '1.2-3+b1',
      architecture: 'amd64',
      multiArch: 'same',
      essential: false,
      priority: 'optional',
      section: 'libs',
      source: 'foo',
      sourceVersion: '1.2-3',
      maintainer: 'Jane <jane@example.org>',
      homepage: 'https://example.org/foo',
      installedSizeKiB: 120,
      filename: 'pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb',
      size: 4096,
      sha256: SHA,
    });
  });

  it('fills in defaults for missing fields', () => {
    const [pkg] = makeIndex().versions('tzdata');
    expect(pkg).toMatchObject({
      architecture: 'all',
      multiArch: 'no',
      essential: false,
      priority: 'optional',
      source: 'tzdata',
      sourceVersion: '2024a-0',
      installedSizeKiB: 0,
      size: 0,
    });
    expect(pkg!.homepage).toBeUndefined();
  });

  it('lists versions newest first and ignores a version seen twice', () => {
    const index = makeIndex();
    index.addIndex(PACKAGES);
    expect(index.versions('base-files').map((p) => p.version)).toEqual(['12.10', '12.4']);
    expect(index.versions('base-files')[0]!.essential).toBe(true);
  });

  it('indexes Provides, with the provided version when given', () => {
    const index = makeIndex();
    const [versioned] = index.providersOf('libfoo');
    expect(versioned!.pkg.name).toBe('libfoo1');
    expect(versioned!.version).toBe('1.2');
    const [plain] = index.providersOf('foo-abi-1');
    expect(plain!.pkg.name).toBe('libfoo1');
    expect(plain!.version).toBeUndefined();
    expect(index.providersOf('libfoo1')).toEqual([]);
  });

  it('parses relationship fields on demand', () => {
    const index = makeIndex();
    const relations = index.relationsOf(index.versions('libfoo1')[0]!);
    expect(relations.depends).toEqual([
      [{ name: 'libc6', relation: '>=', version: '2.34' }],
      [{ name: 'zlib1g' }, { name: 'libz-ng' }],
    ]);
    expect(relations.preDepends).toEqual([[{ name: 'init-system-helpers', relation: '>=', version: '1.54~' }]]);
    expect(relations.conflicts).toEqual([{ name: 'libfoo0' }]);
    expect(relations.breaks).toEqual([{ name: 'old-foo', relation: '<<', version: '1.0' }]);
  });
});
