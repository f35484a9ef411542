import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openArchive } from '../../assemble/archive/open.ts';
import { DEBIAN_KEYRING } from '../../assemble/archive/release.ts';
import { lockPathFor, readLockfile, resolveLock, writeLockfile, type Lockfile } from '../../assemble/lock.ts';
import { BUILD_STEPS, CHECK_STEPS, prepareStaging } from '../../pipeline/build.ts';
import type { BuildContext } from '../../pipeline/context.ts';
import { checkRecipeInputs } from '../../pipeline/precheck.ts';
import { FORMATS, BUILD_TOOLS, planImage, type ImagePlan } from '../../pipeline/plan.ts';
import { registerCleanup } from '../../cleanup.ts';
import { UsageError } from '../../errors.ts';
import { checkTools } from '../../tools.ts';
import { stringOption, type Command, type GlobalFlags, type OptionValues } from '../command.ts';
import { ARCHIVE_OPTIONS, ARCHIVE_OPTION_DETAILS, archiveSourceFor, cacheFor, loadRecipeOrThrow } from '../context.ts';
import { runSteps } from '../progress.ts';
import type { Step } from '../../pipeline/step.ts';
import { espConfigName, readConfigBytes } from '../../hostconfig/read.ts';
import { sizeListing } from '../../shared/packages.ts';

export function parseFormats(text: string | undefined): string[] {
  const formats = (text ?? 'raw,qcow2').split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = formats.filter((f) => !Object.hasOwn(FORMATS, f));
  if (unknown.length > 0 || formats.length === 0) {
    throw new UsageError(`--format: unknown format ${unknown.join(', ') || '(none)'}`, `the formats are ${Object.keys(FORMATS).join(', ')}`);
  }
  return [...new Set(formats)];
}

/** How many of the host's largest packages `--dry-run` lists under `sizes`. */
const DRY_RUN_LARGEST = 15;

export const BUILD_OPTIONS = { ...ARCHIVE_OPTIONS, 'out': { type: 'string' }, 'version': { type: 'string' }, 'format': { type: 'string' }, 'dry-run': { type: 'boolean' }, 'config': { type: 'string' } } as const;

/** What `--dry-run` prints: the plan, its packages by name and version, and the host's size with its largest packages. */
export function planReport(plan: ImagePlan): Record<string, unknown> {
  const names = (packages: readonly { name: string; version: string }[]) => packages.map((p) => `${p.name} ${p.version}`);
  const packages = {
    host: names(plan.packages.host),
    initrd: names(plan.packages.initrd),
    containers: Object.fromEntries(Object.entries(plan.packages.containers).map(([name, set]) => [name, names(set)])),
  };
  const { rows, ...host } = sizeListing(plan.packages.host, DRY_RUN_LARGEST);
  return { ...plan, packages, sizes: { host: { ...host, largest: rows } } };
}

/** Runs build steps; `staging` is removed afterwards, whether they finish or not (and on SIGINT). */
async function runBuildSteps(steps: readonly Step<BuildContext>[], context: BuildContext, staging: string, global: GlobalFlags): Promise<void> {
  const unregister = registerCleanup(() => rmSync(staging, { recursive: true, force: true }));
  try {
    await runSteps<BuildContext>(steps, context, { quiet: global.json });
  } finally {
    await context.tars?.stop();
    await context.initrdPrograms?.catch(() => undefined);
    rmSync(staging, { recursive: true, force: true });
    unregister();
  }
}

/** Builds a recipe (locking it first when it has no lockfile); with --dry-run prints the plan instead and returns nothing. */
export async function buildRecipe(file: string, values: OptionValues, global: GlobalFlags, out: (text: string) => void): Promise<ImagePlan | undefined> {
  const loaded = loadRecipeOrThrow(file);
  const formats = parseFormats(stringOption(values, 'format'));
  const version = stringOption(values, 'version');
  if (version !== undefined && !/^[0-9][A-Za-z0-9.+~-]*$/.test(version)) throw new UsageError(`--version: "${version}" is not a version`, 'use digits, letters, dots, plus, tilde and dashes, starting with a digit');
  const source = archiveSourceFor(loaded, values);
  const cache = cacheFor(values);
  const lockPath = lockPathFor(loaded.path);
  let lock: Lockfile;
  if (existsSync(lockPath)) {
    lock = readLockfile(lockPath, loaded.recipe, file);
  } else {
    checkTools(['gpgv'], source.keyring === DEBIAN_KEYRING ? [DEBIAN_KEYRING] : []);
    lock = resolveLock(loaded.recipe, await openArchive(source, cache));
    if (!values['dry-run']) writeLockfile(lockPath, lock);
  }
  const configFile = stringOption(values, 'config');
  const hostConfig = configFile === undefined ? undefined : { bytes: readConfigBytes(configFile), label: configFile, fileName: espConfigName(configFile) };
  const plan = planImage(loaded.recipe, lock, { outDir: resolve(stringOption(values, 'out') ?? 'out'), version, formats });
  checkRecipeInputs(loaded);
  checkTools(BUILD_TOOLS);
  const context = (staging: string, work: string, checkOnly: boolean): BuildContext => ({
    plan, loaded, source, cache, checkOnly, staging, work, debs: new Map(), controls: new Map(), imageTags: new Map(), digests: new Map(), hostConfig,
  });
  if (values['dry-run']) {
    // Every check the build makes, on the packages and in a folder of its own beside the cached
    // trees (which it reads in place): --out is not touched.
    cache.sweepPartials('scratch');
    const scratch = cache.tempPathFor('scratch');
    mkdirSync(join(scratch, 'work', 'boot'), { recursive: true });
    await runBuildSteps(CHECK_STEPS, context(scratch, join(scratch, 'work'), true), scratch, global);
    out(`${JSON.stringify(planReport(plan), null, 2)}\n`);
    return undefined;
  }
  const { staging, work, removed } = prepareStaging(plan.outDir, plan.basename);
  for (const name of removed) process.stderr.write(`slipway: removed ${name}, left in ${plan.outDir} by a build that was killed\n`);
  const started = performance.now();
  await runBuildSteps(BUILD_STEPS, context(staging, work, false), staging, global);
  if (!global.json) out(`built ${plan.basename} in ${((performance.now() - started) / 1000).toFixed(1)} s:\n`);
  return plan;
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'build a bootable, verified A/B disk image from a recipe',
  usage: 'RECIPE [--out DIR] [--version V] [--format raw,qcow2] [--config FILE] [--dry-run]',
  details: [
    '--out DIR      where the outputs go (default: out)',
    '--version V    the image version (default: the recipe’s)',
    '--format LIST  disk formats: raw, qcow2 (default: both)',
    '--config FILE  bake a host config into the ESP (a single-purpose image; checked first)',
    '--dry-run      make every check the build makes (fetching the packages into the cache), then print',
    '               the plan, with the host’s installed size and largest packages;',
    '               --out is not touched',
    ...ARCHIVE_OPTION_DETAILS,
  ],
  options: BUILD_OPTIONS,
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, global, out }) {
    const plan = await buildRecipe(positionals[0]!, values, global, out);
    if (!plan) return;
    if (global.json) {
      out(`${JSON.stringify({ outDir: plan.outDir, artifacts: plan.artifacts }, null, 2)}\n`);
    } else {
      for (const name of Object.values(plan.artifacts)) out(`  ${resolve(plan.outDir, name)}\n`);
    }
  },
};
