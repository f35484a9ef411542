import { describe, expect, it } from 'vitest';
import { describeError, EXIT_INTERNAL } from '../../src/error-report.ts';
import {
  BuildError,
  ConfigError,
  ImageError,
  Interrupted,
  LockError,
  NetworkError,
  OutputError,
  RecipeError,
  ResolveError,
  ToolFailed,
  ToolMissing,
  UpdateError,
  UsageError,
  VerificationError,
} from '../../src/errors.ts';

function report(error: unknown, debug = false): { code: number; text: string } {
  const { text, exitCode } = describeError('slipway', error, { debug });
  return { code: exitCode, text };
}

describe('describeError', () => {
  const CLASSES = [
    [UsageError, 2, 'usage'],
    [RecipeError, 3, 'recipe'],
    [ToolMissing, 4, 'tool-missing'],
    [ToolFailed, 5, 'tool-failed'],
    [VerificationError, 6, 'verification'],
    [ResolveError, 7, 'resolve'],
    [LockError, 8, 'lock'],
    [NetworkError, 9, 'network'],
    [OutputError, 10, 'output'],
    [BuildError, 11, 'build'],
    [ConfigError, 12, 'config'],
    [UpdateError, 13, 'update'],
    [ImageError, 14, 'image'],
    [Interrupted, 130, 'interrupted'],
  ] as const;

  it.each(CLASSES.map(([ErrorClass, exitCode, code]) => ({ name: ErrorClass.name, ErrorClass, exitCode, code })))(
    '$name exits with $exitCode and is "$code" in JSON',
    ({ ErrorClass, exitCode, code }) => {
      const error = new ErrorClass('it broke', 'do this');
      expect(error.name).toBe(ErrorClass.name);
      expect(report(error).code).toBe(exitCode);
      expect(JSON.parse(describeError('slipway', error, { json: true }).text)).toEqual({ error: { code, message: 'it broke', hint: 'do this' } });
    },
  );

  it('gives every class its own exit code and code word', () => {
    expect(new Set(CLASSES.map(([, exitCode]) => exitCode)).size).toBe(CLASSES.length);
    expect(new Set(CLASSES.map(([, , code]) => code)).size).toBe(CLASSES.length);
  });

  it('writes the message and the hint, without a stack', () => {
    const { text } = report(new RecipeError('r.yaml: name: bad', 'fix the name'));
    expect(text).toBe('slipway: r.yaml: name: bad\nhint: fix the name\n');
  });

  it('writes JSON as one line, a multi-line message kept whole', () => {
    const { text, exitCode } = describeError('slipway', new RecipeError('r.yaml has 2 problems:\n  a: x\n  b: y', 'fix them'), { json: true });
    expect(exitCode).toBe(3);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(text).error.message).toBe('r.yaml has 2 problems:\n  a: x\n  b: y');
  });

  it('marks every line for a program whose output shares a console', () => {
    const { text, exitCode } = describeError('slipway-provision', new ConfigError('config: 2 problems\nusers[0].name: bad', 'fix the config'), { everyLine: true });
    expect(exitCode).toBe(12);
    expect(text).toBe('slipway-provision: error: config: 2 problems\nslipway-provision: error: users[0].name: bad\nslipway-provision: hint: fix the config\n');
  });

  it('adds the stack and the cause with debug', () => {
    const cause = new Error('ENOENT: no such file');
    const { code, text } = report(new NetworkError('cannot reach the mirror', 'check the network', { cause }), true);
    expect(code).toBe(9);
    const lines = text.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'slipway: cannot reach the mirror',
      'hint: check the network',
      'NetworkError: cannot reach the mirror',
    ]);
    expect(text).toContain('\ncause: Error: ENOENT: no such file\n');
  });

  it('reports an unknown error as internal, exit 70', () => {
    const { code, text } = report(new TypeError('x is undefined'));
    expect(code).toBe(EXIT_INTERNAL);
    expect(EXIT_INTERNAL).toBe(70);
    expect(text).toBe(
      'slipway: internal error: x is undefined\nhint: this is a bug in slipway; run again with --debug and report what it prints\n',
    );
    expect(JSON.parse(describeError('slipway', new TypeError('x is undefined'), { json: true }).text).error.code).toBe('internal');
  });

  it('reports a thrown non-Error value', () => {
    const { code, text } = report('just a string', true);
    expect(code).toBe(70);
    expect(text.split('\n')[0]).toBe('slipway: internal error: just a string');
  });

  it('adds the stack of an unknown error with debug', () => {
    const { text } = report(new TypeError('x is undefined'), true);
    expect(text).toMatch(/^TypeError: x is undefined\n\s+at /m);
  });
});
