import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../../../src/assemble/archive/depends.ts';
import { PackageIndex } from '../../../../src/assemble/archive/packages.ts';
import { baseRequests, resolvePackages, type Resolution } from '../../../../src/assemble/archive/resolve.ts';
import { ResolveError } from '../../../../src/errors.ts';

/** One Packages paragraph: "name version" on the first line, then any further "Field: value" lines. */
function stanza(head: string, ...fields: string[]): string {
  const [name, version] = head.split(' ');
  return [
    `Package: ${name}`,
    `Version: ${version}`,
    'Architecture: amd64',
    ...fields,
    `Filename: pool/main/${name}_${version}_amd64.deb`,
    `SHA256: ${'0'.repeat(64)}`,
  ].join('\n');
}

function makeIndex(...stanzas: string[]): PackageIndex {
  const index = new PackageIndex('amd64');
  index.addIndex(`${stanzas.join('\n\n')}\n`);
  return index;
}

function resolve(index: PackageIndex, ...requests: string[]): Resolution {
  return resolvePackages(
    index,
    requests.map((text) => ({ atom: parseRequest(text), origin: 'recipe packages' })),
  );
}

const chosen = (resolution: Resolution) => resolution.packages.map((p) => `${p.name} ${p.version}`);

function resolveError(index: PackageIndex, ...requests: string[]): ResolveError {
  try {
    resolve(index, ...requests);
  } catch (error) {
    expect(error).toBeInstanceOf(ResolveError);
    return error as ResolveError;
  }
  throw new Error('expected a ResolveError');
}

describe('resolvePackages', () => {
  it('follows dependencies to a closed set, sorted by name, with the chain for each', () => {
    const index = makeIndex(
      stanza('top 1', 'Depends: mid'),
      stanza('mid 2', 'Depends: leaf (>= 1.0)'),
      stanza('leaf 1.5'),
      stanza('unrelated 1'),
    );
    const resolution = resolve(index, 'top');
    expect(chosen(resolution)).toEqual(['leaf 1.5', 'mid 2', 'top 1']);
    expect(resolution.reasons.get('leaf')).toEqual(['recipe packages', 'top 1', 'mid 2']);
    expect(resolution.reasons.get('top')).toEqual(['recipe packages']);
  });

  it('takes the newest version unless a request pins another', () => {
    const index = makeIndex(stanza('b 1.0'), stanza('b 2.0'), stanza('b 1.5'));
    expect(chosen(resolve(index, 'b'))).toEqual(['b 2.0']);
    expect(chosen(resolve(index, 'b=1.0'))).toEqual(['b 1.0']);
    expect(chosen(resolve(index, 'b (<< 2.0)'))).toEqual(['b 1.5']);
  });

  it('follows Pre-Depends', () => {
    const index = makeIndex(stanza('a 1', 'Pre-Depends: b'), stanza('b 1'));
    expect(chosen(resolve(index, 'a'))).toEqual(['a 1', 'b 1']);
  });

  it('stops at dependency cycles', () => {
    const index = makeIndex(stanza('a 1', 'Depends: b'), stanza('b 1', 'Depends: a'));
    expect(chosen(resolve(index, 'a'))).toEqual(['a 1', 'b 1']);
  });

  describe('alternatives', () => {
    const index = makeIndex(stanza('a 1', 'Depends: b | c'), stanza('b 1'), stanza('c 1'), stanza('x 1', 'Conflicts: b'));

    it('chooses the first alternative', () => {
      expect(chosen(resolve(index, 'a'))).toEqual(['a 1', 'b 1']);
    });

    it('needs nothing more when a chosen package already satisfies the group', () => {
      expect(chosen(resolve(index, 'c', 'a'))).toEqual(['a 1', 'c 1']);
    });

    it('skips an alternative that conflicts with a chosen package', () => {
      expect(chosen(resolve(index, 'x', 'a'))).toEqual(['a 1', 'c 1', 'x 1']);
    });

    it('skips an alternative a chosen package conflicts with', () => {
      const reverse = makeIndex(stanza('a 1', 'Depends: b | c'), stanza('b 1'), stanza('c 1'), stanza('y 1', 'Breaks: b'));
      expect(chosen(resolve(reverse, 'y', 'a'))).toEqual(['a 1', 'c 1', 'y 1']);
    });
  });

  describe('virtual packages', () => {
    it('installs the only provider of a virtual dependency', () => {
      const index = makeIndex(stanza('mailer 1', 'Depends: mail-transport-agent'), stanza('exim 4', 'Provides: mail-transport-agent'));
      expect(chosen(resolve(index, 'mailer'))).toEqual(['exim 4', 'mailer 1']);
    });

    it('prefers the provider with the higher priority, then the name', () => {
      const index = makeIndex(
        stanza('mailer 1', 'Depends: mta'),
        stanza('aaa-mta 1', 'Provides: mta', 'Priority: optional'),
        stanza('zzz-mta 1', 'Provides: mta', 'Priority: important'),
      );
      expect(chosen(resolve(index, 'mailer'))).toEqual(['mailer 1', 'zzz-mta 1']);
    });

    it('lets a versioned Provides satisfy a versioned dependency, but not an unversioned one', () => {
      const index = makeIndex(
        stanza('app 1', 'Depends: api (>= 2)'),
        stanza('aaa-plain 1', 'Provides: api'),
        stanza('zzz-versioned 1', 'Provides: api (= 2.5)'),
      );
      expect(chosen(resolve(index, 'app'))).toEqual(['app 1', 'zzz-versioned 1']);
    });

    it('fails when only an unversioned Provides exists for a versioned dependency', () => {
      const index = makeIndex(stanza('app 1', 'Depends: api (>= 2)'), stanza('plain 1', 'Provides: api'));
      expect(resolveError(index, 'app').message).toBe(
        'recipe packages → app 1: dependency "api (>= 2)" cannot be satisfied (api is not in the archive)',
      );
    });

    it('allows a package to conflict with a virtual name it provides itself', () => {
      const index = makeIndex(stanza('exim 4', 'Provides: mta', 'Conflicts: mta'), stanza('mailer 1', 'Depends: mta'));
      expect(chosen(resolve(index, 'mailer'))).toEqual(['exim 4', 'mailer 1']);
    });

    it('takes the only provider of a requested virtual package', () => {
      const index = makeIndex(stanza('exim 4', 'Provides: mta'));
      expect(chosen(resolve(index, 'mta'))).toEqual(['exim 4']);
    });

    it('refuses a requested virtual package with two providers, naming both', () => {
      const index = makeIndex(stanza('postfix 3', 'Provides: mta'), stanza('exim 4', 'Provides: mta'));
      const error = resolveError(index, 'mta');
      expect(error.message).toBe('recipe packages: "mta" is a virtual package provided by exim, postfix');
      expect(error.hint).toMatch(/name the one you want/);
    });
  });

  describe(':any dependencies', () => {
    it('are satisfied by a Multi-Arch: allowed package', () => {
      const index = makeIndex(stanza('tool 1', 'Depends: python3:any (>= 3.11)'), stanza('python3 3.11.2', 'Multi-Arch: allowed'));
      expect(chosen(resolve(index, 'tool'))).toEqual(['python3 3.11.2', 'tool 1']);
    });

    it('are not satisfied by a Multi-Arch: no package', () => {
      const index = makeIndex(stanza('tool 1', 'Depends: python3:any'), stanza('python3 3.11.2'));
      expect(resolveError(index, 'tool').message).toMatch(/^recipe packages → tool 1: dependency "python3:any" cannot be satisfied/);
    });
  });

  describe('errors', () => {
    it('names an unknown package', () => {
      const error = resolveError(makeIndex(stanza('a 1')), 'a', 'nosuchpkg');
      expect(error.message).toBe('recipe packages: unknown package "nosuchpkg"');
      expect(error.exitCode).toBe(7);
    });

    it('ignores packages of another architecture', () => {
      const index = new PackageIndex('amd64');
      index.addIndex(stanza('armonly 1').replace('Architecture: amd64', 'Architecture: arm64'));
      expect(resolveError(index, 'armonly').message).toBe('recipe packages: unknown package "armonly"');
    });

    it('names the chain when no version meets a constraint', () => {
      const index = makeIndex(stanza('top 1', 'Depends: a'), stanza('a 1.0', 'Depends: b (>= 2.0)'), stanza('b 1.0'));
      expect(resolveError(index, 'top').message).toBe(
        `recipe packages → top 1 → a 1.0: dependency "b (>= 2.0)" cannot be satisfied (the archive's b is 1.0)`,
      );
    });

    it('lists the archive versions when a requested version does not exist', () => {
      const index = makeIndex(stanza('b 1.0'), stanza('b 2.0'));
      expect(resolveError(index, 'b=3.0').message).toBe(
        'recipe packages: b (= 3.0): no such version (the archive has 2.0, 1.0)',
      );
    });

    it('reports a pin that disagrees with a version already chosen', () => {
      const index = makeIndex(stanza('a 1', 'Depends: b'), stanza('b 1.0'), stanza('b 2.0'));
      expect(resolveError(index, 'a', 'b=1.0').message).toBe(
        'recipe packages → b: needs b 1.0, but 2.0 is already chosen (via recipe packages → a 1)',
      );
    });

    it('names both packages when two requested packages conflict', () => {
      const index = makeIndex(stanza('a 1', 'Conflicts: b'), stanza('b 2'));
      const error = resolveError(index, 'a', 'b');
      expect(error.message).toBe('a 1 conflicts with b 2 ("b"), pulled in by recipe packages');
      expect(error.hint).toMatch(/drop one of a and b/);
    });

    it('accepts a versioned Breaks the chosen version does not meet', () => {
      const index = makeIndex(stanza('a 1', 'Breaks: b (<< 2)'), stanza('b 2'));
      expect(chosen(resolve(index, 'a', 'b'))).toEqual(['a 1', 'b 2']);
    });
  });
});

describe('baseRequests', () => {
  const index = makeIndex(
    stanza('dpkg 1.21', 'Essential: yes', 'Priority: required'),
    stanza('base-files 12', 'Essential: yes', 'Priority: required'),
    stanza('apt 2.6', 'Priority: required', 'Depends: libapt'),
    stanza('libapt 2.6', 'Priority: important'),
    stanza('vim 9', 'Priority: optional'),
  );

  it('asks for the Essential packages, sorted', () => {
    expect(baseRequests(index, 'essential')).toEqual([
      { atom: { name: 'base-files' }, origin: 'the Essential set' },
      { atom: { name: 'dpkg' }, origin: 'the Essential set' },
    ]);
  });

  it('adds Priority: required packages for "required"', () => {
    const requests = baseRequests(index, 'required');
    expect(requests.map((r) => r.atom.name)).toEqual(['apt', 'base-files', 'dpkg']);
    expect(requests.every((r) => r.origin === 'the required set')).toBe(true);
    expect(chosen(resolvePackages(index, requests))).toEqual(['apt 2.6', 'base-files 12', 'dpkg 1.21', 'libapt 2.6']);
  });

  it('asks for nothing for "none"', () => {
    expect(baseRequests(index, 'none')).toEqual([]);
  });
});

describe('resolvePackages with what an image leaves out', () => {
  const exclude = (index: PackageIndex, names: string[], provided: string[], ...requests: string[]) =>
    resolvePackages(index, requests.map((text) => ({ atom: parseRequest(text), origin: 'recipe packages' })), { exclude: new Set(names), providedByImage: new Set(provided) });

  it('takes the next alternative when the first is excluded (usr-is-merged over usrmerge)', () => {
    const index = makeIndex(
      stanza('init-system-helpers 1', 'Depends: usrmerge | usr-is-merged'),
      stanza('usrmerge 35', 'Depends: perl'),
      stanza('usr-is-merged 35'),
      stanza('perl 5.36'),
    );
    expect(chosen(resolve(index, 'init-system-helpers'))).toEqual(['init-system-helpers 1', 'perl 5.36', 'usrmerge 35']);
    const lean = exclude(index, ['usrmerge'], [], 'init-system-helpers');
    expect(chosen(lean)).toEqual(['init-system-helpers 1', 'usr-is-merged 35']);
    expect(lean.unmet.size).toBe(0);
  });

  it('meets a dependency on a virtual package the image provides without any package', () => {
    const index = makeIndex(
      stanza('linux-image 6.1', 'Depends: kmod, initramfs-tools | linux-initramfs-tool'),
      stanza('kmod 30'),
      stanza('initramfs-tools 0.142', 'Provides: linux-initramfs-tool', 'Depends: klibc-utils'),
      stanza('klibc-utils 2.0'),
    );
    expect(chosen(exclude(index, [], ['linux-initramfs-tool'], 'linux-image'))).toEqual(['kmod 30', 'linux-image 6.1']);
  });

  it('leaves a dependency only an excluded package meets unmet, and records the chain that wanted it', () => {
    const index = makeIndex(stanza('top 1', 'Depends: mid'), stanza('mid 2', 'Depends: leaf'), stanza('leaf 1'));
    const resolution = exclude(index, ['leaf'], [], 'top');
    expect(chosen(resolution)).toEqual(['mid 2', 'top 1']);
    expect(resolution.unmet.get('leaf')).toEqual(['recipe packages', 'top 1', 'mid 2']);
  });

  it('skips an excluded request, as for an Essential package the recipe excludes', () => {
    const index = makeIndex(stanza('dpkg 1.21', 'Depends: tar'), stanza('tar 1.34'), stanza('bash 5'));
    const resolution = exclude(index, ['dpkg'], [], 'dpkg', 'bash');
    expect(chosen(resolution)).toEqual(['bash 5']);
    expect(resolution.unmet.get('dpkg')).toEqual(['recipe packages']);
  });

  it('never picks an excluded provider of a virtual package', () => {
    const index = makeIndex(stanza('app 1', 'Depends: mail-agent'), stanza('exim 4', 'Provides: mail-agent'), stanza('postfix 3', 'Provides: mail-agent'));
    const resolution = exclude(index, ['exim'], [], 'app');
    expect(chosen(resolution)).toEqual(['app 1', 'postfix 3']);
  });
});
