/**
 * `slipway-provision`, bundled into the image as /usr/lib/slipway/provision.cjs. The initrd runs it
 * once, at first boot, chrooted into the verified root before systemd starts: / is the image (its
 * own /etc, the overlay not yet mounted) and /var is the data partition.
 *
 *   node provision.cjs CONFIG-FILE LABEL
 *
 * Prints `slipway-provision: error: ...` lines and exits 1 when the config does not validate,
 * before anything is written.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SlipwayError } from '../errors.ts';
import { applyWrites } from './apply.ts';
import { parseGroup, parsePasswd, type ImageFacts } from './facts.ts';
import { parseHostConfig } from './load.ts';
import { planProvision } from './plan.ts';

const UNIT_DIRS = ['/etc/systemd/system', '/usr/lib/systemd/system'];
export const ETC_UPPER = '/var/lib/slipway/etc/upper';

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function imageFacts(): ImageFacts {
  const units = new Set(UNIT_DIRS.flatMap((dir) => (existsSync(dir) ? readdirSync(dir) : [])));
  return {
    users: parsePasswd(readOr('/etc/passwd', '')),
    groups: parseGroup(readOr('/etc/group', '')),
    units,
    containers: new Set(readOr('/usr/lib/slipway/containers', '').split('\n').filter(Boolean)),
    hasTimezone: (name) => existsSync(`/usr/share/zoneinfo/${name}`),
  };
}

function readImageUnit(name: string): string | undefined {
  for (const dir of UNIT_DIRS) if (existsSync(`${dir}/${name}`)) return readFileSync(`${dir}/${name}`, 'utf8');
  return undefined;
}

function main(argv: string[]): number {
  const [file, label = file] = argv;
  if (!file) {
    process.stderr.write('usage: provision.cjs CONFIG-FILE [LABEL]\n');
    return 2;
  }
  try {
    const facts = imageFacts();
    const config = parseHostConfig(readFileSync(file, 'utf8'), label!, facts);
    const writes = planProvision(config, facts, readImageUnit);
    applyWrites(writes, { etc: ETC_UPPER, var: '/var' });
    process.stdout.write(`slipway-provision: applied ${label}${config.hostname ? ` (host ${config.hostname})` : ''}\n`);
    return 0;
  } catch (error) {
    const lines = error instanceof SlipwayError ? [...error.message.split('\n'), `hint: ${error.hint}`] : [String(error)];
    for (const line of lines) process.stderr.write(`slipway-provision: ${line.startsWith('hint: ') ? line : `error: ${line}`}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
