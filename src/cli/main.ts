import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import type { Command, GlobalFlags } from './command.ts';
import { bootCommand } from './commands/boot.ts';
import { buildCommand } from './commands/build.ts';
import { configCommand } from './commands/config.ts';
import { keygenCommand } from './commands/keygen.ts';
import { publishCommand } from './commands/publish.ts';
import { fetchCommand } from './commands/fetch.ts';
import { inspectCommand } from './commands/inspect.ts';
import { lockCommand } from './commands/lock.ts';
import { schemaCommand } from './commands/schema.ts';
import { setupCommand } from './commands/setup.ts';
import { EXIT_INTERRUPTED, reportError } from './report.ts';
import { runCleanups } from '../cleanup.ts';

export const COMMANDS: readonly Command[] = [lockCommand, fetchCommand, buildCommand, bootCommand, inspectCommand, configCommand, keygenCommand, publishCommand, schemaCommand, setupCommand];

const GLOBAL_OPTIONS = {
  debug: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The widest help may be: a command and a one-line summary each, like talosctl's and mkosi's. */
export const HELP_COLUMNS = 100;

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'slipway — build immutable, atomically updated Linux container hosts',
    '',
    'usage: slipway COMMAND [options]',
    '',
    'commands:',
    ...lines,
    '',
    "'slipway COMMAND --help' shows a command's arguments and options.",
    '',
    'options for every command:',
    '  --json      print results as JSON (where a command prints data)',
    '  --debug     show stack traces and causes of errors',
    '  -h, --help  help for slipway or for one command',
    '',
  ].join('\n');
}

/** The usage line, wrapped where one line would be too wide. */
function usageLines(command: Command): string[] {
  const prefix = `usage: slipway ${command.name} `;
  if (prefix.length + command.usage.length <= HELP_COLUMNS) return [(prefix + command.usage).trimEnd()];
  // Words, with a bracketed option and its argument kept together.
  const words = command.usage.match(/\[[^\]]*\](?:\.\.\.)?|\S+/g) ?? [];
  const lines = [prefix.trimEnd()];
  for (const word of words) {
    const line = lines[lines.length - 1]!;
    if (line.length + 1 + word.length > HELP_COLUMNS) lines.push(`${' '.repeat(prefix.length)}${word}`);
    else lines[lines.length - 1] = `${line} ${word}`;
  }
  return lines;
}

export function commandHelp(command: Command): string {
  return [...usageLines(command), '', command.summary, '', ...(command.details ?? []).map((d) => `  ${d}`), ''].join('\n');
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    throw new UsageError(`unknown command "${name}"`, `the commands are ${COMMANDS.map((c) => c.name).join(', ')}; see 'slipway --help'`);
  }
  return command;
}

function parse(command: Command, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new UsageError(`${command.name}: ${(cause as Error).message.split('\n')[0]}`, `see 'slipway ${command.name} --help'`, { cause });
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
  const onSignal = () => {
    runCleanups();
    err('\nslipway: interrupted\n');
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const first = argv.findIndex((arg) => !arg.startsWith('-'));
    if (first < 0) {
      if (argv.includes('--version') || argv.includes('-V')) out(`${version()}\n`);
      else if (argv.length === 0 || argv.includes('--help') || argv.includes('-h')) out(overview());
      else throw new UsageError(`no command given`, "see 'slipway --help'");
      return 0;
    }
    const command = findCommand(argv[first]!);
    const rest = [...argv.slice(0, first), ...argv.slice(first + 1)];
    const { values, positionals } = parse(command, rest);
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
    return reportError(error, { debug, write: err });
  } finally {
    process.stdout.off('error', onPipeError);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
