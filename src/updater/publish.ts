/**
 * `slipway publish`: a build's update artifacts become TUF targets in a repository of static files.
 *
 *   REPO/metadata/1.root.json, root.json     the trusted root (N.root.json for every version)
 *   REPO/metadata/N.targets.json             every published version's artifacts, with sha256 and length
 *   REPO/metadata/N.snapshot.json            the targets version
 *   REPO/metadata/timestamp.json             the snapshot version; short-lived, re-signed often
 *   REPO/targets/NAME/VERSION/HASH.FILE      the artifacts, named by hash (consistent snapshots)
 *
 * Files are written before the metadata that names them, and timestamp.json last, each by
 * write-then-rename: a client reading the repository mid-publish sees the old state or the new one.
 * The commands are here; publish/ holds each kind of metadata and the build folder they read.
 */
import { join } from 'node:path';
import type { Root, Targets } from '@tufjs/models';
import { UpdateError } from '../errors.ts';
import { ROLES, loadRoleKey } from './keys.ts';
import { readBuild } from './publish/build-folder.ts';
import { checkFolders } from './publish/folders.ts';
import { EXPIRY_DAYS, expires, latest, readMetadata } from './publish/metadata.ts';
import { checkTrusted, ensureRoot, writeRoot } from './publish/root.ts';
import { nextTimestamp, writeSnapshot, writeTimestamp } from './publish/snapshot-timestamp.ts';
import { addArtifacts, publishedTargets, refuseOlderVersion, writeTargets } from './publish/targets.ts';

export interface PublishOptions {
  channel?: string;
  /** Days until targets.json expires (snapshot and timestamp keep their short lives). */
  expiresDays?: number;
  now?: Date;
}

export interface PublishResult {
  name: string;
  version: string;
  targetsVersion: number;
  targets: string[];
}

/** Makes a repository's first root (metadata/1.root.json), which images carry as update.trustedRoot. */
export function initRepository(repoDir: string, keysDir: string, options: { now?: Date } = {}): string {
  checkFolders(repoDir, keysDir);
  const metadataDir = join(repoDir, 'metadata');
  const keys = Object.fromEntries(ROLES.map((role) => [role, loadRoleKey(keysDir, role, role === 'root')]));
  ensureRoot(metadataDir, keys, options.now ?? new Date());
  return join(metadataDir, '1.root.json');
}

export async function publish(buildDir: string, repoDir: string, keysDir: string, options: PublishOptions = {}): Promise<PublishResult> {
  const now = options.now ?? new Date();
  const channel = options.channel ?? 'stable';
  const { manifest, dir } = await readBuild(buildDir);
  checkFolders(repoDir, keysDir);
  const metadataDir = join(repoDir, 'metadata');
  const keys = Object.fromEntries(ROLES.map((role) => [role, loadRoleKey(keysDir, role, role !== 'root' || latest(metadataDir, 'root') === undefined)]));
  const root = ensureRoot(metadataDir, keys, now);
  for (const role of ['targets', 'snapshot', 'timestamp'] as const) checkTrusted(root, role, keys[role]!, keysDir);

  const targets = publishedTargets(metadataDir, now);
  refuseOlderVersion(targets, manifest);
  const added = await addArtifacts(targets, manifest, dir, repoDir, channel);
  const targetsVersion = writeTargets(metadataDir, targets, expires(now, options.expiresDays ?? EXPIRY_DAYS.targets), keys.targets!);
  const snapshotVersion = writeSnapshot(metadataDir, targetsVersion, keys.snapshot!, now);
  await resignTimestamp(repoDir, keysDir, { now, snapshotVersion });
  return { name: manifest.name, version: manifest.version, targetsVersion, targets: added };
}

/**
 * A new timestamp.json for the newest snapshot. Run it more often than the timestamp expires
 * (a day), or clients refuse the repository as frozen.
 */
export async function resignTimestamp(repoDir: string, keysDir: string, options: { now?: Date; snapshotVersion?: number } = {}): Promise<number> {
  const now = options.now ?? new Date();
  checkFolders(repoDir, keysDir);
  const metadataDir = join(repoDir, 'metadata');
  const snapshotVersion = options.snapshotVersion ?? latest(metadataDir, 'snapshot')?.version;
  if (snapshotVersion === undefined) throw new UpdateError(`${repoDir} has no snapshot metadata`, "publish a build first with 'slipway publish'");
  const timestamp = nextTimestamp(metadataDir, snapshotVersion, now);
  const root = latest(metadataDir, 'root');
  if (!root) throw new UpdateError(`${repoDir} has no root metadata`, "publish a build first with 'slipway publish'");
  const key = loadRoleKey(keysDir, 'timestamp', true);
  checkTrusted(readMetadata<Root>(root.path, 'root' as never), 'timestamp', key, keysDir);
  return writeTimestamp(metadataDir, timestamp, key);
}

/**
 * Replaces every role's key with those in `newKeysDir`, as TUF specifies: root version N+1 names
 * the new keys and is signed by both the old and the new root key (so clients that trust version N
 * accept it), then targets, snapshot and timestamp are signed again with their new keys.
 */
export async function rotateKeys(repoDir: string, oldKeysDir: string, newKeysDir: string, options: { now?: Date } = {}): Promise<number> {
  const now = options.now ?? new Date();
  checkFolders(repoDir, oldKeysDir, newKeysDir);
  const metadataDir = join(repoDir, 'metadata');
  const current = latest(metadataDir, 'root');
  if (!current) throw new UpdateError(`${repoDir} has no root metadata`, "publish a build first with 'slipway publish'");
  const oldRoot = loadRoleKey(oldKeysDir, 'root', true);
  const trusted = readMetadata<Root>(current.path, 'root' as never).signed;
  if (!trusted.roles.root?.keyIDs.includes(oldRoot.key.keyID)) throw new UpdateError(`the root key in ${oldKeysDir} is not the repository's root key`, 'give the key folder the repository was made with');
  const fresh = Object.fromEntries(ROLES.map((role) => [role, loadRoleKey(newKeysDir, role, true)]));
  const root = writeRoot(metadataDir, current.version + 1, fresh, [oldRoot, fresh.root!], now);

  const previous = latest(metadataDir, 'targets');
  if (previous) {
    const targets = readMetadata<Targets>(previous.path, 'targets' as never).signed;
    const targetsVersion = writeTargets(metadataDir, targets, targets.expires, fresh.targets!);
    const snapshotVersion = writeSnapshot(metadataDir, targetsVersion, fresh.snapshot!, now);
    await resignTimestamp(repoDir, newKeysDir, { now, snapshotVersion });
  }
  return root.signed.version;
}
