/**
 * Every failure a user can cause or meet is one of these typed errors. Each carries a hint that says
 * what to do next and keeps its cause; src/cli/report.ts maps them to exit codes and messages.
 */
export abstract class SlipwayError extends Error {
  abstract readonly exitCode: number;
  readonly hint: string;

  constructor(message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.hint = hint;
  }
}

/** The command line was used wrongly. */
export class UsageError extends SlipwayError {
  readonly exitCode = 2;
}

/** A recipe (or another input file) cannot be read, parsed or validated. */
export class RecipeError extends SlipwayError {
  readonly exitCode = 3;
}

/** An external program the work needs is not installed. */
export class ToolMissing extends SlipwayError {
  readonly exitCode = 4;
}

/** An external program ran and failed. */
export class ToolFailed extends SlipwayError {
  readonly exitCode = 5;
}

/** A signature, checksum or size did not match what a trusted source promised. */
export class VerificationError extends SlipwayError {
  readonly exitCode = 6;
}

/** The requested packages cannot be resolved to one installable set. */
export class ResolveError extends SlipwayError {
  readonly exitCode = 7;
}

/** The lockfile is missing, unreadable or does not match the recipe. */
export class LockError extends SlipwayError {
  readonly exitCode = 8;
}

/** A server could not be reached or answered with an error. */
export class NetworkError extends SlipwayError {
  readonly exitCode = 9;
}

/** Output could not be written where the user asked. */
export class OutputError extends SlipwayError {
  readonly exitCode = 10;
}

/** The build itself cannot go on (content too large for its slot, a missing kernel, ...). */
export class BuildError extends SlipwayError {
  readonly exitCode = 11;
}

/** A host config cannot be read, parsed or validated, or does not fit the image. */
export class ConfigError extends SlipwayError {
  readonly exitCode = 12;
}

/** An update repository, its keys or its metadata cannot be used (bad signature, expired, rolled back, ...). */
export class UpdateError extends SlipwayError {
  readonly exitCode = 13;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
