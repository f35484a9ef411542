/** What the build's process and the launcher's process say to each other. */

/** Bytes of a file: a member of an ar archive, say. */
export interface FileRange {
  path: string;
  offset: number;
  length: number;
}

export interface LaunchRequest {
  id: number;
  /** An absolute path: the launcher does not search PATH. */
  program: string;
  args: readonly string[];
  env: Record<string, string>;
  /** Fed to the program's stdin. */
  input: FileRange;
  /** Where its stdout goes: a file it writes itself, or back to the build's process. */
  output: { file: string } | 'return';
}

export interface LaunchOutcome {
  id: number;
  /** The exit status, or null when a signal ended the program (or it never started). */
  code: number | null;
  signal: string | null;
  /** The end of what the program printed on stderr. */
  stderr: string;
  stdout?: Uint8Array;
  /** Why the program could not be started or fed, when that is what went wrong. */
  error?: string;
}
