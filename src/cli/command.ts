import type { ParseArgsConfig } from 'node:util';

export interface GlobalFlags {
  debug: boolean;
  json: boolean;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandInput {
  positionals: string[];
  values: OptionValues;
  global: GlobalFlags;
  /** Writes the command's result (data) to stdout. */
  out: (text: string) => void;
}

export interface Command {
  name: string;
  summary: string;
  /** Arguments after the command name, e.g. "RECIPE [--out DIR]". */
  usage: string;
  /** Lines that explain each option, shown by `slipway COMMAND --help`. */
  details?: string[];
  options: NonNullable<ParseArgsConfig['options']>;
  positionals: { min: number; max: number };
  run: (input: CommandInput) => Promise<void>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
