/**
 * `slipway-update`, bundled into the image as /usr/lib/slipway/update.cjs and run by its Node:
 *
 *   slipway-update check [--json]           is there a newer release on this host's channel?
 *   slipway-update apply [--reboot]         install it into the inactive slot (then reboot into it)
 *   slipway-update status [--json]          slots, versions, the update in flight, the last result
 *   slipway-update rollback [--reboot]      boot the other slot's version again, and never retry this one
 *   slipway-update boot-check               at boot: did the last update come up, or fall back?
 *   slipway-update blessed                  after boot-complete.target: the new version is good
 */
import { describeError } from '../../error-report.ts';
import { UsageError } from '../../errors.ts';
import { apply, check } from './install.ts';
import { status } from './status.ts';
import { blessed, bootCheck, rollback } from './verdict.ts';

const USAGE = 'slipway-update check [--json] | apply [--reboot] | status [--json] | rollback [--reboot]';

/** Each command with the flags it takes. */
const COMMANDS: Record<string, { flags: string[]; run: (flags: Set<string>) => unknown }> = {
  'check': { flags: ['--json'], run: (flags) => check(flags.has('--json')) },
  'apply': { flags: ['--reboot'], run: (flags) => apply(flags.has('--reboot')) },
  'status': { flags: ['--json'], run: (flags) => status(flags.has('--json')) },
  'rollback': { flags: ['--reboot'], run: (flags) => rollback(flags.has('--reboot')) },
  'boot-check': { flags: [], run: () => bootCheck() },
  'blessed': { flags: [], run: () => blessed() },
};

async function main(argv: string[]): Promise<number> {
  const [name = '', ...flags] = argv;
  try {
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name]! : undefined;
    if (!command) throw new UsageError(name ? `unknown command "${name}"` : 'no command given', `usage: ${USAGE}`);
    const unknown = flags.find((flag) => !command.flags.includes(flag));
    if (unknown !== undefined) throw new UsageError(`${name}: unknown option "${unknown}"`, `usage: ${USAGE}`);
    await command.run(new Set(flags));
    return 0;
  } catch (error) {
    const { text, exitCode } = describeError('slipway-update', error, { json: flags.includes('--json') });
    process.stderr.write(text);
    return exitCode;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
