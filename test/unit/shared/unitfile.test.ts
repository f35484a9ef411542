import { describe, expect, it } from 'vitest';
import { installTargets, parseUnitFile, UnitSyntaxError } from '../../../src/shared/unitfile.ts';

function sections(text: string): Record<string, Array<[string, string]>> {
  return Object.fromEntries([...parseUnitFile(text).sections].map(([name, entries]) => [name, entries.map((e) => [e.key, e.value])]));
}

function syntaxError(text: string): UnitSyntaxError {
  try {
    parseUnitFile(text);
  } catch (error) {
    if (error instanceof UnitSyntaxError) return error;
    throw error;
  }
  throw new Error('expected a syntax error');
}

describe('parseUnitFile', () => {
  it('reads sections and their keys in order, keeping repeated keys', () => {
    const unit = [
      '[Unit]',
      'Description=My app',
      'After=network-online.target',
      '',
      '[Service]',
      'Environment=A=1',
      'Environment=B=2',
      'ExecStart=/usr/bin/app --port 80',
      '',
      '[Install]',
      'WantedBy=multi-user.target',
      '',
    ].join('\n');
    expect(sections(unit)).toEqual({
      Unit: [['Description', 'My app'], ['After', 'network-online.target']],
      Service: [['Environment', 'A=1'], ['Environment', 'B=2'], ['ExecStart', '/usr/bin/app --port 80']],
      Install: [['WantedBy', 'multi-user.target']],
    });
  });

  it('trims spaces around keys and values', () => {
    expect(sections('[Service]\n  User = app  \nGroup=\n')).toEqual({ Service: [['User', 'app'], ['Group', '']] });
  });

  it('skips comments starting with # or ; and blank lines', () => {
    expect(sections('# a comment\n; another\n\n[Unit]\n  # indented comment\nDescription=x\n')).toEqual({ Unit: [['Description', 'x']] });
  });

  it('joins backslash continuation lines with a space', () => {
    expect(sections('[Service]\nExecStart=/bin/app \\\n  --one \\\n  --two\nUser=app\n')).toEqual({
      Service: [['ExecStart', '/bin/app  --one  --two'], ['User', 'app']],
    });
  });

  it('adds the keys of a repeated section to the first', () => {
    expect(sections('[Unit]\nA=1\n[Service]\nB=2\n[Unit]\nC=3\n')).toEqual({ Unit: [['A', '1'], ['C', '3']], Service: [['B', '2']] });
  });

  it('reads a file with Windows line ends', () => {
    expect(sections('[Unit]\r\nDescription=x\r\n')).toEqual({ Unit: [['Description', 'x']] });
  });

  it('accepts an empty file and a file of comments', () => {
    expect(sections('')).toEqual({});
    expect(sections('# nothing\n')).toEqual({});
  });

  it('refuses a key before any section, naming its line', () => {
    const error = syntaxError('# header\n\nDescription=x\n[Unit]\n');
    expect(error.line).toBe(3);
    expect(error.message).toBe('line 3: Description= comes before any [Section] header');
  });

  it('refuses a line without =, naming its line', () => {
    const error = syntaxError('[Unit]\nDescription=x\n\n[Service]\nExecStart /bin/true\n');
    expect(error.line).toBe(5);
    expect(error.message).toBe('line 5: "ExecStart /bin/true" is not a Key=Value line, a [Section] header or a comment');
  });

  it('refuses a line that starts with =', () => {
    expect(syntaxError('[Unit]\n=x\n').message).toBe('line 2: "=x" is not a Key=Value line, a [Section] header or a comment');
  });

  it.each([['[Unit', 1], ['[Unit]]', 1], ['[]', 1], ['[Unit] # comment', 1]])('refuses the header "%s"', (header, line) => {
    const error = syntaxError(`${header}\nDescription=x\n`);
    expect(error.line).toBe(line);
    expect(error.message).toBe(`line 1: "${header}" is not a valid [Section] header`);
  });

  it('names the line a bad header is on', () => {
    expect(syntaxError('[Unit]\nA=1\n\n[Service\n').line).toBe(4);
  });

  it('refuses a key with characters systemd does not allow', () => {
    expect(syntaxError('[Service]\nExec Start=/bin/true\n').message).toBe('line 2: "Exec Start" is not a valid key');
  });

  it('names the first line of a continued line that does not parse', () => {
    expect(syntaxError('[Service]\nExecStart \\\n  /bin/true\n').line).toBe(2);
  });

  it('counts the lines a continuation joined when naming a later problem', () => {
    expect(syntaxError('[Service]\nExecStart=/bin/a \\\n  --b\nbroken\n').line).toBe(4);
  });
});

describe('installTargets', () => {
  it('reads WantedBy and RequiredBy, each possibly naming several units', () => {
    const unit = parseUnitFile('[Install]\nWantedBy=multi-user.target  graphical.target\nRequiredBy=app.target\nAlias=other.service\n');
    expect(installTargets(unit)).toEqual([
      { target: 'multi-user.target', kind: 'wants' },
      { target: 'graphical.target', kind: 'wants' },
      { target: 'app.target', kind: 'requires' },
    ]);
  });

  it('finds nothing without an [Install] section or with an empty WantedBy', () => {
    expect(installTargets(parseUnitFile('[Service]\nExecStart=/bin/true\n'))).toEqual([]);
    expect(installTargets(parseUnitFile('[Install]\nWantedBy=\n'))).toEqual([]);
  });

  it('ignores WantedBy outside the [Install] section', () => {
    expect(installTargets(parseUnitFile('[Unit]\nWantedBy=multi-user.target\n'))).toEqual([]);
  });
});
