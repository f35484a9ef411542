/**
 * The one place that turns an error into what a slipway program prints and the exit code it ends
 * with: the command line, `slipway-update` and `slipway-provision` in the image all report here.
 */
import { SlipwayError } from './errors.ts';

export const EXIT_INTERNAL = 70;

export interface ErrorReport {
  /** The error's class as one word (`recipe`, `image`, ...), or `internal` for a bug. */
  code: string;
  message: string;
  hint: string;
  exitCode: number;
}

export interface ReportOptions {
  /** Print the report as one line of JSON: `{"error": {"code", "message", "hint"}}`. */
  json?: boolean;
  /** Add the stack and the cause. */
  debug?: boolean;
  /**
   * Put the program's name before every line, marking the message's lines `error:` and the hint's
   * `hint:`: for programs whose output lands in a console among other programs' lines.
   */
  everyLine?: boolean;
}

export function errorReport(error: unknown): ErrorReport {
  if (error instanceof SlipwayError) return { code: error.code, message: error.message, hint: error.hint, exitCode: error.exitCode };
  return {
    code: 'internal',
    message: `internal error: ${error instanceof Error ? error.message : String(error)}`,
    hint: 'this is a bug in slipway; run again with --debug and report what it prints',
    exitCode: EXIT_INTERNAL,
  };
}

function debugText(error: unknown): string {
  if (!(error instanceof Error)) return '';
  const cause = error instanceof SlipwayError && error.cause ? `cause: ${String((error.cause as Error).stack ?? error.cause)}\n` : '';
  return `${error.stack}\n${cause}`;
}

/** What `program` prints for `error`, and the exit code it ends with. */
export function describeError(program: string, error: unknown, options: ReportOptions = {}): { text: string; exitCode: number } {
  const report = errorReport(error);
  const { code, message, hint } = report;
  let text: string;
  if (options.json) text = `${JSON.stringify({ error: { code, message, hint } })}\n`;
  else if (options.everyLine) text = [...message.split('\n').map((line) => `${program}: error: ${line}`), `${program}: hint: ${hint}`, ''].join('\n');
  else text = `${program}: ${message}\nhint: ${hint}\n`;
  if (options.debug) text += debugText(error);
  return { text, exitCode: report.exitCode };
}
