import { describe, expect, it } from 'vitest';
import { COMMANDS, HELP_COLUMNS, commandHelp, overview } from '../../../src/cli/main.ts';

const tooWide = (text: string) => text.split('\n').filter((line) => [...line].length > HELP_COLUMNS);

describe('help', () => {
  it('lists each command with a one-line summary, every line within 100 columns', () => {
    const text = overview();
    expect(tooWide(text)).toEqual([]);
    for (const command of COMMANDS) expect(text).toContain(`  ${command.name} `);
    expect(text).toContain(COMMANDS[0]!.summary);
  });

  it('fits 100 columns for every command, its usage wrapped rather than cut', () => {
    for (const command of COMMANDS) {
      const text = commandHelp(command);
      expect(tooWide(text), command.name).toEqual([]);
      const usage = text.slice(0, text.indexOf('\n\n')).replace(/\s+/g, ' ');
      expect(usage).toBe(`usage: slipway ${command.name} ${command.usage}`.trimEnd().replace(/\s+/g, ' '));
    }
  });
});
