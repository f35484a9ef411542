/**
 * The repository's metadata files: what every role's file has in common (the TUF specification
 * version, how long it stays valid), and how they are found, read and written.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Metadata, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { UpdateError, errorMessage } from '../../errors.ts';

const DAY = 24 * 60 * 60 * 1000;
/** The TUF specification version the metadata follows. */
export const SPEC_VERSION = '1.0.31';

/** How long each role's metadata stays valid, in days (TUF's usual spread: root long, timestamp short). */
export const EXPIRY_DAYS = { root: 365, targets: 90, snapshot: 7, timestamp: 1 } as const;

export function expires(now: Date, days: number): string {
  return new Date(now.getTime() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function writeAtomically(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

/** The text of a metadata file. */
export function metadataJson(metadata: Metadata<Root | Targets | Snapshot | Timestamp>): string {
  return `${JSON.stringify(metadata.toJSON(), null, 1)}\n`;
}

export function readMetadata<T extends Root | Targets | Snapshot | Timestamp>(path: string, kind: Parameters<typeof Metadata.fromJSON>[0]): Metadata<T> {
  try {
    return Metadata.fromJSON(kind as never, JSON.parse(readFileSync(path, 'utf8'))) as unknown as Metadata<T>;
  } catch (cause) {
    throw new UpdateError(`cannot read ${path}: ${errorMessage(cause)}`, 'is this a repository slipway made?', { cause });
  }
}

/** The newest N.ROLE.json in the metadata folder, or undefined. */
export function latest(metadataDir: string, role: string): { version: number; path: string } | undefined {
  if (!existsSync(metadataDir)) return undefined;
  const versions = readdirSync(metadataDir)
    .map((file) => new RegExp(`^(\\d+)\\.${role}\\.json$`).exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (versions.length === 0) return undefined;
  const version = Math.max(...versions);
  return { version, path: join(metadataDir, `${version}.${role}.json`) };
}
