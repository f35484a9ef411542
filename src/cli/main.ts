import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Interrupted, UsageError } from '../errors.ts';
import { describeError } from '../error-report.ts';
import type { Command, GlobalFlags, OptionSpecs } from './command.ts';
import { COMMANDS, GLOBAL_OPTIONS, TOP_LEVEL_OPTIONS } from './registry.ts';
import { commandHelp, overview } from './help.ts';
import { runCleanups } from '../cleanup.ts';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    throw new UsageError(`unknown command "${name}"`, `the commands are ${COMMANDS.map((c) => c.name).join(', ')}; see 'slipway --help'`);
  }
  return command;
}

/** Parses against exactly these options: anything else is an error that names it. */
function parseOptions(name: string, specs: OptionSpecs, argv: string[]) {
  try {
    const options = Object.fromEntries(Object.entries(specs).map(([option, { type, multiple, short }]) => [option, { type, ...(multiple && { multiple }), ...(short && { short }) }]));
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (cause) {
    const help = name === 'slipway' ? 'slipway --help' : `slipway ${name} --help`;
    throw new UsageError(`${name}: ${(cause as Error).message.split('\n')[0]}`, `see '${help}'`, { cause });
  }
}

/** Runs the command line and returns the exit code; never throws. */
export async function main(argv: string[]): Promise<number> {
  const out = (text: string) => process.stdout.write(text);
  // `slipway inspect IMAGE | head` closes the pipe early; that is not an error.
  const onPipeError = (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  };
  process.stdout.on('error', onPipeError);
  const err = (text: string) => process.stderr.write(text);
  const debug = argv.includes('--debug');
  const json = argv.includes('--json');
  const onSignal = () => {
    runCleanups();
    const interrupted = new Interrupted('interrupted', 'run the command again: nothing half-made was left behind');
    err(`${json ? '' : '\n'}${describeError('slipway', interrupted, { json }).text}`);
    process.exit(interrupted.exitCode);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const first = argv.findIndex((arg) => !arg.startsWith('-'));
    if (first < 0) {
      const { values } = parseOptions('slipway', TOP_LEVEL_OPTIONS, argv);
      if (values.version) out(`${version()}\n`);
      else if (argv.length === 0 || values.help) out(overview());
      else throw new UsageError(`no command given`, "see 'slipway --help'");
      return 0;
    }
    const command = findCommand(argv[first]!);
    const rest = [...argv.slice(0, first), ...argv.slice(first + 1)];
    const { values, positionals } = parseOptions(command.name, { ...GLOBAL_OPTIONS, ...command.options }, rest);
    if (values.help) {
      out(commandHelp(command));
      return 0;
    }
    if (positionals.length < command.positionals.min || positionals.length > command.positionals.max) {
      throw new UsageError(`${command.name}: expected ${command.usage || 'no arguments'}`, `see 'slipway ${command.name} --help'`);
    }
    const global: GlobalFlags = { debug, json: Boolean(values.json) };
    await command.run({ positionals, values, global, out });
    return 0;
  } catch (error) {
    const { text, exitCode } = describeError('slipway', error, { debug, json });
    err(text);
    return exitCode;
  } finally {
    process.stdout.off('error', onPipeError);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
