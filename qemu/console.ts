/**
 * Reading a machine's serial console: what it says once terminal escapes are gone, and what in it
 * means the boot went wrong (as CoreOS's kola does). Pure functions over the console's text; the
 * runner reads the log and decides when to look.
 */

/** Console lines that mean the boot has failed, whatever the test waits for. */
const FATAL = [
  { problem: 'kernel panic', pattern: /Kernel panic - not syncing[^\n]*/ },
  { problem: 'kernel oops', pattern: /\bOops: [^\n]*|\bBUG: [^\n]*/ },
  { problem: 'emergency shell', pattern: /You are in emergency mode[^\n]*|Give root password for maintenance[^\n]*|Entering emergency mode[^\n]*/ },
  { problem: 'initrd failure', pattern: /slipway-initrd: error: [^\n]*/ },
  { problem: 'health check failed', pattern: /slipway-health: FAILED[^\n]*/ },
];

const FAILED_UNIT = /\[\s*FAILED\s*\] Failed to start ([^\n]*)/g;
const ANSI = /\x1b\[[0-9;=?]*[A-Za-z]/g;

/** How many of the console's last lines go with a failure. */
export const EXCERPT_LINES = 40;

export interface Verdict {
  ok: boolean;
  problems: string[];
  failedUnits: string[];
  excerpt: string;
}

/** The console log as text: without terminal escapes (systemd's colours) and carriage returns. */
export function cleanConsole(raw: string): string {
  return raw.replace(ANSI, '').replace(/\r/g, '');
}

/** The last `lines` lines of the console. */
export function consoleTail(text: string, lines = EXCERPT_LINES): string {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * The first fatal problem in the text, in the order of FATAL, as `problem: line`; the problems
 * named in `expected` (tests of failures the system recovers from) are passed over.
 */
export function fatalProblem(text: string, expected: readonly string[] = []): string | undefined {
  for (const { problem, pattern } of FATAL) {
    if (expected.includes(problem)) continue;
    const seen = pattern.exec(text);
    if (seen) return `${problem}: ${seen[0].trim()}`;
  }
  return undefined;
}

/** Every kind of fatal problem in the text, each with the first line that shows it. */
export function fatalProblems(text: string): string[] {
  return FATAL.flatMap(({ problem, pattern }) => {
    const match = pattern.exec(text);
    return match ? [`${problem}: ${match[0].trim()}`] : [];
  });
}

/** The units systemd reports it failed to start, in console order. */
export function failedUnits(text: string): string[] {
  return [...text.matchAll(FAILED_UNIT)].map((m) => m[1]!.trim());
}

/** Problems seen on the console: fatal ones and failed units, with the console's tail. */
export function judgeConsole(text: string): Verdict {
  const problems = fatalProblems(text);
  const failed = failedUnits(text);
  return { ok: problems.length === 0 && failed.length === 0, problems, failedUnits: failed, excerpt: consoleTail(text) };
}
