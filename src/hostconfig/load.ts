/**
 * Reading a host config: YAML or JSON, native or Ignition, then the schema, then the checks against
 * the image. Every problem is reported at once, each as `FILE: path: message`, the same on the
 * build host (`slipway config validate`) as on the console at boot.
 */
import { ConfigError } from '../errors.ts';
import { formatIssues } from '../recipe/load.ts';
import { readYaml } from '../shared/yaml.ts';
import { checkHostConfig } from './check.ts';
import type { ImageFacts } from './facts.ts';
import { fromIgnition, IgnitionProblem, ignitionSchema, isIgnition } from './ignition.ts';
import { HostConfigSchema, type HostConfig } from './schema.ts';

export const CONFIG_HINT = "see 'Host config' in the README, or run 'slipway config schema'";

function fail(label: string, problems: string[], hint = CONFIG_HINT): ConfigError {
  return new ConfigError(problems.map((p) => `${label}: ${p}`).join('\n'), hint);
}

/** Names a problem found after conversion by where it is in the Ignition config. */
function ignitionPath(problem: string): string {
  return problem
    .replace(/^users\[/, 'passwd.users[')
    .replace(/^files\[(\d+)\]\.base64/, 'storage.files[$1].contents.source')
    .replace(/^files\[(\d+)\]\.owner: unknown (user|group)/, 'storage.files[$1].$2: unknown $2')
    .replace(/^files\[/, 'storage.files[')
    .replace(/^units\[(\d+)\]\.content/, 'systemd.units[$1].contents')
    .replace(/^units\[(\d+)\]\.dropins\[(\d+)\]\.content/, 'systemd.units[$1].dropins[$2].contents')
    .replace(/^units\[/, 'systemd.units[');
}

/** Parses and checks a host config; throws ConfigError with every problem found. */
export function parseHostConfig(text: string, label: string, facts: ImageFacts): HostConfig {
  const read = readYaml(text);
  if (!read.ok) throw fail(label, read.problems, read.hint);
  let input: unknown = read.value ?? {};
  if (typeof input !== 'object' || Array.isArray(input)) throw fail(label, ['(top level): expected a mapping of settings']);
  const ignitionInput = isIgnition(input);
  const place = ignitionInput ? ignitionPath : (problem: string) => problem;
  if (ignitionInput) {
    const ignition = ignitionSchema().safeParse(input);
    if (!ignition.success) throw fail(label, formatIssues(ignition.error.issues));
    try {
      input = fromIgnition(ignition.data);
    } catch (error) {
      if (error instanceof IgnitionProblem) throw fail(label, [`${error.path}: ${error.message}`]);
      throw error;
    }
  }
  const parsed = HostConfigSchema.safeParse(input);
  if (!parsed.success) throw fail(label, formatIssues(parsed.error.issues).map(place));
  const problems = checkHostConfig(parsed.data, facts);
  if (problems.length > 0) throw fail(label, problems.map(place));
  return parsed.data;
}
