import { resolve } from 'node:path';
import { UsageError } from '../../errors.ts';
import { FORMAT_NAMES, isFormat } from '../../pipeline/formats.ts';
import type { ImagePlan } from '../../pipeline/plan.ts';
import { runBuild, type BuildOutcome, type BuildRequest } from '../../pipeline/run.ts';
import { sizeListing } from '../../shared/packages.ts';
import { stringOption, type Command, type GlobalFlags, type OptionSpecs, type OptionValues } from '../command.ts';
import { ARCHIVE_OPTIONS, cacheDirFor } from '../context.ts';
import { runSteps } from '../progress.ts';

export function parseFormats(text: string | undefined): string[] {
  const formats = (text ?? 'raw,qcow2').split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = formats.filter((f) => !isFormat(f));
  if (unknown.length > 0 || formats.length === 0) {
    throw new UsageError(`--format: unknown format ${unknown.join(', ') || '(none)'}`, `the formats are ${FORMAT_NAMES.join(', ')}`);
  }
  return [...new Set(formats)];
}

/** How many of the host's largest packages `--dry-run` lists under `sizes`. */
const DRY_RUN_LARGEST = 15;

/** What a build needs to be told, for build and for boot's build of a recipe. */
export const IMAGE_OPTIONS = {
  out: { type: 'string', value: 'DIR', help: 'where the outputs go (default: out)' },
  version: { type: 'string', value: 'V', help: 'the image version (default: the recipe’s)' },
  'secure-boot-keys': { type: 'string', value: 'DIR', help: ['sign for Secure Boot with the db key that slipway keygen made in DIR', '(default: the recipe’s secureBoot.keys)'] },
  ...ARCHIVE_OPTIONS,
} as const satisfies OptionSpecs;

const BUILD_OPTIONS = {
  ...IMAGE_OPTIONS,
  'format': { type: 'string', value: 'LIST', help: ['disk formats: raw, qcow2 (default: both), and for clouds vhd (Azure), vmdk', '(VMware), gce (Google\'s tar.gz); netboot: a UKI that fetches', 'the root from the recipe\'s netboot.url and runs live; iso: an installer', 'that boots live from a CD or USB stick and installs on a disk'] },
  'config': { type: 'string', value: 'FILE', help: 'bake a host config into the ESP (a single-purpose image; checked first)' },
  'dry-run': {
    type: 'boolean',
    help: ['make every check the build makes (fetching the packages into the cache),', 'then print the plan, with the host’s installed size and largest packages;', '--out is not touched'],
  },
} as const satisfies OptionSpecs;

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

/** The build the options ask for; boot asks for one too, with its own defaults. */
export function buildRequestFrom(recipe: string, values: OptionValues): BuildRequest {
  const version = stringOption(values, 'version');
  if (version !== undefined && !/^[0-9][A-Za-z0-9.+~-]*$/.test(version)) throw new UsageError(`--version: "${version}" is not a version`, 'use digits, letters, dots, plus, tilde and dashes, starting with a digit');
  return {
    recipe,
    outDir: resolve(stringOption(values, 'out') ?? 'out'),
    version,
    formats: parseFormats(stringOption(values, 'format')),
    configFile: stringOption(values, 'config'),
    dryRun: values['dry-run'] === true,
    mirror: stringOption(values, 'mirror'),
    secureBootKeys: stringOption(values, 'secure-boot-keys'),
    cacheDir: cacheDirFor(values),
  };
}

/** Runs a build with the command line's progress and messages; says how long it took. */
export async function buildWithProgress(request: BuildRequest, global: GlobalFlags, out: (text: string) => void): Promise<BuildOutcome> {
  const outcome = await runBuild(request, {
    runSteps: (steps, context) => runSteps(steps, context, { quiet: global.json }),
    notify: (message) => process.stderr.write(`slipway: ${message}\n`),
  });
  if (outcome.built && !global.json) out(`built ${outcome.plan.basename} in ${outcome.seconds.toFixed(1)} s:\n`);
  return outcome;
}

export const buildCommand: Command = {
  name: 'build',
  summary: 'build a bootable, verified A/B disk image from a recipe',
  usage: 'RECIPE [--out DIR] [--version V] [--format raw,qcow2] [--config FILE] [--secure-boot-keys DIR] [--dry-run]',
  options: BUILD_OPTIONS,
  positionals: { min: 1, max: 1 },
  async run({ positionals, values, global, out }) {
    const { plan, built } = await buildWithProgress(buildRequestFrom(positionals[0]!, values), global, out);
    if (!built) {
      out(`${JSON.stringify(planReport(plan), null, 2)}\n`);
      return;
    }
    if (global.json) {
      out(`${JSON.stringify({ outDir: plan.outDir, artifacts: plan.artifacts }, null, 2)}\n`);
    } else {
      for (const name of Object.values(plan.artifacts)) out(`  ${resolve(plan.outDir, name)}\n`);
    }
  },
};
