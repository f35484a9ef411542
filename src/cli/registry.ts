/** Every command slipway has, and the options every command accepts. */
import type { Command, OptionSpecs } from './command.ts';
import { bootCommand } from './commands/boot.ts';
import { buildCommand } from './commands/build.ts';
import { configCommand } from './commands/config.ts';
import { fetchCommand } from './commands/fetch.ts';
import { inspectCommand } from './commands/inspect.ts';
import { keygenCommand } from './commands/keygen.ts';
import { lockCommand } from './commands/lock.ts';
import { publishCommand } from './commands/publish.ts';
import { schemaCommand } from './commands/schema.ts';
import { setupCommand } from './commands/setup.ts';

export const COMMANDS: readonly Command[] = [lockCommand, fetchCommand, buildCommand, bootCommand, inspectCommand, configCommand, keygenCommand, publishCommand, schemaCommand, setupCommand];

/** What every command accepts besides its own options. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean', help: 'print results, and errors, as JSON' },
  debug: { type: 'boolean', help: 'show stack traces and causes of errors' },
  help: { type: 'boolean', short: 'h', help: 'help for slipway or for one command' },
} as const satisfies OptionSpecs;

/** What `slipway` takes without a command. */
export const TOP_LEVEL_OPTIONS = {
  ...GLOBAL_OPTIONS,
  version: { type: 'boolean', short: 'V', help: 'print slipway’s version' },
} as const satisfies OptionSpecs;
