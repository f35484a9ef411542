import { eachDeb822, type Paragraph } from './deb822.ts';
import { parseAtom, parseDependencies, type Dependency, type DependencyAtom } from './depends.ts';
import { compareVersions } from '../../shared/debian-version.ts';

export type MultiArch = 'no' | 'same' | 'foreign' | 'allowed';

/** One binary package version as a Packages index describes it. */
export interface BinaryPackage {
  name: string;
  version: string;
  architecture: string;
  multiArch: MultiArch;
  essential: boolean;
  priority: string;
  section: string;
  source: string;
  sourceVersion: string;
  maintainer: string;
  homepage?: string;
  installedSizeKiB: number;
  filename: string;
  size: number;
  sha256: string;
  /** Raw relationship fields, parsed on first use (most of the 60,000 packages are never looked at). */
  raw: { depends?: string; preDepends?: string; provides?: string; conflicts?: string; breaks?: string };
}

const FIELDS = new Set([
  'Package', 'Version', 'Architecture', 'Multi-Arch', 'Essential', 'Priority', 'Section', 'Source', 'Maintainer',
  'Homepage', 'Installed-Size', 'Filename', 'Size', 'SHA256', 'Depends', 'Pre-Depends', 'Provides', 'Conflicts', 'Breaks',
]);

/** A package as an index describes it; `fromControl`: as its own control file does (no Filename or SHA256). */
function toPackage(paragraph: Paragraph, fromControl = false): BinaryPackage | undefined {
  const name = paragraph.get('Package');
  const version = paragraph.get('Version');
  const filename = paragraph.get('Filename') ?? '';
  const sha256 = paragraph.get('SHA256') ?? '';
  if (!name || !version || (!fromControl && (!filename || !sha256))) return undefined;
  // "Source: name (version)" when the source version differs from the binary's.
  const sourceField = paragraph.get('Source') ?? name;
  const sourceMatch = /^(\S+)(?:\s+\((\S+)\))?$/.exec(sourceField);
  const pkg: BinaryPackage = {
    name,
    version,
    architecture: paragraph.get('Architecture') ?? 'all',
    multiArch: (paragraph.get('Multi-Arch') as MultiArch | undefined) ?? 'no',
    essential: paragraph.get('Essential') === 'yes',
    priority: paragraph.get('Priority') ?? 'optional',
    section: paragraph.get('Section') ?? '',
    source: sourceMatch?.[1] ?? name,
    sourceVersion: sourceMatch?.[2] ?? version,
    maintainer: paragraph.get('Maintainer') ?? '',
    installedSizeKiB: Number(paragraph.get('Installed-Size') ?? 0),
    filename,
    size: Number(paragraph.get('Size') ?? 0),
    sha256,
    raw: {
      depends: paragraph.get('Depends'),
      preDepends: paragraph.get('Pre-Depends'),
      provides: paragraph.get('Provides'),
      conflicts: paragraph.get('Conflicts'),
      breaks: paragraph.get('Breaks'),
    },
  };
  const homepage = paragraph.get('Homepage');
  if (homepage) pkg.homepage = homepage;
  return pkg;
}

/** The package a .deb's `control` file describes, or none when it names no package and version. */
export function packageFromControl(text: string): BinaryPackage | undefined {
  for (const paragraph of eachDeb822(text, FIELDS)) return toPackage(paragraph, true);
  return undefined;
}

export interface Provider {
  pkg: BinaryPackage;
  /** The version the provided name is given at (`Provides: foo (= 1.0)`), if any. */
  version?: string;
}

interface Relations {
  depends: Dependency[];
  preDepends: Dependency[];
  provides: DependencyAtom[];
  conflicts: DependencyAtom[];
  breaks: DependencyAtom[];
}

/** All packages of one architecture (plus `all`) from one or more Packages indices. */
export class PackageIndex {
  private readonly byName = new Map<string, BinaryPackage[]>();
  private readonly providers = new Map<string, Provider[]>();
  private readonly relations = new WeakMap<BinaryPackage, Relations>();

  constructor(readonly architecture: string) {}

  /** Adds the packages of one Packages index text. */
  addIndex(text: string): void {
    for (const paragraph of eachDeb822(text, FIELDS)) {
      const pkg = toPackage(paragraph);
      if (!pkg || (pkg.architecture !== this.architecture && pkg.architecture !== 'all')) continue;
      this.add(pkg);
    }
  }

  add(pkg: BinaryPackage): void {
    const versions = this.byName.get(pkg.name);
    if (versions) {
      if (versions.some((v) => v.version === pkg.version)) return;
      versions.push(pkg);
      versions.sort((a, b) => compareVersions(b.version, a.version));
    } else {
      this.byName.set(pkg.name, [pkg]);
    }
    if (pkg.raw.provides) {
      for (const atom of this.relationsOf(pkg).provides) {
        const list = this.providers.get(atom.name) ?? [];
        list.push(atom.version ? { pkg, version: atom.version } : { pkg });
        this.providers.set(atom.name, list);
      }
    }
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every version of a real package, newest first. */
  versions(name: string): readonly BinaryPackage[] {
    return this.byName.get(name) ?? [];
  }

  /** Packages that declare `Provides: name`. */
  providersOf(name: string): readonly Provider[] {
    return this.providers.get(name) ?? [];
  }

  *all(): IterableIterator<BinaryPackage> {
    for (const versions of this.byName.values()) yield* versions;
  }

  relationsOf(pkg: BinaryPackage): Relations {
    let relations = this.relations.get(pkg);
    if (!relations) {
      relations = {
        depends: parseDependencies(pkg.raw.depends),
        preDepends: parseDependencies(pkg.raw.preDepends),
        provides: splitList(pkg.raw.provides),
        conflicts: splitList(pkg.raw.conflicts),
        breaks: splitList(pkg.raw.breaks),
      };
      this.relations.set(pkg, relations);
    }
    return relations;
  }
}

function splitList(field: string | undefined): DependencyAtom[] {
  if (!field) return [];
  return field
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map(parseAtom);
}
