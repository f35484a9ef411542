import { hostConfigJsonSchema } from '../../hostconfig/schema.ts';
import { factsForImage, validateConfigFile } from '../../hostconfig/read.ts';
import { UsageError } from '../../errors.ts';
import { stringOption, type Command } from '../command.ts';

export const configCommand: Command = {
  name: 'config',
  summary: 'check a host config (validate FILE), or print its format as JSON Schema (schema)',
  usage: 'validate FILE [--image IMAGE] | schema',
  details: [
    'validate FILE    check a YAML, JSON or Ignition host config; every problem is named by its path',
    '--image IMAGE    check it against this built image (.raw, .qcow2 or .manifest.json): its users,',
    '                 groups, units and time zones; without it, against Debian\'s base accounts',
    'schema           print the host config format as JSON Schema',
  ],
  options: { image: { type: 'string' } },
  positionals: { min: 1, max: 2 },
  async run({ positionals, values, global, out }) {
    const [action, file] = positionals;
    if (action === 'schema' && file === undefined) {
      out(`${JSON.stringify(hostConfigJsonSchema(), null, 2)}\n`);
      return;
    }
    if (action !== 'validate' || file === undefined) {
      throw new UsageError(`config: expected "validate FILE" or "schema", got "${positionals.join(' ')}"`, "see 'slipway config --help'");
    }
    const config = validateConfigFile(file, factsForImage(stringOption(values, 'image')));
    if (global.json) out(`${JSON.stringify({ valid: true, config }, null, 2)}\n`);
    else out(`${file}: valid${config.hostname ? ` (host ${config.hostname})` : ''}\n`);
  },
};
