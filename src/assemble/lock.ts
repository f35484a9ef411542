/**
 * The lockfile pins every package of every package set a recipe needs (the host, and each container
 * image built from Debian packages) to an exact version, file and sha256.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { LockError, errorMessage } from '../errors.ts';
import type { Recipe } from '../recipe/schema.ts';
import { closureProblems } from './archive/closure.ts';
import type { ControlMembers } from './control.ts';
import { parseRequest } from './archive/depends.ts';
import type { Archive } from './archive/open.ts';
import { INITRD_PACKAGES, SEALED_VAR_PACKAGES, TPM_LIBRARY_PACKAGES } from './initrd.ts';
import { excludedPackages, IMAGE_PROVIDES } from './leave-out.ts';
import type { BinaryPackage } from './archive/packages.ts';
import { baseRequests, resolvePackages, type ResolveRequest } from './archive/resolve.ts';

export const LockedPackageSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  architecture: z.string(),
  filename: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string(),
  sourceVersion: z.string(),
  essential: z.boolean(),
  /** Bytes (the index's Installed-Size); lockfiles written before it was recorded read without it. */
  installedSize: z.number().int().nonnegative().optional(),
  /** The chain that pulled the package in, origin first: ["packages", "systemd 252.38-1~deb12u1"]. */
  neededBy: z.array(z.string()).min(1).optional(),
});

export const LockfileSchema = z.strictObject({
  lockfileVersion: z.literal(1),
  recipe: z.string(),
  /** sha256 of everything in the recipe that the resolution depends on. */
  inputs: z.string(),
  distribution: z.strictObject({
    suite: z.string(),
    codename: z.string(),
    components: z.array(z.string()),
    architecture: z.string(),
    releaseDate: z.string().refine((date) => !Number.isNaN(Date.parse(date)), 'expected the Release file\'s date, such as "Sat, 11 Jul 2026 10:16:37 UTC"'),
    snapshot: z.string().optional(),
  }),
  sets: z.record(z.string(), z.array(LockedPackageSchema)),
  /** Per set: excluded packages something wanted, as the archive has them (their files are checked against what the image keeps). */
  excluded: z.record(z.string(), z.array(LockedPackageSchema)).optional(),
});

export type LockedPackage = z.infer<typeof LockedPackageSchema>;
export type Lockfile = z.infer<typeof LockfileSchema>;

export const HOST_SET = 'host';
export const INITRD_SET = 'initrd';

/** systemd-boot and the UKI stub, and systemd-bless-boot (which marks a counted boot good), at the image systemd's version. */
export const BOOT_PACKAGES = ['systemd-boot-efi', 'systemd-boot'];

export function containerSetName(container: string): string {
  return `container:${container}`;
}

interface PackageSet {
  name: string;
  base: Recipe['distribution']['base'];
  requests: string[];
  exclude?: string[];
  providedByImage?: string[];
}

/** The package sets a recipe needs resolved: the host (base + kernel + packages) and built containers. */
export function packageSets(recipe: Recipe): PackageSet[] {
  const sealed = recipe.disk.encryption === 'tpm2';
  const sets: PackageSet[] = [
    {
      name: HOST_SET,
      base: recipe.distribution.base,
      requests: [recipe.kernel.package, ...BOOT_PACKAGES, ...(sealed ? TPM_LIBRARY_PACKAGES : []), ...recipe.packages],
      exclude: excludedPackages(recipe.exclude),
      providedByImage: IMAGE_PROVIDES.map((p) => p.name),
    },
    { name: INITRD_SET, base: 'none', requests: sealed ? [...INITRD_PACKAGES, ...SEALED_VAR_PACKAGES] : INITRD_PACKAGES },
  ];
  for (const container of recipe.containers) {
    if ('packages' in container.image) {
      sets.push({ name: containerSetName(container.name), base: 'none', requests: container.image.packages });
    }
  }
  return sets;
}

export function lockInputsHash(recipe: Recipe): string {
  const { suite, snapshot, components, base } = recipe.distribution;
  const inputs = { suite, snapshot, components, base, architecture: recipe.architecture, sets: packageSets(recipe) };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
}

export function lockPathFor(recipePath: string): string {
  const name = basename(recipePath).replace(/\.ya?ml$/, '');
  return join(dirname(resolve(recipePath)), `${name}.lock.json`);
}

function lockedPackage(pkg: BinaryPackage, neededBy: string[]): LockedPackage {
  return {
    name: pkg.name,
    version: pkg.version,
    architecture: pkg.architecture,
    filename: pkg.filename,
    size: pkg.size,
    sha256: pkg.sha256,
    source: pkg.source,
    sourceVersion: pkg.sourceVersion,
    essential: pkg.essential,
    installedSize: pkg.installedSizeKiB * 1024,
    neededBy,
  };
}

/** Resolves every package set of the recipe against the archive. */
export function resolveLock(recipe: Recipe, archive: Archive): Lockfile {
  const sets: Record<string, LockedPackage[]> = {};
  const excluded: Record<string, LockedPackage[]> = {};
  for (const name of recipe.exclude) {
    if (archive.index.versions(name).length === 0) {
      throw new LockError(`exclude: no package "${name}" in the archive`, 'name a real package (virtual packages cannot be excluded; exclude the packages that provide them)');
    }
  }
  for (const set of packageSets(recipe)) {
    const wanted = set.requests.map((text) => parseRequest(text).name).filter((name) => recipe.exclude.includes(name) && set.name === HOST_SET);
    if (wanted.length > 0) {
      throw new LockError(`exclude: ${wanted.join(', ')} ${wanted.length === 1 ? 'is' : 'are'} also what the image is asked to carry (packages, kernel.package or slipway's boot packages)`, 'drop it from one of the two lists');
    }
    const origin = set.name === HOST_SET ? 'packages' : set.name === INITRD_SET ? 'the initrd' : `containers (${set.name.slice('container:'.length)})`;
    const requests: ResolveRequest[] = [
      ...baseRequests(archive.index, set.base),
      ...set.requests.map((text) => ({ atom: parseRequest(text), origin })),
    ];
    const resolution = resolvePackages(archive.index, requests, { exclude: new Set(set.exclude), providedByImage: new Set(set.providedByImage) });
    sets[set.name] = resolution.packages.map((pkg) => lockedPackage(pkg, resolution.reasons.get(pkg.name)!));
    const unmet = [...resolution.unmet].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, chain]) => lockedPackage(archive.index.versions(name)[0]!, chain));
    if (unmet.length > 0) excluded[set.name] = unmet;
  }
  const lock: Lockfile = {
    lockfileVersion: 1,
    recipe: recipe.name,
    inputs: lockInputsHash(recipe),
    distribution: {
      suite: recipe.distribution.suite,
      codename: archive.release.codename,
      components: [...recipe.distribution.components],
      architecture: recipe.architecture,
      releaseDate: archive.release.date,
    },
    sets,
  };
  if (Object.keys(excluded).length > 0) lock.excluded = excluded;
  if (recipe.distribution.snapshot) lock.distribution.snapshot = recipe.distribution.snapshot;
  return lock;
}

/**
 * Refuses locked sets that do not carry what their packages depend on (a lockfile edited by hand
 * may not), judged by each package's own control file (`controls`, by the .deb's sha256).
 */
export function checkLockClosed(recipe: Recipe, sets: Record<string, readonly LockedPackage[]>, controls: ReadonlyMap<string, ControlMembers>): void {
  for (const set of packageSets(recipe)) {
    const packages = sets[set.name] ?? [];
    const controlled = packages.map((pkg) => ({ name: pkg.name, version: pkg.version, control: controls.get(pkg.sha256)!.control }));
    const mayBeMissing = new Set([...(set.exclude ?? []), ...(set.providedByImage ?? [])]);
    const problems = closureProblems(controlled, { architecture: recipe.architecture, mayBeMissing });
    if (problems.length === 0) continue;
    const shown = problems.slice(0, 10).map((line) => `  ${line}`);
    if (problems.length > shown.length) shown.push(`  and ${problems.length - shown.length} more`);
    throw new LockError(
      `the lockfile's package set "${set.name}" is not closed under its dependencies:\n${shown.join('\n')}`,
      'the lockfile was changed by hand or is damaged: run slipway lock to resolve it again',
    );
  }
}

/** Writes by rename: a reader sees the old lockfile or the new one, never half of one. */
export function writeLockfile(path: string, lock: Lockfile): void {
  const temp = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(temp, `${JSON.stringify(lock, null, 2)}\n`);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Reads the lockfile that belongs to the recipe, and refuses one that no longer matches it. */
export function readLockfile(path: string, recipe: Recipe, recipeLabel: string): Lockfile {
  const hint = `run 'slipway lock ${recipeLabel}' to resolve the packages again`;
  if (!existsSync(path)) throw new LockError(`no lockfile ${path}`, hint);
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new LockError(`cannot read lockfile ${path}: ${errorMessage(cause)}`, hint, { cause });
  }
  const parsed = LockfileSchema.safeParse(data);
  if (!parsed.success) throw new LockError(`${path} is not a slipway lockfile (${parsed.error.issues[0]?.message})`, hint);
  if (parsed.data.inputs !== lockInputsHash(recipe)) {
    throw new LockError(`${path} is stale: the recipe's packages or distribution changed since it was written`, hint);
  }
  return parsed.data;
}
