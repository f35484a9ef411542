import { lstatSync } from 'node:fs';
import { hostConfigJsonSchema } from '../../hostconfig/schema.ts';
import { compileConfigFile, factsForImage, validateConfigFile } from '../../hostconfig/read.ts';
import { ConfigError, errorMessage, OutputError, UsageError } from '../../errors.ts';
import { replaceFileDurably } from '../../shared/durable.ts';
import { stringOption, type Command } from '../command.ts';

async function compile(file: string, image: string | undefined, planFile: string | undefined, out: (text: string) => void, json: boolean): Promise<void> {
  if (image === undefined || planFile === undefined) throw new UsageError('config compile: needs --image IMAGE and --out PLAN', 'a plan fits one image: name it, and where to write the plan');
  const existing = lstatSync(planFile, { throwIfNoEntry: false });
  if (existing && !existing.isFile()) {
    const what = existing.isSymbolicLink() ? 'a symlink' : existing.isDirectory() ? 'a folder' : 'not a regular file';
    throw new OutputError(`config compile: --out ${planFile} is ${what}, which a plan does not replace`, 'give a new file, or a plan file to replace');
  }
  const { config, plan, remote } = await compileConfigFile(file, image);
  if (!plan) {
    throw new ConfigError(
      `${file}: fetches ${remote.length} remote source${remote.length > 1 ? 's' : ''} at first boot (${remote.slice(0, 3).join(', ')}${remote.length > 3 ? ', ...' : ''}), so only the host can compile it`,
      'hand the host the config alone (boot --config, build --config or a config drive do): its first boot fetches the sources and compiles the plan',
    );
  }
  try {
    replaceFileDurably(planFile, plan);
  } catch (cause) {
    throw new OutputError(`cannot write the plan to ${planFile}: ${errorMessage(cause)}`, 'give --out a path in a folder that exists and that you can write', { cause });
  }
  if (json) out(`${JSON.stringify({ valid: true, plan: planFile, config }, null, 2)}\n`);
  else out(`${file}: valid${config.hostname ? ` (host ${config.hostname})` : ''}; plan for ${image} written to ${planFile}\n`);
}

export const configCommand: Command = {
  name: 'config',
  summary: 'check a host config, compile it for an image, or print its format',
  usage: 'validate FILE [--image IMAGE] | compile FILE --image IMAGE --out PLAN | schema',
  details: [
    'validate FILE  check a YAML, JSON or Ignition host config; every problem is named by its path',
    'compile FILE   check it against --image and write the plan its first boot applies to --out;',
    '               put it beside the config as plan.tar (on the ESP\'s /slipway or a config drive)',
    '               and the first boot applies it without starting Node',
    'schema         print the host config format as JSON Schema',
  ],
  options: {
    image: {
      type: 'string',
      value: 'IMAGE',
      help: ['check against this built image (.raw, .qcow2 or .manifest.json): its users, groups,', 'units and time zones; without it, validate checks against Debian\'s base accounts'],
    },
    out: { type: 'string', value: 'PLAN', help: 'where compile writes the plan' },
  },
  positionals: { min: 1, max: 2 },
  async run({ positionals, values, global, out }) {
    const [action, file] = positionals;
    if (action === 'schema' && file === undefined) {
      out(`${JSON.stringify(hostConfigJsonSchema(), null, 2)}\n`);
      return;
    }
    if (action === 'compile' && file !== undefined) {
      await compile(file, stringOption(values, 'image'), stringOption(values, 'out'), out, global.json);
      return;
    }
    if (action !== 'validate' || file === undefined) {
      throw new UsageError(`config: expected "validate FILE", "compile FILE" or "schema", got "${positionals.join(' ')}"`, "see 'slipway config --help'");
    }
    const config = validateConfigFile(file, factsForImage(stringOption(values, 'image')));
    if (global.json) out(`${JSON.stringify({ valid: true, config }, null, 2)}\n`);
    else out(`${file}: valid${config.hostname ? ` (host ${config.hostname})` : ''}\n`);
  },
};
