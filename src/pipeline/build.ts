/**
 * `slipway build`: the whole build as one list of steps, in order. Every step reads the plan and
 * writes into a staging folder beside the output; only a finished build is moved into the output.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { applyAlternatives, parseAlternatives } from '../assemble/configure/alternatives.ts';
import {
  applyRecipeFiles, configureCaCertificates, installConfigTemplates, configureReadOnlyRoot, trimFilter, writeOsRelease, writeUserTmpfiles,
} from '../assemble/configure/system.ts';
import { configureUnits } from '../assemble/configure/units.ts';
import { excludedPackagePaths, removePaths } from '../assemble/configure/remove.ts';
import { trimIcuData } from '../assemble/configure/icu.ts';
import { RUNTIME_NEEDS } from '../assemble/leave-out.ts';
import { describeUnmet, unmetNeeds } from '../assemble/needs.ts';
import { installContainerUnits } from '../assemble/configure/containers.ts';
import { CONTAINER_ROOTS_DIR, containerRootPath, imageArchivePath } from '../recipe/container-units.ts';
import { ociArchiveTag } from '../assemble/oci.ts';
import { configureUsers, parseSystemGroups } from '../assemble/configure/users.ts';
import { readAllControlMembers } from '../assemble/control.ts';
import { DataTars } from '../assemble/data-tars.ts';
import { fetchPackages } from '../assemble/download.ts';
import { compressInitrdArchive, initrdModulesArchive, initrdProgramsArchive } from '../assemble/initrd.ts';
import { findKernel, HeldModules, moduleClosure, trimModules } from '../assemble/kernel.ts';
import { checkLockClosed, containerSetName, HOST_SET, INITRD_SET, type LockedPackage } from '../assemble/lock.ts';
import { makeSquashfs } from '../assemble/rootfs.ts';
import { Tree } from '../assemble/tree.ts';
import { cachedTree, treeKey } from '../assemble/tree-cache.ts';
import { mergeUsr, unpackDataTar } from '../assemble/unpack.ts';
import { formatVerity, veritySalt } from '../assemble/verity.ts';
import { makeDataFilesystem } from '../bootimage/datafs.ts';
import { planLayout, writeDisk } from '../bootimage/disk.ts';
import { makeEsp } from '../bootimage/esp.ts';
import { makeUki } from '../bootimage/uki.ts';
import type { BuildContext } from './context.ts';
import type { Step } from './step.ts';
import { BuildError, OutputError, RecipeError } from '../errors.ts';
import { readRecipeFile } from '../recipe/load.ts';
import { stableUuid, ukiFileName } from '../shared/layout.ts';
import { PACKAGES_FILE, formatPackagesFile } from '../shared/packages.ts';
import { artifactPath, kernelCommandLine } from './plan.ts';
import { configurePam } from '../assemble/configure/pam.ts';
import { FACTS_PATH, factsFileText, parseGroup, parsePasswd, type ManifestFacts } from '../hostconfig/facts.ts';
import { compileHostConfig } from '../hostconfig/compile.ts';
import { PLAN_FILE_NAME } from '../hostconfig/read.ts';
import { installTargets, parseUnitFile, type InstallTarget } from '../shared/unitfile.ts';
import { bundleProgram } from './bundle.ts';
import { convertFormats, publishOutputs, startHashing, writeChecksums, writeManifest, writeSbom } from './outputs.ts';
import { processAlive } from '../shared/process.ts';
import { releaseLauncher } from '../launcher/launch.ts';

/** The facts `slipway config validate --image` and the build check host configs against. */
function imageFactsOf(tree: Tree, containers: string[]): ManifestFacts {
  const users = [...parsePasswd(tree.has('etc/passwd') ? tree.readText('etc/passwd') : '')].map(([name, u]) => ({ name, ...u }));
  const groups = [...parseGroup(tree.has('etc/group') ? tree.readText('etc/group') : '')].map(([name, gid]) => ({ name, gid }));
  const units = ['usr/lib/systemd/system', 'etc/systemd/system'].flatMap((dir) => tree.list(dir).map((path) => path.slice(dir.length + 1)));
  const zoneinfo = 'usr/share/zoneinfo';
  const timezones = tree.has(zoneinfo)
    ? tree.walk(zoneinfo).filter((path) => tree.get(path)?.type !== 'directory').map((path) => path.slice(zoneinfo.length + 1)).filter((name) => !/^(posix|right)\/|\.(tab|zi)$|^leap/.test(name))
    : [];
  const unitNames = [...new Set(units)].sort();
  const install: Record<string, InstallTarget[]> = {};
  for (const name of unitNames) {
    const text = imageUnitText(tree, name);
    let hooks: InstallTarget[] = [];
    try {
      hooks = text === undefined ? [] : installTargets(parseUnitFile(text));
    } catch {
      // A unit systemd itself would complain about: enabling it from a host config hooks it nowhere.
    }
    if (hooks.length > 0) install[name] = hooks;
  }
  return { users, groups, units: unitNames, containers, timezones: timezones.sort(), install };
}

/** A unit's text as the image has it: /etc before /usr/lib, symlinks followed inside the tree; none when masked. */
function imageUnitText(tree: Tree, name: string): string | undefined {
  for (const dir of ['etc/systemd/system', 'usr/lib/systemd/system']) {
    let path = `${dir}/${name}`;
    for (let hops = 0; hops < 8 && tree.has(path); hops++) {
      const entry = tree.get(path)!;
      if (entry.type === 'file') return tree.readText(path);
      if (entry.type !== 'symlink' || entry.target === '/dev/null') return undefined;
      path = entry.target!.startsWith('/') ? entry.target!.slice(1) : posix.join(posix.dirname(path), entry.target!);
    }
  }
  return undefined;
}

const RUNTIME_ROOTFS = new URL('../../runtime/rootfs/', import.meta.url).pathname;

/**
 * The steps that read the packages and apply the recipe to them, where a recipe the schema let
 * through can still be refused (an unknown owner, unit or module, kept files that need what is left
 * out). `build --dry-run` runs these too, in a folder of its own that it removes.
 */
export const CHECK_STEPS: Step<BuildContext>[] = [
  { title: 'Fetch packages', run: fetchAllPackages },
  { title: 'Unpack the initrd tree', run: unpackInitrdTree },
  { title: 'Unpack the root tree and leave out what no host runs', run: unpackRootTree },
  { title: 'Collect the boot loader and UKI stub', run: collectBootFiles },
  { title: 'Install the slipway runtime', run: (ctx) => installRuntime(ctx.tree!, RUNTIME_ROOTFS) },
  { title: 'Configure users and groups', run: configureAccounts },
  { title: 'Configure alternatives, CA certificates, os-release', run: configureSystem },
  { title: 'Install the containers: their files, or their image archives', run: installContainers },
  { title: 'Install runtime and recipe files', run: installFiles },
  { title: 'Enable units', run: enableUnits },
  { title: 'Bundle first-boot provisioning', run: installProvisioning },
  { title: 'Bundle the update agent', run: installUpdateAgent },
  { title: 'Check that nothing kept needs what is left out', run: checkNeeds },
  { title: 'Select kernel modules', run: selectKernelModules },
];

export const BUILD_STEPS: Step<BuildContext>[] = [
  ...CHECK_STEPS,
  { title: 'Build the initrd', run: makeInitrd },
  { title: 'Make the root filesystem', run: makeRootFilesystem },
  { title: 'Format verity', run: makeVerity },
  { title: 'Make the UKI', run: makeBootImage },
  { title: 'Make the ESP and data filesystems', run: makeFilesystems },
  { title: 'Write the disk', run: writeDiskImage },
  { title: 'Convert formats', run: (ctx) => convertFormats(ctx) },
  { title: 'Write manifest, SBOM and checksums', run: writeMetadata },
  { title: 'Publish outputs', run: (ctx) => publishOutputs(ctx) },
];

async function fetchAllPackages(ctx: BuildContext, report: (detail: string) => void): Promise<void> {
  const { host, excluded, initrd, containers } = ctx.plan.packages;
  // In the order the steps after this one read them.
  const all = [...initrd, ...host, ...excluded, ...Object.values(containers).flat()];
  const unique = [...new Map(all.map((p) => [p.sha256, p])).values()];
  const { paths } = await fetchPackages(unique, ctx.source, ctx.cache, { onProgress: (done, total) => report(`downloaded ${done}/${total}`) });
  for (const pkg of unique) ctx.debs.set(pkg.sha256, paths.get(pkg.name)!);
  ctx.tars = new DataTars(ctx.cache, unique, ctx.debs);
  ctx.controls = await readAllControlMembers(ctx.cache, unique, (pkg) => ctx.debs.get(pkg.sha256)!);
  const sets = { [HOST_SET]: host, [INITRD_SET]: initrd, ...Object.fromEntries(Object.entries(containers).map(([name, set]) => [containerSetName(name), set])) };
  checkLockClosed(ctx.loaded.recipe, sets, ctx.controls);
}

async function unpackSet(
  ctx: BuildContext, tree: Tree, packages: readonly LockedPackage[], keep: (path: string) => boolean, report: (d: string) => void, held?: HeldModules,
): Promise<void> {
  mergeUsr(tree);
  let done = 0;
  for (const pkg of packages) {
    const tar = await ctx.tars!.tar(pkg);
    await unpackDataTar(tree, tar, pkg.name, keep, held?.divert(tar, pkg.name));
    report(`${++done}/${packages.length} ${pkg.name}`);
  }
}

/** Cached by the packages, filters and left-out paths that make it, so a rebuild of other changes starts here at once. */
async function unpackRootTree(ctx: BuildContext, report: (detail: string) => void): Promise<void> {
  const { host, excluded } = ctx.plan.packages;
  const { keep, remove } = ctx.loaded.recipe;
  const { package: kernelPackage, modules, recipeModules } = ctx.plan.kernel;
  const key = treeKey({ packages: host.map((p) => p.sha256), excluded: excluded.map((p) => p.sha256), keep, remove, modules, recipeModules });
  const { tree, extra, hit } = await cachedTree(ctx.cache, key, join(ctx.work, 'root'), async (tree) => {
    const held = new HeldModules();
    await unpackSet(ctx, tree, host, trimFilter(keep), report, held);
    // Before remove:, which may name kernel modules as well.
    const kernel = findKernel(tree, kernelPackage, held);
    await trimModules(tree, kernel, moduleClosure(kernel, modules, recipeModules), held);
    const leftOut = removePaths(tree, remove);
    for (const icu of trimIcuData(tree, keep.locales)) report(`/${icu.path}: kept ${icu.kept} of ${icu.items} ICU data items`);
    const tars = await Promise.all(excluded.map(async (pkg) => ({ name: pkg.name, tar: await ctx.tars!.tar(pkg) })));
    for (const [path, reason] of await excludedPackagePaths(tree, tars)) leftOut.set(path, reason);
    return [...leftOut];
  }, ctx.checkOnly);
  if (hit) report('from the cache');
  ctx.tree = tree;
  ctx.leftOut = new Map(extra);
}

async function unpackInitrdTree(ctx: BuildContext, report: (detail: string) => void): Promise<void> {
  const packages = ctx.plan.packages.initrd;
  const key = treeKey({ initrd: packages.map((p) => p.sha256) });
  ctx.initrdTree = (await cachedTree(ctx.cache, key, join(ctx.work, 'initrd'), (tree) => unpackSet(ctx, tree, packages, () => true, report), ctx.checkOnly)).tree;
  if (ctx.checkOnly) return;
  // Compressed in the CPU time the root's unpacking leaves: its last seconds are this process's work
  // alone, once every data tar is decompressed. Not before, when the launcher and two decompressors
  // hold memory too.
  const programs = initrdProgramsArchive(ctx.initrdTree, ctx.plan.sourceDateEpoch);
  const tars = ctx.tars!;
  ctx.initrdPrograms = tars.all().then(() => {
    releaseLauncher();
    return compressInitrdArchive(programs, ctx.cache, true);
  });
  ctx.initrdPrograms.catch(() => undefined);
}

/** Refuses a build whose kept files need what exclude: or remove: left out, with the chains that explain both sides. */
function checkNeeds(ctx: BuildContext): void {
  const unmet = unmetNeeds(ctx.tree!, ctx.leftOut!, RUNTIME_NEEDS);
  if (unmet.length === 0) return;
  throw new RecipeError(`kept files need what the image leaves out:\n${describeUnmet(unmet, new Map([...ctx.plan.packages.host, ...ctx.plan.packages.excluded].map((p) => [p.name, p.neededBy ?? []]))).join('\n')}`, 'keep what is needed (drop it from exclude: or remove:), or leave out what needs it too');
}

const EFI_DIR = 'usr/lib/systemd/boot/efi';

function collectBootFiles(ctx: BuildContext): void {
  for (const file of ['linuxx64.efi.stub', 'systemd-bootx64.efi']) {
    if (!ctx.tree!.has(`${EFI_DIR}/${file}`)) throw new BuildError(`the image has no /${EFI_DIR}/${file}`, 'the systemd-boot-efi package is missing from the lockfile; run slipway lock');
    copyFileSync(ctx.tree!.hostPath(`${EFI_DIR}/${file}`), join(ctx.work, 'boot', file));
  }
}

/** The host packages' postinst scripts, in the lockfile's order. */
function hostScripts(ctx: BuildContext): string[] {
  return ctx.plan.packages.host.flatMap((pkg) => ctx.controls.get(pkg.sha256)!.postinst ?? []);
}

function configureAccounts(ctx: BuildContext): void {
  const groups = hostScripts(ctx).flatMap(parseSystemGroups);
  ctx.accounts = configureUsers(ctx.tree!, ctx.loaded.recipe.users, Math.floor(ctx.plan.sourceDateEpoch / 86400), groups);
  writeUserTmpfiles(ctx.tree!, ctx.accounts, ctx.loaded.recipe.users);
}

async function configureSystem(ctx: BuildContext): Promise<void> {
  const tree = ctx.tree!;
  applyAlternatives(tree, hostScripts(ctx).flatMap(parseAlternatives));
  configureCaCertificates(tree);
  installConfigTemplates(tree);
  configurePam(tree);
  ctx.osRelease = writeOsRelease(tree, { ...ctx.loaded.recipe, version: ctx.plan.version });
  configureReadOnlyRoot(tree, ctx.loaded.recipe, ctx.plan.sourceDateEpoch);
}

/** Copies runtime/rootfs (what every slipway image carries) into the tree. */
function installRuntime(tree: Tree, dir: string, prefix = ''): void {
  for (const name of readdirSync(dir).sort()) {
    const host = join(dir, name);
    const path = prefix ? `${prefix}/${name}` : name;
    if (statSync(host).isDirectory()) {
      tree.mkdir(path);
      installRuntime(tree, host, path);
    } else {
      tree.writeFile(path, readFileSync(host), { mode: statSync(host).mode & 0o111 ? 0o755 : 0o644, origin: 'slipway' });
    }
  }
}

/**
 * Containers built from Debian packages get their files in the root, below containerRootPath, where
 * dm-verity covers them and a boot has nothing to import; the recipe's OCI archives go in as they are.
 */
async function installContainers(ctx: BuildContext, report: (detail: string) => void): Promise<void> {
  for (const container of ctx.loaded.recipe.containers) {
    const image = container.image;
    if ('ref' in image) continue;
    if ('packages' in image) {
      // Root's alone: a container's setuid programs must not become the host's.
      ctx.tree!.mkdir(CONTAINER_ROOTS_DIR, { mode: 0o700 });
      const tree = new Tree(join(ctx.work, 'containers', container.name));
      await unpackSet(ctx, tree, ctx.plan.packages.containers[container.name] ?? [], trimFilter(ctx.loaded.recipe.keep), report);
      ctx.tree!.adopt(containerRootPath(container.name), tree);
      continue;
    }
    const archive = readRecipeFile(ctx.loaded, image.archive, `containers (${container.name}): image archive`);
    ctx.tree!.writeFile(imageArchivePath(container.name), archive);
    ctx.imageTags.set(container.name, (await ociArchiveTag(archive)) ?? 'latest');
  }
  // Nothing reads a package's files after this; a damaged package the cache spared every step fails here.
  await ctx.tars!.all();
}

function installFiles(ctx: BuildContext): void {
  installContainerUnits(ctx.tree!, ctx.loaded.recipe.containers, ctx.imageTags);
  ctx.tree!.writeFile('usr/lib/slipway/health.env', `SLIPWAY_HEALTH_TIMEOUT=${ctx.loaded.recipe.health.timeoutSeconds}\n`);
  if (ctx.loaded.recipe.debug.shell) {
    ctx.tree!.writeFile('usr/lib/systemd/system/slipway-debug-shell.service', readFileSync(new URL('../../runtime/debug/slipway-debug-shell.service', import.meta.url)));
  }
  // What the image is made of, for `slipway inspect` and for the host itself.
  ctx.tree!.writeFile(PACKAGES_FILE, formatPackagesFile(ctx.plan.packages.host));
  for (const unit of ctx.loaded.recipe.units) ctx.tree!.writeFile(`etc/systemd/system/${unit.name}`, unit.content, { origin: 'recipe' });
  applyRecipeFiles(ctx.tree!, ctx.loaded.recipe.files, ctx.accounts!, (source) => readRecipeFile(ctx.loaded, source, 'files: source'));
}

function enableUnits(ctx: BuildContext): void {
  const { services, units } = ctx.loaded.recipe;
  const enable = [...services.enable, ...units.filter((u) => u.enable).map((u) => u.name)];
  configureUnits(ctx.tree!, { enable, disable: services.disable, mask: services.mask });
}

/** The modules were trimmed with the unpacked tree; the kernel itself travels in the UKI. */
function selectKernelModules(ctx: BuildContext): void {
  ctx.kernel = findKernel(ctx.tree!, ctx.plan.kernel.package);
  ctx.modules = moduleClosure(ctx.kernel, ctx.plan.kernel.modules, ctx.plan.kernel.recipeModules);
  for (const path of ctx.tree!.list('boot')) ctx.tree!.remove(path);
}

async function makeInitrd(ctx: BuildContext): Promise<void> {
  const bootModules = moduleClosure(ctx.kernel!, ctx.plan.kernel.initrdModules, []);
  const provisionModules = moduleClosure(ctx.kernel!, ctx.plan.kernel.provisionModules, []).filter((m) => !bootModules.includes(m));
  const modules = initrdModulesArchive(ctx.tree!, ctx.kernel!, { boot: bootModules, provision: provisionModules }, ctx.plan.sourceDateEpoch);
  rmSync(ctx.initrdTree!.root, { recursive: true, force: true });
  // Before the root filesystem, not beside it: mksquashfs and two compressors at once took the
  // build's memory from 460 to 690 MiB.
  ctx.initrd = Buffer.concat(await Promise.all([ctx.initrdPrograms!, compressInitrdArchive(modules, ctx.cache)]));
}

async function makeRootFilesystem(ctx: BuildContext): Promise<void> {
  const output = artifactPath(ctx.plan, ctx.staging, 'root');
  await makeSquashfs(ctx.tree!, output, join(ctx.work, 'pseudo'), ctx.plan.sourceDateEpoch);
  const size = statSync(output).size;
  if (size > ctx.plan.disk.rootPartition) {
    throw new BuildError(
      `the root filesystem (${(size / 1048576).toFixed(1)} MiB) does not fit its slot (${(ctx.plan.disk.rootPartition / 1048576).toFixed(1)} MiB for the root after verity)`,
      'raise disk.slotSize in the recipe, or drop packages',
    );
  }
  rmSync(ctx.tree!.root, { recursive: true, force: true });
}

async function makeVerity(ctx: BuildContext): Promise<void> {
  const { name, version } = ctx.plan;
  ctx.verity = await formatVerity(
    artifactPath(ctx.plan, ctx.staging, 'root'),
    artifactPath(ctx.plan, ctx.staging, 'verity'),
    veritySalt(name, version),
    stableUuid(name, version, 'verity'),
  );
  for (const artifact of ['root', 'verity']) startHashing(ctx, artifactPath(ctx.plan, ctx.staging, artifact));
}

async function makeBootImage(ctx: BuildContext): Promise<void> {
  await makeUki(
    {
      stub: join(ctx.work, 'boot', 'linuxx64.efi.stub'),
      kernel: ctx.kernel!.vmlinuz,
      initrd: ctx.initrd!,
      cmdline: kernelCommandLine(ctx.plan, ctx.verity!.rootHash),
      osRelease: ctx.osRelease!,
      epoch: ctx.plan.sourceDateEpoch,
    },
    ctx.work,
    artifactPath(ctx.plan, ctx.staging, 'uki'),
  );
}

async function makeFilesystems(ctx: BuildContext): Promise<void> {
  const { plan } = ctx;
  ctx.layout = planLayout({ name: plan.name, version: plan.version, rootHash: ctx.verity!.rootHash, ...plan.disk });
  const boot = join(ctx.work, 'boot');
  const loaderConf = join(boot, 'loader.conf');
  writeFileSync(loaderConf, 'timeout 0\nconsole-mode keep\neditor no\n');
  const uki = artifactPath(plan, ctx.staging, 'uki');
  await makeEsp(
    join(ctx.work, 'esp.img'),
    plan.disk.espSize,
    stableUuid(plan.name, 'esp-volume').replace(/-/g, '').slice(0, 8),
    [
      { path: 'EFI/BOOT/BOOTX64.EFI', source: join(boot, 'systemd-bootx64.efi') },
      { path: 'EFI/systemd/systemd-bootx64.efi', source: join(boot, 'systemd-bootx64.efi') },
      { path: `EFI/Linux/${ukiFileName(plan.name, plan.version)}`, source: uki },
      { path: 'loader/loader.conf', source: loaderConf },
      ...(ctx.hostConfig ? bakedConfig(ctx) : []),
    ],
    plan.sourceDateEpoch,
  );
  await makeDataFilesystem(join(ctx.work, 'var.img'), plan.disk.dataSize, stableUuid(plan.name, 'var-fs'), plan.sourceDateEpoch, ctx.work);
}

/** The baked-in config and the plan compiled from it, as files to copy onto the ESP. */
function bakedConfig(ctx: BuildContext): Array<{ path: string; source: string }> {
  const { bytes, fileName, plan } = ctx.hostConfig!;
  writeFileSync(join(ctx.work, 'boot', fileName), bytes);
  writeFileSync(join(ctx.work, 'boot', PLAN_FILE_NAME), plan!);
  return [
    { path: `slipway/${fileName}`, source: join(ctx.work, 'boot', fileName) },
    { path: `slipway/${PLAN_FILE_NAME}`, source: join(ctx.work, 'boot', PLAN_FILE_NAME) },
  ];
}

/** The provisioning program, and the image's accounts, units and time zones that configs are checked against. */
async function installProvisioning(ctx: BuildContext): Promise<void> {
  const tree = ctx.tree!;
  tree.writeFile('usr/lib/slipway/provision.cjs', await bundleProgram('provision'), { origin: 'slipway' });
  ctx.imageFacts = imageFactsOf(tree, ctx.loaded.recipe.containers.map((c) => c.name));
  tree.writeFile(FACTS_PATH.slice(1), factsFileText(ctx.imageFacts), { origin: 'slipway' });
  if (ctx.hostConfig) ctx.hostConfig.plan = (await compileHostConfig(ctx.hostConfig.bytes, ctx.hostConfig.label, ctx.imageFacts)).plan;
}

/** With update.url in the recipe: the agent, its repository and the root of trust it starts from. */
async function installUpdateAgent(ctx: BuildContext): Promise<void> {
  const update = ctx.loaded.recipe.update;
  if (!update) return;
  if (!update.trustedRoot) throw new RecipeError('update.trustedRoot: a host needs the repository\'s root.json to trust its updates', "give the path of metadata/1.root.json of the repository ('slipway publish --init' makes it)");
  const rootPath = resolve(ctx.loaded.dir, update.trustedRoot);
  let root: Buffer;
  try {
    root = readFileSync(rootPath);
    JSON.parse(root.toString('utf8'));
  } catch (cause) {
    throw new RecipeError(`update.trustedRoot: cannot read ${update.trustedRoot} as JSON (${rootPath})`, 'give the path of the repository\'s metadata/1.root.json', { cause });
  }
  const tree = ctx.tree!;
  tree.writeFile('usr/lib/slipway/update/root.json', root);
  tree.writeFile('usr/lib/slipway/update/config.json', `${JSON.stringify({ url: update.url, channel: update.channel, rebootWindow: update.rebootWindow })}\n`);
  tree.writeFile('usr/lib/slipway/update.cjs', await bundleProgram('update'), { origin: 'slipway' });
  tree.writeFile('usr/bin/slipway-update', '#!/bin/sh\nexec /usr/bin/node --expose-gc /usr/lib/slipway/update.cjs "$@"\n', { mode: 0o755, origin: 'slipway' });
}

async function writeDiskImage(ctx: BuildContext): Promise<void> {
  const raw = join(ctx.work, 'disk.raw');
  const { digest } = await writeDisk(raw, ctx.layout!, {
    'esp': join(ctx.work, 'esp.img'),
    'root-a': artifactPath(ctx.plan, ctx.staging, 'root'),
    'verity-a': artifactPath(ctx.plan, ctx.staging, 'verity'),
    'data': join(ctx.work, 'var.img'),
  });
  digest.catch(() => undefined);
  ctx.digests.set(raw, digest);
}

async function writeMetadata(ctx: BuildContext): Promise<void> {
  await writeManifest(ctx);
  writeSbom(ctx);
  await writeChecksums(ctx);
}

/**
 * Prepares the staging folder inside the output folder, failing early when it is not writable.
 * Staging folders of builds that were killed (SIGKILL leaves hundreds of MB) are removed, and named
 * in `removed`; a live build's is left alone.
 */
export function prepareStaging(outDir: string, basename: string): { staging: string; work: string; removed: string[] } {
  try {
    makeOutputFolder(outDir);
    const removed: string[] = [];
    for (const name of readdirSync(outDir)) {
      const pid = /^\.staging-.+-(\d+)$/.exec(name)?.[1];
      if (pid === undefined || (Number(pid) !== process.pid && processAlive(Number(pid)))) continue;
      rmSync(join(outDir, name), { recursive: true, force: true });
      if (Number(pid) !== process.pid) removed.push(name);
    }
    const staging = join(outDir, `.staging-${basename}-${process.pid}`);
    mkdirSync(join(staging, 'work', 'boot'), { recursive: true });
    return { staging, work: join(staging, 'work'), removed };
  } catch (cause) {
    throw new OutputError(
      `cannot write to ${shownPath(outDir)}: ${(cause as Error).message}`,
      'choose an --out folder you can write to',
      { cause },
    );
  }
}

/**
 * The --out folder, made one level at a time (Node's recursive mkdir spins forever, deaf to
 * signals, below /proc). An existing one must be a folder, not a link to one: a build writes and
 * removes only inside a folder it was given.
 */
function makeOutputFolder(outDir: string): void {
  const existing = lstatSync(outDir, { throwIfNoEntry: false });
  if (existing?.isSymbolicLink()) throw new Error('it is a symlink; give the folder it points to');
  if (existing && !existing.isDirectory()) throw new Error('it is not a folder');
  const missing: string[] = [];
  for (let dir = outDir; !existsSync(dir); dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) mkdirSync(dir);
}

/** A path as the user would type it here: relative below the working folder, else absolute. */
function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
