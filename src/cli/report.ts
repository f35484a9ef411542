/** The one place that turns errors into what the user reads and the exit code. */
import { SlipwayError } from '../errors.ts';

export const EXIT_INTERNAL = 70;
export const EXIT_INTERRUPTED = 130;

export function reportError(error: unknown, options: { debug: boolean; write: (text: string) => void }): number {
  const { debug, write } = options;
  if (error instanceof SlipwayError) {
    write(`slipway: ${error.message}\n`);
    write(`hint: ${error.hint}\n`);
    if (debug) write(`${error.stack}\n${error.cause ? `cause: ${String((error.cause as Error).stack ?? error.cause)}\n` : ''}`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  write(`slipway: internal error: ${message}\n`);
  write('hint: this is a bug in slipway; run again with --debug and report what it prints\n');
  if (debug && error instanceof Error) write(`${error.stack}\n`);
  return EXIT_INTERNAL;
}
