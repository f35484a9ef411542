/**
 * The root metadata: which keys the repository trusts for each role. Every version is kept as
 * N.root.json (clients walk from the root they carry to the newest), and root.json is the newest.
 */
import { join } from 'node:path';
import { Metadata, Root } from '@tufjs/models';
import { UpdateError } from '../../errors.ts';
import { ROLES, signerFor, type RoleKey } from '../keys.ts';
import { EXPIRY_DAYS, SPEC_VERSION, expires, latest, metadataJson, readMetadata, writeAtomically } from './metadata.ts';

/** Root metadata `version`, naming `keys` for every role and signed by each of `signedBy` in turn. */
export function writeRoot(metadataDir: string, version: number, keys: Record<string, RoleKey>, signedBy: RoleKey[], now: Date): Metadata<Root> {
  // Without roles given, every top-level role starts with threshold 1 and no keys.
  const root = new Root({ specVersion: SPEC_VERSION, version, expires: expires(now, EXPIRY_DAYS.root), consistentSnapshot: true });
  for (const role of ROLES) root.addKey(keys[role]!.key, role);
  const metadata = new Metadata(root);
  for (const key of signedBy) metadata.sign(signerFor(key));
  writeAtomically(join(metadataDir, `${root.version}.root.json`), metadataJson(metadata));
  writeAtomically(join(metadataDir, 'root.json'), metadataJson(metadata));
  return metadata;
}

/** The root metadata: created (version 1, every role's key) on the first publish, read after. */
export function ensureRoot(metadataDir: string, keys: Record<string, RoleKey>, now: Date): Metadata<Root> {
  const current = latest(metadataDir, 'root');
  if (current) return readMetadata<Root>(current.path, 'root' as never);
  return writeRoot(metadataDir, 1, keys, [keys.root!], now);
}

/** Refuses a key the repository's root does not list for the role: what it signs, no client accepts. */
export function checkTrusted(root: Metadata<Root>, role: 'targets' | 'snapshot' | 'timestamp', key: RoleKey, keysDir: string): void {
  if (!root.signed.roles[role]?.keyIDs.includes(key.key.keyID)) {
    throw new UpdateError(`the ${role} key in ${keysDir} is not the one the repository's root trusts`, 'publish with the key folder this repository was made with');
  }
}
