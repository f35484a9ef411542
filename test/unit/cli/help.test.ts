import { describe, expect, it } from 'vitest';
import { HELP_COLUMNS, commandHelp, optionLines, overview } from '../../../src/cli/help.ts';
import { main } from '../../../src/cli/main.ts';
import { COMMANDS, GLOBAL_OPTIONS, TOP_LEVEL_OPTIONS } from '../../../src/cli/registry.ts';

const tooWide = (text: string) => text.split('\n').filter((line) => [...line].length > HELP_COLUMNS);
const optionsNamed = (text: string) => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z-]*)/g)].map((m) => m[1]!));

/** Runs the command line in this process, with what it writes to stdout and stderr. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const write = (into: 'out' | 'err') => (chunk: string | Uint8Array) => {
    if (into === 'out') stdout += String(chunk);
    else stderr += String(chunk);
    return true;
  };
  const [out, err] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write('out') as typeof process.stdout.write;
  process.stderr.write = write('err') as typeof process.stderr.write;
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('help', () => {
  it('lists each command with a one-line summary, every line within 100 columns', () => {
    const text = overview();
    expect(tooWide(text)).toEqual([]);
    for (const command of COMMANDS) expect(text).toContain(`  ${command.name} `);
    expect(text).toContain(COMMANDS[0]!.summary);
    expect(optionsNamed(text)).toEqual(new Set(Object.keys(TOP_LEVEL_OPTIONS)));
  });

  it('fits 100 columns for every command, its usage wrapped rather than cut', () => {
    for (const command of COMMANDS) {
      const text = commandHelp(command);
      expect(tooWide(text), command.name).toEqual([]);
      const usage = text.slice(0, text.indexOf('\n\n')).replace(/\s+/g, ' ');
      expect(usage).toBe(`usage: slipway ${command.name} ${command.usage}`.trimEnd().replace(/\s+/g, ' '));
    }
  });

  it('names in each command’s help exactly the options that command accepts', () => {
    for (const command of COMMANDS) {
      const accepted = new Set([...Object.keys(GLOBAL_OPTIONS), ...Object.keys(command.options)]);
      expect(optionsNamed(commandHelp(command)), command.name).toEqual(accepted);
      for (const option of Object.keys(command.options)) expect(commandHelp(command), `${command.name} --${option}`).toMatch(new RegExp(`^ {2}--${option}\\b`, 'm'));
    }
  });

  it('puts an option’s later lines of text under its first', () => {
    const lines = optionLines({ out: { type: 'string', value: 'DIR', help: ['first line', 'second line'] }, check: { type: 'boolean', help: 'one line' } });
    expect(lines).toEqual(['  --out DIR  first line', '             second line', '  --check    one line']);
  });

  it('refuses an option a command does not take, naming it', async () => {
    const result = await run(['boot', 'image.raw', '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("slipway: boot: Unknown option '--dry-run'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--dry-run\"\nhint: see 'slipway boot --help'\n");
    const top = await run(['--verbose']);
    expect(top.code).toBe(2);
    expect(top.stderr.split('\n')[0]).toMatch(/^slipway: slipway: Unknown option '--verbose'/);
  });

  it('prints a usage error as JSON with --json', async () => {
    const result = await run(['inspect', 'image.raw', '--colour', '--json']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stderr)).toMatchObject({ error: { code: 'usage', hint: "see 'slipway inspect --help'" } });
    expect(JSON.parse(result.stderr).error.message).toMatch(/^inspect: Unknown option '--colour'/);
  });
});
