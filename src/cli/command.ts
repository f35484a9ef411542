export interface GlobalFlags {
  debug: boolean;
  json: boolean;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandInput {
  positionals: string[];
  values: OptionValues;
  global: GlobalFlags;
  /** Writes the command's result (data) to stdout. */
  out: (text: string) => void;
}

/** An option a command accepts, with what its help says of it: help is made from these, so it lists exactly what is accepted. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** The value's name in help, e.g. DIR. */
  value?: string;
  /** What it does; more lines for a longer text. */
  help: string | readonly string[];
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface Command {
  name: string;
  summary: string;
  /** Arguments after the command name, e.g. "RECIPE [--out DIR]". */
  usage: string;
  /** Lines about the arguments and how the command behaves, shown before its options. */
  details?: readonly string[];
  options: OptionSpecs;
  positionals: { min: number; max: number };
  run: (input: CommandInput) => Promise<void>;
}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
