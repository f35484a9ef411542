/**
 * The steps that read the packages and apply the recipe to them: where a recipe the schema let
 * through can still be refused (an unknown owner, unit or module, kept files that need what is left
 * out). Each takes the part of the build's state it reads and returns what it makes.
 */
import { copyFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { applyAlternatives, parseAlternatives } from '../assemble/configure/alternatives.ts';
import { installContainerUnits } from '../assemble/configure/containers.ts';
import { trimIcuData } from '../assemble/configure/icu.ts';
import { configurePam } from '../assemble/configure/pam.ts';
import { excludedPackagePaths, removePaths } from '../assemble/configure/remove.ts';
import {
  applyRecipeFiles, configureCaCertificates, configureReadOnlyRoot, installConfigTemplates, trimFilter, writeOsRelease, writeUserTmpfiles,
} from '../assemble/configure/system.ts';
import { configureUnits } from '../assemble/configure/units.ts';
import { configureUsers, parseSystemGroups } from '../assemble/configure/users.ts';
import { readAllControlMembers } from '../assemble/control.ts';
import { DataTars } from '../assemble/data-tars.ts';
import { fetchPackages } from '../assemble/download.ts';
import { compressInitrdArchive, initrdProgramsArchive } from '../assemble/initrd.ts';
import { findKernel, HeldModules, moduleClosure, trimModules } from '../assemble/kernel.ts';
import { RUNTIME_NEEDS } from '../assemble/leave-out.ts';
import { checkLockClosed, containerSetName, HOST_SET, INITRD_SET, type LockedPackage } from '../assemble/lock.ts';
import { describeUnmet, unmetNeeds } from '../assemble/needs.ts';
import { ociArchiveTag } from '../assemble/oci.ts';
import { Tree } from '../assemble/tree.ts';
import { cachedTree, treeKey } from '../assemble/tree-cache.ts';
import { mergeUsr, unpackDataTar } from '../assemble/unpack.ts';
import { BuildError, RecipeError } from '../errors.ts';
import { compileHostConfig } from '../hostconfig/compile.ts';
import { FACTS_PATH, factsFileText } from '../hostconfig/facts.ts';
import { releaseLauncher } from '../launcher/launch.ts';
import { CONTAINER_ROOTS_DIR, containerRootPath, imageArchivePath } from '../recipe/container-units.ts';
import { PACKAGES_FILE, formatPackagesFile } from '../shared/packages.ts';
import { countWithRate } from '../shared/rate.ts';
import { bundleProgram } from './bundle.ts';
import { PCR_PUBLIC_KEY, UKI_SIGNER_CERT } from '../updater/agent/uki-trust.ts';
import type { BuildState } from './context.ts';
import { imageFactsOf } from './image-facts.ts';

type Report = (detail: string) => void;

/** The boot loader and UKI stub, copied out of the root tree into the work folder. */
export const EFI_DIR = 'usr/lib/systemd/boot/efi';
export const BOOT_FILES = ['linuxx64.efi.stub', 'systemd-bootx64.efi'] as const;

const RUNTIME_ROOTFS = new URL('../../runtime/rootfs/', import.meta.url).pathname;
const RUNTIME_UPDATE = new URL('../../runtime/update/', import.meta.url).pathname;
const DEBUG_SHELL_UNIT = new URL('../../runtime/debug/slipway-debug-shell.service', import.meta.url);

export async function fetchAllPackages(
  ctx: Pick<BuildState, 'plan' | 'loaded' | 'source' | 'cache'>, report: Report,
): Promise<Pick<BuildState, 'debs' | 'controls' | 'tars'>> {
  const { host, excluded, initrd, containers } = ctx.plan.packages;
  // In the order the steps after this one read them.
  const all = [...initrd, ...host, ...excluded, ...Object.values(containers).flat()];
  const unique = [...new Map(all.map((p) => [p.sha256, p])).values()];
  const started = performance.now();
  const { paths } = await fetchPackages(unique, ctx.source, ctx.cache, {
    onProgress: (done, total, bytes) => report(`downloaded ${countWithRate(done, total, bytes, started)}`),
  });
  const debs = new Map(unique.map((pkg) => [pkg.sha256, paths.get(pkg.name)!]));
  const tars = new DataTars(ctx.cache, unique, debs);
  const controls = await readAllControlMembers(ctx.cache, unique, (pkg) => debs.get(pkg.sha256)!);
  const sets = { [HOST_SET]: host, [INITRD_SET]: initrd, ...Object.fromEntries(Object.entries(containers).map(([name, set]) => [containerSetName(name), set])) };
  checkLockClosed(ctx.loaded.recipe, sets, controls);
  return { debs, controls, tars };
}

async function unpackSet(
  tars: DataTars, tree: Tree, packages: readonly LockedPackage[], keep: (path: string) => boolean, report: Report, held?: HeldModules,
): Promise<void> {
  mergeUsr(tree);
  let done = 0;
  for (const pkg of packages) {
    const tar = await tars.tar(pkg);
    await unpackDataTar(tree, tar, pkg.name, keep, held?.divert(tar, pkg.name));
    report(`${++done}/${packages.length} ${pkg.name}`);
  }
}

export async function unpackInitrdTree(
  ctx: Pick<BuildState, 'plan' | 'cache' | 'work' | 'checkOnly' | 'tars'>, report: Report,
): Promise<Pick<BuildState, 'initrdTree' | 'initrdPrograms'>> {
  const packages = ctx.plan.packages.initrd;
  const key = treeKey({ initrd: packages.map((p) => p.sha256) });
  const { tree } = await cachedTree(ctx.cache, key, join(ctx.work, 'initrd'), (tree) => unpackSet(ctx.tars, tree, packages, () => true, report), ctx.checkOnly);
  if (ctx.checkOnly) return { initrdTree: tree, initrdPrograms: undefined };
  // Compressed in the CPU time the root's unpacking leaves: its last seconds are this process's work
  // alone, once every data tar is decompressed. Not before, when the launcher and two decompressors
  // hold memory too.
  const programs = initrdProgramsArchive(tree, ctx.plan.sourceDateEpoch, ctx.plan.disk.encryption === 'tpm2');
  const initrdPrograms = ctx.tars.all().then(() => {
    releaseLauncher();
    return compressInitrdArchive(programs, ctx.cache, true);
  });
  initrdPrograms.catch(() => undefined);
  return { initrdTree: tree, initrdPrograms };
}

/** Cached by the packages, filters and left-out paths that make it, so a rebuild of other changes starts here at once. */
export async function unpackRootTree(
  ctx: Pick<BuildState, 'plan' | 'loaded' | 'cache' | 'work' | 'checkOnly' | 'tars'>, report: Report,
): Promise<Pick<BuildState, 'tree' | 'leftOut'>> {
  const { host, excluded } = ctx.plan.packages;
  const { keep, remove } = ctx.loaded.recipe;
  const { package: kernelPackage, modules, recipeModules } = ctx.plan.kernel;
  const key = treeKey({ packages: host.map((p) => p.sha256), excluded: excluded.map((p) => p.sha256), keep, remove, modules, recipeModules });
  const { tree, extra, hit } = await cachedTree(ctx.cache, key, join(ctx.work, 'root'), async (tree) => {
    const held = new HeldModules();
    await unpackSet(ctx.tars, tree, host, trimFilter(keep), report, held);
    // Before remove:, which may name kernel modules as well.
    const kernel = findKernel(tree, kernelPackage, held);
    await trimModules(tree, kernel, moduleClosure(kernel, modules, recipeModules), held);
    const leftOut = removePaths(tree, remove);
    for (const icu of trimIcuData(tree, keep.locales)) report(`/${icu.path}: kept ${icu.kept} of ${icu.items} ICU data items`);
    const tars = await Promise.all(excluded.map(async (pkg) => ({ name: pkg.name, tar: await ctx.tars.tar(pkg) })));
    for (const [path, reason] of await excludedPackagePaths(tree, tars)) leftOut.set(path, reason);
    return [...leftOut];
  }, ctx.checkOnly);
  if (hit) report('from the cache');
  return { tree, leftOut: new Map(extra) };
}

export function collectBootFiles(ctx: Pick<BuildState, 'tree' | 'work'>): void {
  for (const file of BOOT_FILES) {
    if (!ctx.tree.has(`${EFI_DIR}/${file}`)) throw new BuildError(`the image has no /${EFI_DIR}/${file}`, 'the systemd-boot-efi package is missing from the lockfile; run slipway lock');
    copyFileSync(ctx.tree.hostPath(`${EFI_DIR}/${file}`), join(ctx.work, 'boot', file));
  }
}

/**
 * Copies runtime/rootfs (what every slipway image carries) into the tree, and runtime/update (the
 * update agent's units) into an image that follows an update repository: an image without one
 * ships no unit it could not run.
 */
export function installRuntime(ctx: Pick<BuildState, 'tree' | 'loaded'>): void {
  copyFolder(ctx.tree, RUNTIME_ROOTFS, '');
  if (ctx.loaded.recipe.update) copyFolder(ctx.tree, RUNTIME_UPDATE, '');
}

function copyFolder(tree: Tree, dir: string, prefix: string): void {
  for (const name of readdirSync(dir).sort()) {
    const host = join(dir, name);
    const path = prefix ? `${prefix}/${name}` : name;
    if (statSync(host).isDirectory()) {
      tree.mkdir(path);
      copyFolder(tree, host, path);
    } else {
      tree.writeFile(path, readFileSync(host), { mode: statSync(host).mode & 0o111 ? 0o755 : 0o644, origin: 'slipway' });
    }
  }
}

/** The host packages' postinst scripts, in the lockfile's order. */
function hostScripts(ctx: Pick<BuildState, 'plan' | 'controls'>): string[] {
  return ctx.plan.packages.host.flatMap((pkg) => ctx.controls.get(pkg.sha256)?.postinst ?? []);
}

export function configureAccounts(ctx: Pick<BuildState, 'plan' | 'loaded' | 'controls' | 'tree'>): Pick<BuildState, 'accounts'> {
  const groups = hostScripts(ctx).flatMap(parseSystemGroups);
  const accounts = configureUsers(ctx.tree, ctx.loaded.recipe.users, Math.floor(ctx.plan.sourceDateEpoch / 86400), groups);
  writeUserTmpfiles(ctx.tree, accounts, ctx.loaded.recipe.users);
  return { accounts };
}

export function configureSystem(ctx: Pick<BuildState, 'plan' | 'loaded' | 'controls' | 'tree'>): Pick<BuildState, 'osRelease'> {
  const { tree } = ctx;
  applyAlternatives(tree, hostScripts(ctx).flatMap(parseAlternatives));
  configureCaCertificates(tree);
  installConfigTemplates(tree);
  configurePam(tree);
  const osRelease = writeOsRelease(tree, { ...ctx.loaded.recipe, version: ctx.plan.version });
  configureReadOnlyRoot(tree, ctx.loaded.recipe, ctx.plan.sourceDateEpoch);
  return { osRelease };
}

/**
 * Containers built from Debian packages get their files in the root, below containerRootPath, where
 * dm-verity covers them and a boot has nothing to import; the recipe's OCI archives go in as they are.
 */
export async function installContainers(
  ctx: Pick<BuildState, 'plan' | 'loaded' | 'inputs' | 'work' | 'tars' | 'tree'>, report: Report,
): Promise<Pick<BuildState, 'imageTags'>> {
  const imageTags = new Map<string, string>();
  for (const container of ctx.loaded.recipe.containers) {
    const image = container.image;
    if ('ref' in image) continue; // pulled at boot
    if ('packages' in image) {
      // Root's alone: a container's setuid programs must not become the host's.
      ctx.tree.mkdir(CONTAINER_ROOTS_DIR, { mode: 0o700 });
      const tree = new Tree(join(ctx.work, 'containers', container.name));
      await unpackSet(ctx.tars, tree, ctx.plan.packages.containers[container.name] ?? [], trimFilter(ctx.loaded.recipe.keep), report);
      ctx.tree.adopt(containerRootPath(container.name), tree);
      continue;
    }
    const archive = ctx.inputs.archives.get(container.name)!;
    ctx.tree.writeFile(imageArchivePath(container.name), archive);
    imageTags.set(container.name, (await ociArchiveTag(archive)) ?? 'latest');
  }
  // Nothing reads a package's files after this; a damaged package the cache spared every step fails here.
  await ctx.tars.all();
  return { imageTags };
}

export function installFiles(ctx: Pick<BuildState, 'plan' | 'loaded' | 'inputs' | 'tree' | 'accounts' | 'imageTags'>): void {
  const { tree, loaded: { recipe } } = ctx;
  installContainerUnits(tree, recipe.containers, ctx.imageTags);
  tree.writeFile('usr/lib/slipway/health.env', `SLIPWAY_HEALTH_TIMEOUT=${recipe.health.timeoutSeconds}\n`);
  if (recipe.debug.shell) tree.writeFile('usr/lib/systemd/system/slipway-debug-shell.service', readFileSync(DEBUG_SHELL_UNIT));
  // What the image is made of, for `slipway inspect` and for the host itself.
  tree.writeFile(PACKAGES_FILE, formatPackagesFile(ctx.plan.packages.host));
  for (const unit of recipe.units) tree.writeFile(`etc/systemd/system/${unit.name}`, unit.content, { origin: 'recipe' });
  applyRecipeFiles(tree, recipe.files, ctx.accounts, (source) => ctx.inputs.files.get(source)!);
}

export function enableUnits(ctx: Pick<BuildState, 'loaded' | 'tree'>): void {
  const { services, units } = ctx.loaded.recipe;
  const enable = [...services.enable, ...units.filter((u) => u.enable).map((u) => u.name)];
  configureUnits(ctx.tree, { enable, disable: services.disable, mask: services.mask });
}

/** The provisioning program, and the image's accounts, units and time zones that configs are checked against. */
export async function installProvisioning(
  ctx: Pick<BuildState, 'loaded' | 'tree' | 'hostConfig'>,
): Promise<Pick<BuildState, 'imageFacts' | 'hostConfigPlan'>> {
  const { tree, hostConfig } = ctx;
  tree.writeFile('usr/lib/slipway/provision.cjs', await bundleProgram('provision'), { origin: 'slipway' });
  // In every image: a host config may give a container a user at first boot.
  tree.writeFile('usr/lib/slipway/container-user.cjs', await bundleProgram('container-user'), { origin: 'slipway' });
  // In every image, so that its installer ISO boots the very root the disk holds.
  tree.writeFile('usr/lib/slipway/install.cjs', await bundleProgram('install'), { origin: 'slipway' });
  const imageFacts = imageFactsOf(tree, ctx.loaded.recipe.containers.map((c) => c.name));
  tree.writeFile(FACTS_PATH.slice(1), factsFileText(imageFacts), { origin: 'slipway' });
  const hostConfigPlan = hostConfig ? (await compileHostConfig(hostConfig.bytes, hostConfig.label, imageFacts)).plan : undefined;
  return { imageFacts, hostConfigPlan };
}

/**
 * With update.url in the recipe: the agent, its repository and the root of trust it starts from;
 * in a signed image also the db certificate, which every update's UKI must be signed with, and with
 * a sealed /var the PCR policy key, which every update's UKI must carry.
 */
export async function installUpdateAgent(ctx: Pick<BuildState, 'loaded' | 'inputs' | 'tree' | 'secureBoot'>): Promise<void> {
  const { update } = ctx.loaded.recipe;
  const root = ctx.inputs.trustedRoot;
  if (!update || !root) return;
  const { tree } = ctx;
  tree.writeFile('usr/lib/slipway/update/root.json', root);
  tree.writeFile('usr/lib/slipway/update/config.json', `${JSON.stringify({ url: update.url, channel: update.channel, rebootWindow: update.rebootWindow })}\n`);
  if (ctx.secureBoot) tree.writeFile(UKI_SIGNER_CERT.slice(1), readFileSync(ctx.secureBoot.dbCert));
  if (ctx.secureBoot?.pcr) tree.writeFile(PCR_PUBLIC_KEY.slice(1), readFileSync(ctx.secureBoot.pcr.publicKey));
  tree.writeFile('usr/lib/slipway/update.cjs', await bundleProgram('update'), { origin: 'slipway' });
  tree.writeFile('usr/bin/slipway-update', '#!/bin/sh\nexec /usr/bin/node --expose-gc /usr/lib/slipway/update.cjs "$@"\n', { mode: 0o755, origin: 'slipway' });
}

/** Refuses a build whose kept files need what exclude: or remove: left out, with the chains that explain both sides. */
export function checkNeeds(ctx: Pick<BuildState, 'plan' | 'tree' | 'leftOut'>): void {
  const unmet = unmetNeeds(ctx.tree, ctx.leftOut, RUNTIME_NEEDS);
  if (unmet.length === 0) return;
  const neededBy = new Map([...ctx.plan.packages.host, ...ctx.plan.packages.excluded].map((p) => [p.name, p.neededBy ?? []]));
  throw new RecipeError(`kept files need what the image leaves out:\n${describeUnmet(unmet, neededBy).join('\n')}`, 'keep what is needed (drop it from exclude: or remove:), or leave out what needs it too');
}

/** The modules were trimmed with the unpacked tree; the kernel itself travels in the UKI. */
export function selectKernelModules(ctx: Pick<BuildState, 'plan' | 'tree'>): Pick<BuildState, 'kernel' | 'modules'> {
  const kernel = findKernel(ctx.tree, ctx.plan.kernel.package);
  const modules = moduleClosure(kernel, ctx.plan.kernel.modules, ctx.plan.kernel.recipeModules);
  for (const path of ctx.tree.list('boot')) ctx.tree.remove(path);
  return { kernel, modules };
}
