import { describe, expect, it } from 'vitest';
import { EXIT_INTERNAL, reportError } from '../../../src/cli/report.ts';
import {
  BuildError,
  LockError,
  NetworkError,
  OutputError,
  RecipeError,
  ResolveError,
  ToolFailed,
  ToolMissing,
  UsageError,
  VerificationError,
} from '../../../src/errors.ts';

function report(error: unknown, debug = false): { code: number; text: string } {
  let text = '';
  const code = reportError(error, { debug, write: (chunk) => (text += chunk) });
  return { code, text };
}

describe('reportError', () => {
  const CODES = [
    [UsageError, 2],
    [RecipeError, 3],
    [ToolMissing, 4],
    [ToolFailed, 5],
    [VerificationError, 6],
    [ResolveError, 7],
    [LockError, 8],
    [NetworkError, 9],
    [OutputError, 10],
    [BuildError, 11],
  ] as const;

  it.each(CODES.map(([ErrorClass, exitCode]) => ({ name: ErrorClass.name, ErrorClass, exitCode })))(
    '$name exits with $exitCode',
    ({ ErrorClass, exitCode }) => {
      const error = new ErrorClass('it broke', 'do this');
      expect(error.name).toBe(ErrorClass.name);
      expect(report(error).code).toBe(exitCode);
    },
  );

  it('writes the message and the hint, without a stack', () => {
    const { text } = report(new RecipeError('r.yaml: name: bad', 'fix the name'));
    expect(text).toBe('slipway: r.yaml: name: bad\nhint: fix the name\n');
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
