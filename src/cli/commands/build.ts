import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { openArchive } from '../../assemble/archive/open.ts';
import { DEBIAN_KEYRING } from '../../assemble/archive/release.ts';
import { lockPathFor, readLockfile, resolveLock, writeLockfile, type Lockfile } from '../../assemble/lock.ts';
import { BUILD_STEPS, prepareStaging, type BuildContext } from '../../build/build.ts';
import { FORMATS, BUILD_TOOLS, planImage, type ImagePlan } from '../../build/plan.ts';
import { registerCleanup } from '../../cleanup.ts';
import { UsageError } from '../../errors.ts';
import { checkTools } from '../../tools.ts';
import { stringOption, type Command, type GlobalFlags, type OptionValues } from '../command.ts';
import { ARCHIVE_OPTIONS, ARCHIVE_OPTION_DETAILS, archiveSourceFor, cacheFor, loadRecipeOrThrow } from '../context.ts';
import { runSteps } from '../progress.ts';
import { espConfigName, readConfigBytes } from '../../hostconfig/read.ts';
import { sizeListing } from '../../shared/packages.ts';

function parseFormats(text: string | undefined): string[] {
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
  if (values['dry-run']) {
    const names = (packages: readonly { name: string; version: string }[]) => packages.map((p) => `${p.name} ${p.version}`);
    const packages = {
      host: names(plan.packages.host),
      initrd: names(plan.packages.initrd),
      containers: Object.fromEntries(Object.entries(plan.packages.containers).map(([name, set]) => [name, names(set)])),
    };
    const { rows, ...host } = sizeListing(plan.packages.host, DRY_RUN_LARGEST);
    const sizes = { host: { ...host, largest: rows } };
    out(`${JSON.stringify({ ...plan, packages, sizes }, null, 2)}\n`);
    return undefined;
  }
  checkTools(BUILD_TOOLS);
  const { staging, work } = prepareStaging(plan.outDir, plan.basename);
  const unregister = registerCleanup(() => rmSync(staging, { recursive: true, force: true }));
  const started = performance.now();
  try {
    await runSteps<BuildContext>(BUILD_STEPS, { plan, loaded, source, cache, staging, work, debs: new Map(), imageTags: new Map(), digests: new Map(), hostConfig }, { quiet: global.json });
  } finally {
    rmSync(staging, { recursive: true, force: true });
    unregister();
  }
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
    '--dry-run      print the plan (with the host’s installed size and largest packages) and touch nothing',
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
