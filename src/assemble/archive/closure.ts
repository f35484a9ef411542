/**
 * Whether a set of packages, as their own control files describe them, is closed under its
 * dependencies: every Depends and Pre-Depends group is met by a package of the set, by name or by
 * what it provides, at a fitting version. A lockfile is checked this way before a build unpacks it,
 * so a hand-edited one (libc6 deleted) is refused instead of making an image without libc.
 */
import { errorMessage } from '../../errors.ts';
import { formatDependency, type DependencyAtom } from './depends.ts';
import { PackageIndex, packageFromControl, type BinaryPackage } from './packages.ts';
import { packageSatisfies } from './resolve.ts';

export interface ControlledPackage {
  /** The name and version the lockfile pins. */
  name: string;
  version: string;
  /** The .deb's `control` file. */
  control: string;
}

export interface ClosureOptions {
  architecture: string;
  /** Names whose absence is intended: what the recipe excludes, and what the image itself provides. */
  mayBeMissing: ReadonlySet<string>;
}

/** What is wrong with the set, a line per problem; empty when it is closed. */
export function closureProblems(packages: readonly ControlledPackage[], options: ClosureOptions): string[] {
  const index = new PackageIndex(options.architecture);
  const problems: string[] = [];
  const described: BinaryPackage[] = [];
  for (const locked of packages) {
    const pkg = packageFromControl(locked.control);
    if (!pkg) {
      problems.push(`${locked.name} ${locked.version}: its .deb has no control file naming a package and version`);
    } else if (pkg.name !== locked.name || pkg.version !== locked.version) {
      problems.push(`${locked.name} ${locked.version}: its .deb is ${pkg.name} ${pkg.version}`);
    } else {
      try {
        index.relationsOf(pkg);
        index.add(pkg);
        described.push(pkg);
      } catch (error) {
        problems.push(`${locked.name} ${locked.version}: its control file: ${errorMessage(error)}`);
      }
    }
  }
  const met = (atom: DependencyAtom): boolean =>
    options.mayBeMissing.has(atom.name) ||
    index.versions(atom.name).some((pkg) => packageSatisfies(index, pkg, atom)) ||
    index.providersOf(atom.name).some(({ pkg }) => packageSatisfies(index, pkg, atom));
  const missing = new Map<string, string[]>();
  for (const pkg of described) {
    const relations = index.relationsOf(pkg);
    for (const group of [...relations.preDepends, ...relations.depends]) {
      if (group.some(met)) continue;
      const dependency = formatDependency(group);
      missing.set(dependency, [...(missing.get(dependency) ?? []), `${pkg.name} ${pkg.version}`]);
    }
  }
  for (const [dependency, dependents] of missing) {
    const named = dependents.length > 3 ? `${dependents.slice(0, 3).join(', ')} and ${dependents.length - 3} more` : dependents.join(', ');
    problems.push(`nothing in the set meets "${dependency}", which ${named} ${dependents.length === 1 ? 'depends' : 'depend'} on`);
  }
  return problems;
}
