/**
 * The snapshot and timestamp metadata: short-lived, signed again on every publish. N.snapshot.json
 * names the targets version, timestamp.json the snapshot version.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, MetaFile, Snapshot, Timestamp } from '@tufjs/models';
import { signerFor, type RoleKey } from '../keys.ts';
import { EXPIRY_DAYS, SPEC_VERSION, expires, latest, metadataJson, readMetadata, writeAtomically } from './metadata.ts';

/** The next N.snapshot.json, naming targets version `targetsVersion`; returns N. */
export function writeSnapshot(metadataDir: string, targetsVersion: number, key: RoleKey, now: Date): number {
  const snapshot = new Metadata(new Snapshot({
    specVersion: SPEC_VERSION,
    version: (latest(metadataDir, 'snapshot')?.version ?? 0) + 1,
    expires: expires(now, EXPIRY_DAYS.snapshot),
    meta: { 'targets.json': new MetaFile({ version: targetsVersion }) },
  }));
  snapshot.sign(signerFor(key));
  writeAtomically(join(metadataDir, `${snapshot.signed.version}.snapshot.json`), metadataJson(snapshot));
  return snapshot.signed.version;
}

/** The next timestamp (one past timestamp.json's version), naming snapshot version `snapshotVersion`; not yet signed. */
export function nextTimestamp(metadataDir: string, snapshotVersion: number, now: Date): Metadata<Timestamp> {
  const previous = existsSync(join(metadataDir, 'timestamp.json')) ? readMetadata<Timestamp>(join(metadataDir, 'timestamp.json'), 'timestamp' as never).signed.version : 0;
  return new Metadata(new Timestamp({
    specVersion: SPEC_VERSION,
    version: previous + 1,
    expires: expires(now, EXPIRY_DAYS.timestamp),
    snapshotMeta: new MetaFile({ version: snapshotVersion }),
  }));
}

/** Signs `timestamp` and writes it as timestamp.json (last, so clients see the new state whole); returns its version. */
export function writeTimestamp(metadataDir: string, timestamp: Metadata<Timestamp>, key: RoleKey): number {
  timestamp.sign(signerFor(key));
  writeAtomically(join(metadataDir, 'timestamp.json'), metadataJson(timestamp));
  return timestamp.signed.version;
}
