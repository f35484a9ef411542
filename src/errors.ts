/**
 * Every failure a user can cause or meet is one of these typed errors. Each carries a hint that says
 * what to do next and keeps its cause, and belongs to a class with a documented exit code and a
 * code word for JSON; src/error-report.ts turns them into what every slipway program prints.
 */
export abstract class SlipwayError extends Error {
  abstract readonly exitCode: number;
  /** The class as one word, for `{"error": {"code": ...}}`. */
  abstract readonly code: string;
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
  readonly code = 'usage';
}

/** A recipe (or another input file) cannot be read, parsed or validated. */
export class RecipeError extends SlipwayError {
  readonly exitCode = 3;
  readonly code = 'recipe';
}

/** An external program the work needs is not installed. */
export class ToolMissing extends SlipwayError {
  readonly exitCode = 4;
  readonly code = 'tool-missing';
}

/** An external program ran and failed. */
export class ToolFailed extends SlipwayError {
  readonly exitCode = 5;
  readonly code = 'tool-failed';
}

/** A signature, checksum or size did not match what a trusted source promised. */
export class VerificationError extends SlipwayError {
  readonly exitCode = 6;
  readonly code = 'verification';
}

/** The requested packages cannot be resolved to one installable set. */
export class ResolveError extends SlipwayError {
  readonly exitCode = 7;
  readonly code = 'resolve';
}

/** The lockfile is missing, unreadable or does not match the recipe. */
export class LockError extends SlipwayError {
  readonly exitCode = 8;
  readonly code = 'lock';
}

/** A server could not be reached or answered with an error. */
export class NetworkError extends SlipwayError {
  readonly exitCode = 9;
  readonly code = 'network';
}

/** Output could not be written where the user asked. */
export class OutputError extends SlipwayError {
  readonly exitCode = 10;
  readonly code = 'output';
}

/** The build itself cannot go on (content too large for its slot, a missing kernel, ...). */
export class BuildError extends SlipwayError {
  readonly exitCode = 11;
  readonly code = 'build';
}

/** A host config cannot be read, parsed or validated, or does not fit the image. */
export class ConfigError extends SlipwayError {
  readonly exitCode = 12;
  readonly code = 'config';
}

/** An update repository, its keys or its metadata cannot be used (bad signature, expired, rolled back, ...). */
export class UpdateError extends SlipwayError {
  readonly exitCode = 13;
  readonly code = 'update';
}

/** A disk image cannot be read, or is not one slipway built (no valid GPT, cut short, not a file). */
export class ImageError extends SlipwayError {
  readonly exitCode = 14;
  readonly code = 'image';
}

/** The installer will not, or could not, put the image on a disk (none named, refused, too small, a write that did not verify). */
export class InstallError extends SlipwayError {
  readonly exitCode = 15;
  readonly code = 'install';
}

/** The user stopped the work (Ctrl-C, SIGTERM); what it had made was cleaned up. */
export class Interrupted extends SlipwayError {
  readonly exitCode = 130;
  readonly code = 'interrupted';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
