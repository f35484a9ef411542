/** What `slipway --help` and `slipway COMMAND --help` print, made from the commands and their options. */
import type { Command, OptionSpecs } from './command.ts';
import { COMMANDS, GLOBAL_OPTIONS, TOP_LEVEL_OPTIONS } from './registry.ts';

/** The widest help may be: a command and a one-line summary each, like talosctl's and mkosi's. */
export const HELP_COLUMNS = 100;

/** One option per entry, `--name VALUE` then what it does, later lines of the text under the first. */
export function optionLines(options: OptionSpecs): string[] {
  const names = Object.entries(options).map(([name, spec]) => [`${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`, spec] as const);
  const width = Math.max(0, ...names.map(([name]) => name.length));
  return names.flatMap(([name, spec]) => {
    const [first = '', ...rest] = typeof spec.help === 'string' ? [spec.help] : spec.help;
    return [`  ${name.padEnd(width)}  ${first}`, ...rest.map((line) => `  ${' '.repeat(width)}  ${line}`)];
  });
}

export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'slipway — build immutable, atomically updated Linux container hosts',
    '',
    'usage: slipway COMMAND [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "'slipway COMMAND --help' shows a command's arguments and options.",
    '',
    'options:',
    ...optionLines(TOP_LEVEL_OPTIONS),
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
  return [
    ...usageLines(command),
    '',
    command.summary,
    '',
    ...(command.details && command.details.length > 0 ? [...command.details.map((d) => `  ${d}`), ''] : []),
    ...(Object.keys(command.options).length > 0 ? ['options:', ...optionLines(command.options), ''] : []),
    'options for every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
  ].join('\n');
}
