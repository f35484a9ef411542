/**
 * Turns requested package names into a closed, installable set, choosing among alternatives the way
 * apt does for a system with nothing installed (test/integration/resolver-oracle.test.ts holds us
 * to that): dependencies are followed depth first in field order, an alternative group already
 * satisfied by a chosen package needs nothing more, otherwise the first alternative whose candidate
 * (newest) version fits wins, a real package before packages that merely provide the name.
 *
 * An image can say what it never wants (`exclude`: such a package is never chosen, and a dependency
 * only it could meet is left unmet and recorded) and what the image itself provides (a name in
 * `providedByImage` meets every dependency on it, as slipway's own initrd meets linux-initramfs-tool).
 */
import { ResolveError } from '../../errors.ts';
import { formatAtom, formatDependency, type Dependency, type DependencyAtom } from './depends.ts';
import type { BinaryPackage, PackageIndex } from './packages.ts';
import { satisfiesRelation } from '../../shared/debian-version.ts';

export interface ResolveRequest {
  atom: DependencyAtom;
  /** Where the request comes from, e.g. "recipe packages" or "the Essential set". */
  origin: string;
}

export interface ResolveOptions {
  exclude?: ReadonlySet<string>;
  providedByImage?: ReadonlySet<string>;
}

export interface Resolution {
  /** The chosen packages, sorted by name. */
  packages: BinaryPackage[];
  /** For each chosen package, the chain that pulled it in (origin first). */
  reasons: Map<string, string[]>;
  /** Excluded names that a request or a dependency wanted with no other way to meet it, with the chain that wanted them. */
  unmet: Map<string, string[]>;
}

const PRIORITY_RANK: Record<string, number> = { required: 5, important: 4, standard: 3, optional: 2, extra: 1 };

function archFits(pkg: BinaryPackage, atom: DependencyAtom, architecture: string): boolean {
  if (!atom.arch) return true;
  if (atom.arch === 'any') return pkg.multiArch === 'allowed' || pkg.multiArch === 'foreign';
  if (atom.arch === 'native') return pkg.architecture !== 'all' || pkg.multiArch !== 'no';
  return atom.arch === architecture && (pkg.architecture === architecture || pkg.architecture === 'all');
}

/** True when this package, by its own name or by what it provides, satisfies the atom. */
export function packageSatisfies(index: PackageIndex, pkg: BinaryPackage, atom: DependencyAtom): boolean {
  if (!archFits(pkg, atom, index.architecture)) return false;
  if (pkg.name === atom.name) {
    return !atom.relation || satisfiesRelation(pkg.version, atom.relation, atom.version!);
  }
  for (const provided of index.relationsOf(pkg).provides) {
    if (provided.name !== atom.name) continue;
    if (!atom.relation) return true;
    // An unversioned Provides never satisfies a versioned dependency.
    if (provided.version && satisfiesRelation(provided.version, atom.relation, atom.version!)) return true;
  }
  return false;
}

class Resolver {
  private readonly chosen = new Map<string, BinaryPackage>();
  private readonly reasons = new Map<string, string[]>();
  private readonly unmet = new Map<string, string[]>();
  private readonly exclude: ReadonlySet<string>;
  private readonly providedByImage: ReadonlySet<string>;

  constructor(private readonly index: PackageIndex, options: ResolveOptions) {
    this.exclude = options.exclude ?? new Set();
    this.providedByImage = options.providedByImage ?? new Set();
  }

  resolve(requests: readonly ResolveRequest[]): Resolution {
    for (const request of requests) {
      if (this.exclude.has(request.atom.name)) {
        this.leaveUnmet(request.atom.name, [request.origin]);
        continue;
      }
      const pkg = this.pickForRequest(request);
      this.install(pkg, [request.origin]);
    }
    this.checkConflicts();
    const packages = [...this.chosen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { packages, reasons: this.reasons, unmet: this.unmet };
  }

  private leaveUnmet(name: string, chain: string[]): void {
    if (!this.unmet.has(name)) this.unmet.set(name, chain);
  }

  private allowed(pkg: BinaryPackage): boolean {
    return !this.exclude.has(pkg.name);
  }

  private pickForRequest(request: ResolveRequest): BinaryPackage {
    const { atom, origin } = request;
    const versions = this.index.versions(atom.name);
    if (versions.length > 0) {
      const fitting = atom.relation ? versions.find((v) => packageSatisfies(this.index, v, atom)) : versions[0];
      if (fitting) return fitting;
      throw new ResolveError(
        `${origin}: ${formatAtom(atom)}: no such version (the archive has ${versions.map((v) => v.version).join(', ')})`,
        'change the version constraint or drop it to take the archive’s version',
      );
    }
    const providers = this.candidateProviders(atom).filter((p) => this.allowed(p));
    // As apt does: a virtual name already provided by a chosen package (mawk for awk) needs no choice.
    const chosen = providers.find((p) => this.chosen.get(p.name) === p);
    if (chosen) return chosen;
    if (providers.length === 1) return providers[0]!;
    if (providers.length > 1) {
      throw new ResolveError(
        `${origin}: "${atom.name}" is a virtual package provided by ${providers.map((p) => p.name).join(', ')}`,
        'name the one you want in the recipe instead of the virtual package',
      );
    }
    throw new ResolveError(
      `${origin}: unknown package "${atom.name}"`,
      'check the spelling; the configured suite and components have no package or virtual package of that name',
    );
  }

  /** Candidate (newest) versions of packages that provide the atom's name and satisfy it. */
  private candidateProviders(atom: DependencyAtom): BinaryPackage[] {
    const found = new Map<string, BinaryPackage>();
    for (const { pkg } of this.index.providersOf(atom.name)) {
      const candidate = this.candidate(pkg.name);
      if (candidate && packageSatisfies(this.index, candidate, atom)) found.set(candidate.name, candidate);
    }
    return [...found.values()].sort(compareProviders);
  }

  private candidate(name: string): BinaryPackage | undefined {
    return this.chosen.get(name) ?? this.index.versions(name)[0];
  }

  private install(pkg: BinaryPackage, chain: string[]): void {
    const already = this.chosen.get(pkg.name);
    if (already) {
      if (already.version === pkg.version) return;
      throw new ResolveError(
        `${[...chain, pkg.name].join(' → ')}: needs ${pkg.name} ${pkg.version}, but ${already.version} is already chosen (via ${this.reasons.get(pkg.name)!.join(' → ')})`,
        'the version constraints conflict; relax the pin in the recipe',
      );
    }
    this.chosen.set(pkg.name, pkg);
    this.reasons.set(pkg.name, chain);
    const relations = this.index.relationsOf(pkg);
    const next = [...chain, `${pkg.name} ${pkg.version}`];
    for (const group of [...relations.preDepends, ...relations.depends]) {
      if (this.satisfiedByChosen(group) || group.some((atom) => this.providedByImage.has(atom.name))) continue;
      const choice = this.choose(group);
      const excluded = choice ? [] : group.filter((atom) => this.exclude.has(atom.name));
      if (excluded.length > 0) {
        for (const atom of excluded) this.leaveUnmet(atom.name, next);
        continue;
      }
      if (!choice) {
        throw new ResolveError(
          `${next.join(' → ')}: dependency "${formatDependency(group)}" cannot be satisfied${this.explain(group)}`,
          'the archive cannot satisfy this chain; pin other versions or drop the package that needs it',
        );
      }
      this.install(choice, next);
    }
  }

  private satisfiedByChosen(group: Dependency): boolean {
    return group.some((atom) => {
      const real = this.chosen.get(atom.name);
      if (real && packageSatisfies(this.index, real, atom)) return true;
      return this.index
        .providersOf(atom.name)
        .some(({ pkg }) => this.chosen.get(pkg.name) === pkg && packageSatisfies(this.index, pkg, atom));
    });
  }

  private choose(group: Dependency): BinaryPackage | undefined {
    for (const atom of group) {
      const real = this.candidate(atom.name);
      if (real && this.allowed(real) && packageSatisfies(this.index, real, atom) && !this.chosen.has(real.name) && !this.conflictsWithChosen(real)) {
        return real;
      }
      const provider = this.candidateProviders(atom).find((p) => this.allowed(p) && !this.chosen.has(p.name) && !this.conflictsWithChosen(p));
      if (provider) return provider;
    }
    return undefined;
  }

  private explain(group: Dependency): string {
    const reasons = group.map((atom) => {
      const chosen = this.chosen.get(atom.name);
      if (chosen) return `${atom.name} ${chosen.version} is already chosen`;
      const candidate = this.index.versions(atom.name)[0];
      if (candidate) return `the archive's ${atom.name} is ${candidate.version}`;
      return `${atom.name} is not in the archive`;
    });
    return ` (${reasons.join('; ')})`;
  }

  private conflictsWith(a: BinaryPackage, b: BinaryPackage): DependencyAtom | undefined {
    const relations = this.index.relationsOf(a);
    for (const atom of [...relations.conflicts, ...relations.breaks]) {
      if (b !== a && packageSatisfies(this.index, b, atom)) return atom;
    }
    return undefined;
  }

  private conflictsWithChosen(pkg: BinaryPackage): boolean {
    for (const other of this.chosen.values()) {
      if (other.name === pkg.name) continue;
      if (this.conflictsWith(pkg, other) || this.conflictsWith(other, pkg)) return true;
    }
    return false;
  }

  private checkConflicts(): void {
    const packages = [...this.chosen.values()];
    for (const a of packages) {
      for (const b of packages) {
        if (a.name === b.name) continue;
        const atom = this.conflictsWith(a, b);
        if (atom) {
          throw new ResolveError(
            `${a.name} ${a.version} conflicts with ${b.name} ${b.version} ("${formatAtom(atom)}"), pulled in by ${this.reasons.get(b.name)!.join(' → ')}`,
            `the requested packages cannot be installed together; drop one of ${a.name} and ${b.name}`,
          );
        }
      }
    }
  }
}

/** apt's preference among several providers of one name: Essential first, then priority, then name. */
function compareProviders(a: BinaryPackage, b: BinaryPackage): number {
  if (a.essential !== b.essential) return a.essential ? -1 : 1;
  const rank = (PRIORITY_RANK[b.priority] ?? 0) - (PRIORITY_RANK[a.priority] ?? 0);
  if (rank !== 0) return rank;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function resolvePackages(index: PackageIndex, requests: readonly ResolveRequest[], options: ResolveOptions = {}): Resolution {
  return new Resolver(index, options).resolve(requests);
}

/** The packages every image of this base gets before the recipe's own. */
export function baseRequests(index: PackageIndex, base: 'essential' | 'required' | 'none'): ResolveRequest[] {
  if (base === 'none') return [];
  const names = new Set<string>();
  for (const pkg of index.all()) {
    if (pkg.essential || (base === 'required' && pkg.priority === 'required')) names.add(pkg.name);
  }
  const origin = base === 'essential' ? 'the Essential set' : 'the required set';
  return [...names].sort().map((name) => ({ atom: { name }, origin }));
}
