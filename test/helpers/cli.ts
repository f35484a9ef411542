/** Runs the real command line, as a user would, and returns what it printed. */
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/slipway.js', import.meta.url));

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function slipway(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...options.env, CI: '1' },
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The error lines of a failed run: the message (first line) and its hint. */
export function errorLines(result: CliResult): { message: string; hint: string; lines: string[] } {
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('slipway: ') || line.startsWith('hint: '));
  const message = lines.find((line) => line.startsWith('slipway: ')) ?? '';
  const hint = lines.find((line) => line.startsWith('hint: ')) ?? '';
  return { message, hint, lines };
}
