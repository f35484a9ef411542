/**
 * One build, as `slipway build` and `slipway boot RECIPE` ask for it: every input is read and
 * checked, the recipe locked when it has no lockfile, then the steps run in a staging folder that
 * is removed whether they finish or not (and on SIGINT).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openArchive, type ArchiveSource } from '../assemble/archive/open.ts';
import { DEBIAN_KEYRING } from '../assemble/archive/release.ts';
import { ContentCache } from '../assemble/cache.ts';
import { lockPathFor, readLockfile, resolveLock, writeLockfile, type Lockfile } from '../assemble/lock.ts';
import { SEALING_FILES, SEALING_TOOLS } from '../bootimage/pcr-policy.ts';
import { readSecureBootKeys, SIGNING_TOOLS, type SecureBootKeys } from '../bootimage/secure-boot.ts';
import { registerCleanup } from '../cleanup.ts';
import { RecipeError } from '../errors.ts';
import { espConfigName, readConfigBytes } from '../hostconfig/read.ts';
import type { LoadedRecipe } from '../recipe/load.ts';
import { checkTools } from '../tools.ts';
import type { BuildInputs, BuildState, HostConfigInput } from './context.ts';
import { BUILD_TOOLS, planImage, type ImagePlan } from './plan.ts';
import { readRecipeInputs } from './precheck.ts';
import { archiveSourceOf, loadRecipeOrThrow } from './sources.ts';
import { prepareStaging } from './staging.ts';
import type { Step, StepRunner } from './step.ts';
import { BUILD_STEPS, CHECK_STEPS } from './steps.ts';

export interface BuildRequest {
  /** The recipe's path. */
  recipe: string;
  outDir: string;
  /** Instead of the recipe's version. */
  version?: string;
  /** Names from FORMATS (formats.ts). */
  formats: string[];
  /** A host config to bake into the ESP. */
  configFile?: string;
  /** Make every check the build makes, fetching the packages, and write nothing to outDir. */
  dryRun: boolean;
  /** The --mirror flag, which wins over the recipe's. */
  mirror?: string;
  /** The --secure-boot-keys flag, which wins over the recipe's secureBoot.keys. */
  secureBootKeys?: string;
  cacheDir: string;
}

export interface BuildHooks {
  /** Runs the steps, showing their progress. */
  runSteps: StepRunner;
  /** A line for the user that is not an error (what an earlier, killed build left and this one removed). */
  notify: (message: string) => void;
}

export interface BuildOutcome {
  plan: ImagePlan;
  /** False for a dry run. */
  built: boolean;
  seconds: number;
}

export async function runBuild(request: BuildRequest, hooks: BuildHooks): Promise<BuildOutcome> {
  const started = performance.now();
  const loaded = loadRecipeOrThrow(request.recipe);
  const source = archiveSourceOf(loaded, request.mirror);
  const cache = new ContentCache(request.cacheDir);
  // Everything that can be found wrong without the network, before any download.
  const inputs = readRecipeInputs(loaded);
  const hostConfig = readHostConfig(request.configFile);
  const sealed = loaded.recipe.disk.encryption === 'tpm2';
  const secureBoot = secureBootKeysFor(loaded, request.secureBootKeys, sealed);
  checkTools([...BUILD_TOOLS, ...(secureBoot ? SIGNING_TOOLS : []), ...(sealed ? SEALING_TOOLS : [])], sealed ? SEALING_FILES : []);
  const lock = await lockFor(loaded, request, source, cache);
  const plan = planImage(loaded.recipe, lock, { outDir: request.outDir, version: request.version, formats: request.formats });
  const given = { plan, loaded, inputs, source, cache, hostConfig, secureBoot, digests: new Map() };
  if (request.dryRun) {
    // Every check the build makes, on the packages and in a folder of its own beside the cached
    // trees (which it reads in place): the output folder is not touched.
    cache.sweepPartials('scratch');
    const scratch = cache.tempPathFor('scratch');
    mkdirSync(join(scratch, 'work', 'boot'), { recursive: true });
    await runInStaging(CHECK_STEPS, { ...given, checkOnly: true, staging: scratch, work: join(scratch, 'work') }, hooks.runSteps);
    return { plan, built: false, seconds: seconds(started) };
  }
  const { staging, work, removed } = prepareStaging(plan.outDir, plan.basename);
  for (const name of removed) hooks.notify(`removed ${name}, left in ${plan.outDir} by a build that was killed`);
  await runInStaging(BUILD_STEPS, { ...given, checkOnly: false, staging, work }, hooks.runSteps);
  return { plan, built: true, seconds: seconds(started) };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function readHostConfig(file: string | undefined): HostConfigInput | undefined {
  return file === undefined ? undefined : { bytes: readConfigBytes(file), label: file, fileName: espConfigName(file) };
}

/** The keys the command line names, else the recipe's (beside it); a `sealed` /var needs them, with the PCR key. */
function secureBootKeysFor(loaded: LoadedRecipe, flag: string | undefined, sealed: boolean): SecureBootKeys | undefined {
  if (flag !== undefined) return readSecureBootKeys(resolve(flag), '--secure-boot-keys', sealed);
  const keys = loaded.recipe.secureBoot?.keys;
  if (keys === undefined && sealed) {
    throw new RecipeError(
      'disk.encryption: tpm2 seals /var to the key that signs the image, and this build has no Secure Boot keys',
      "make keys with 'slipway keygen --secure-boot DIR', then name DIR in secureBoot.keys or give --secure-boot-keys DIR",
    );
  }
  return keys === undefined ? undefined : readSecureBootKeys(resolve(loaded.dir, keys), 'secureBoot.keys', sealed);
}

/** The recipe's lockfile; without one, the recipe is resolved against the archive (and locked, unless this is a dry run). */
async function lockFor(loaded: LoadedRecipe, request: BuildRequest, source: ArchiveSource, cache: ContentCache): Promise<Lockfile> {
  const lockPath = lockPathFor(loaded.path);
  if (existsSync(lockPath)) return readLockfile(lockPath, loaded.recipe, request.recipe);
  checkTools(['gpgv'], source.keyring === DEBIAN_KEYRING ? [DEBIAN_KEYRING] : []);
  const lock = resolveLock(loaded.recipe, await openArchive(source, cache));
  if (!request.dryRun) writeLockfile(lockPath, lock);
  return lock;
}

async function runInStaging(steps: readonly Step<BuildInputs>[], context: BuildInputs, runSteps: StepRunner): Promise<void> {
  const { staging } = context;
  const unregister = registerCleanup(() => rmSync(staging, { recursive: true, force: true }));
  // The steps add what they make to the context; what is there when they stop must be stopped too.
  const made = context as Partial<BuildState>;
  try {
    await runSteps(steps, context);
  } finally {
    await made.tars?.stop();
    await made.initrdPrograms?.catch(() => undefined);
    rmSync(staging, { recursive: true, force: true });
    unregister();
  }
}
