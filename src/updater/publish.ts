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
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { compareVersions } from '../shared/debian-version.ts';
import { UpdateError, errorMessage } from '../errors.ts';
import { sha256File } from '../shared/hash.ts';
import { ROLES, loadRoleKey, signerFor, type RoleKey } from './keys.ts';
import { readJsonFile } from '../shared/json.ts';
import { runTool } from '../tools.ts';

const DAY = 24 * 60 * 60 * 1000;
/** The TUF specification version the metadata follows. */
const SPEC_VERSION = '1.0.31';

/** How long each role's metadata stays valid, in days (TUF's usual spread: root long, timestamp short). */
export const EXPIRY_DAYS = { root: 365, targets: 90, snapshot: 7, timestamp: 1 } as const;

/** What the agent reads from each target's `custom` field. */
export interface SlipwayTargetInfo {
  name: string;
  version: string;
  channel: string;
  artifact: 'root' | 'verity' | 'uki' | 'manifest';
  rootHash: string;
}

interface BuildManifest {
  name: string;
  version: string;
  rootHash: string;
  artifacts: Record<string, { file: string; size: number; sha256: string }>;
}

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

function expires(now: Date, days: number): string {
  return new Date(now.getTime() + days * DAY).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function writeAtomically(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${process.pid}`;
  writeFileSync(temporary, data);
  renameSync(temporary, path);
}

function json(metadata: Metadata<Root | Targets | Snapshot | Timestamp>): string {
  return `${JSON.stringify(metadata.toJSON(), null, 1)}\n`;
}

function readMetadata<T extends Root | Targets | Snapshot | Timestamp>(path: string, kind: Parameters<typeof Metadata.fromJSON>[0]): Metadata<T> {
  try {
    return Metadata.fromJSON(kind as never, JSON.parse(readFileSync(path, 'utf8'))) as unknown as Metadata<T>;
  } catch (cause) {
    throw new UpdateError(`cannot read ${path}: ${errorMessage(cause)}`, 'is this a repository slipway made?', { cause });
  }
}

/** The newest N.ROLE.json in the metadata folder, or undefined. */
function latest(metadataDir: string, role: string): { version: number; path: string } | undefined {
  if (!existsSync(metadataDir)) return undefined;
  const versions = readdirSync(metadataDir)
    .map((file) => new RegExp(`^(\\d+)\\.${role}\\.json$`).exec(file))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (versions.length === 0) return undefined;
  const version = Math.max(...versions);
  return { version, path: join(metadataDir, `${version}.${role}.json`) };
}

/** A folder the command reads or writes: absent is fine (it says so later), a file or device is refused. */
function folderOrAbsent(path: string, what: string): void {
  if (existsSync(path) && !statSync(path).isDirectory()) throw new UpdateError(`${what} ${path} is not a folder`, `give ${what === 'the build' ? "the --out folder of one 'slipway build'" : 'a folder'}`);
}

function checkFolders(repoDir: string, keysDir: string, newKeysDir?: string): void {
  folderOrAbsent(repoDir, '--repo');
  folderOrAbsent(keysDir, '--keys');
  if (newKeysDir !== undefined) folderOrAbsent(newKeysDir, '--rotate-keys');
}

/** The build's manifest, once every artifact publish signs matches it, and the root hash verifies the root. */
async function readBuild(buildDir: string): Promise<{ manifest: BuildManifest; dir: string }> {
  folderOrAbsent(buildDir, 'the build');
  const manifests = existsSync(buildDir) ? readdirSync(buildDir).filter((f) => f.endsWith('.manifest.json')) : [];
  if (manifests.length !== 1) {
    throw new UpdateError(
      manifests.length === 0 ? `no build in ${buildDir} (no *.manifest.json)` : `${buildDir} holds ${manifests.length} builds; publish one folder per build`,
      "give the --out folder of one 'slipway build'",
    );
  }
  const path = join(buildDir, manifests[0]!);
  const asBuilt = "build again: publish takes a build's folder as 'slipway build' left it";
  const manifest = readJsonFile(path, (reason) => new UpdateError(`cannot read ${path}: ${reason}`, asBuilt)) as BuildManifest;
  if (typeof manifest?.artifacts !== 'object' || manifest.artifacts === null || typeof manifest.rootHash !== 'string') {
    throw new UpdateError(`${path} is not a build manifest (no artifacts or root hash)`, asBuilt);
  }
  const damaged = "the build is damaged or incomplete (cut short, or changed after it was built): build again";
  for (const artifact of ['root', 'verity', 'uki'] as const) {
    const file = manifest.artifacts[artifact];
    if (!file || !existsSync(join(buildDir, file.file))) throw new UpdateError(`the build in ${buildDir} has no ${artifact} artifact`, 'build again; publish needs the .root.squashfs, .root.verity and .efi');
    const at = join(buildDir, file.file);
    const size = statSync(at).size;
    if (size !== file.size) throw new UpdateError(`${at} is ${size} bytes where the build's manifest says ${file.size}`, damaged);
    const sha256 = await sha256File(at);
    if (sha256 !== file.sha256) throw new UpdateError(`${at} has sha256 ${sha256} where the build's manifest says ${file.sha256}`, damaged);
  }
  const [root, verity] = [manifest.artifacts.root!, manifest.artifacts.verity!].map((a) => join(buildDir, a.file)) as [string, string];
  try {
    await runTool('veritysetup', ['verify', root, verity, manifest.rootHash]);
  } catch (cause) {
    throw new UpdateError(`the root hash ${manifest.rootHash} of the build's manifest does not verify ${root} with ${verity}`, damaged, { cause });
  }
  return { manifest, dir: buildDir };
}

/** The root metadata: created (version 1, every role's key) on the first publish, read after. */
function ensureRoot(metadataDir: string, keys: Record<string, RoleKey>, now: Date): Metadata<Root> {
  const current = latest(metadataDir, 'root');
  if (current) return readMetadata<Root>(current.path, 'root' as never);
  // Without roles given, every top-level role starts with threshold 1 and no keys.
  const root = new Root({ specVersion: SPEC_VERSION, version: 1, expires: expires(now, EXPIRY_DAYS.root), consistentSnapshot: true });
  for (const role of ROLES) root.addKey(keys[role]!.key, role);
  const metadata = new Metadata(root);
  metadata.sign(signerFor(keys.root!));
  writeAtomically(join(metadataDir, '1.root.json'), json(metadata));
  writeAtomically(join(metadataDir, 'root.json'), json(metadata));
  return metadata;
}

/** Makes a repository's first root (metadata/1.root.json), which images carry as update.trustedRoot. */
export function initRepository(repoDir: string, keysDir: string, options: { now?: Date } = {}): string {
  checkFolders(repoDir, keysDir);
  const metadataDir = join(repoDir, 'metadata');
  const keys = Object.fromEntries(ROLES.map((role) => [role, loadRoleKey(keysDir, role, role === 'root')]));
  ensureRoot(metadataDir, keys, options.now ?? new Date());
  return join(metadataDir, '1.root.json');
}

/** The next N.snapshot.json, naming targets version `targetsVersion`; returns N. */
function writeSnapshot(metadataDir: string, targetsVersion: number, key: RoleKey, now: Date): number {
  const snapshot = new Metadata(new Snapshot({
    specVersion: SPEC_VERSION,
    version: (latest(metadataDir, 'snapshot')?.version ?? 0) + 1,
    expires: expires(now, EXPIRY_DAYS.snapshot),
    meta: { 'targets.json': new MetaFile({ version: targetsVersion }) },
  }));
  snapshot.sign(signerFor(key));
  writeAtomically(join(metadataDir, `${snapshot.signed.version}.snapshot.json`), json(snapshot));
  return snapshot.signed.version;
}

export async function publish(buildDir: string, repoDir: string, keysDir: string, options: PublishOptions = {}): Promise<PublishResult> {
  const now = options.now ?? new Date();
  const channel = options.channel ?? 'stable';
  const { manifest, dir } = await readBuild(buildDir);
  checkFolders(repoDir, keysDir);
  const metadataDir = join(repoDir, 'metadata');
  const keys = Object.fromEntries(ROLES.map((role) => [role, loadRoleKey(keysDir, role, role !== 'root' || latest(metadataDir, 'root') === undefined)]));
  const root = ensureRoot(metadataDir, keys, now);
  for (const role of ['targets', 'snapshot', 'timestamp'] as const) trusted(root, role, keys[role]!, keysDir);

  const previous = latest(metadataDir, 'targets');
  const targets = previous ? readMetadata<Targets>(previous.path, 'targets' as never).signed : new Targets({ specVersion: SPEC_VERSION, expires: expires(now, 1), version: 0 });
  // Versions only go up: never publish one that is not newer than every published one of this name.
  for (const target of Object.values(targets.targets)) {
    const info = target.custom.slipway as SlipwayTargetInfo | undefined;
    if (info?.name === manifest.name && compareVersions(manifest.version, info.version) <= 0) {
      throw new UpdateError(`${manifest.name} ${manifest.version} is not newer than ${info.version}, already published`, 'build with a higher --version; hosts never go back to an older version');
    }
  }

  const added: string[] = [];
  for (const artifact of ['root', 'verity', 'uki', 'manifest'] as const) {
    const file = manifest.artifacts[artifact]?.file ?? `${manifest.name}_${manifest.version}.manifest.json`;
    const source = join(dir, file);
    const hash = await sha256File(source);
    const path = `${manifest.name}/${manifest.version}/${file}`;
    const destination = join(repoDir, 'targets', manifest.name, manifest.version, `${hash}.${basename(file)}`);
    if (!existsSync(destination)) {
      mkdirSync(dirname(destination), { recursive: true });
      copyFileSync(source, `${destination}.tmp-${process.pid}`);
      renameSync(`${destination}.tmp-${process.pid}`, destination);
    }
    const custom: SlipwayTargetInfo = { name: manifest.name, version: manifest.version, channel, artifact, rootHash: manifest.rootHash };
    targets.addTarget(new TargetFile({ path, length: statSync(source).size, hashes: { sha256: hash }, unrecognizedFields: { custom: { slipway: custom } as never } }));
    added.push(path);
  }

  const targetsMetadata = new Metadata(new Targets({ specVersion: SPEC_VERSION, version: targets.version + 1, expires: expires(now, options.expiresDays ?? EXPIRY_DAYS.targets), targets: targets.targets }));
  targetsMetadata.sign(signerFor(keys.targets!));
  const targetsVersion = targetsMetadata.signed.version;
  writeAtomically(join(metadataDir, `${targetsVersion}.targets.json`), json(targetsMetadata));

  const snapshotVersion = writeSnapshot(metadataDir, targetsVersion, keys.snapshot!, now);
  await resignTimestamp(repoDir, keysDir, { now, snapshotVersion });
  return { name: manifest.name, version: manifest.version, targetsVersion, targets: added };
}

/** Refuses a key the repository's root does not list for the role: what it signs, no client accepts. */
function trusted(root: Metadata<Root>, role: 'targets' | 'snapshot' | 'timestamp', key: RoleKey, keysDir: string): void {
  if (!root.signed.roles[role]?.keyIDs.includes(key.key.keyID)) {
    throw new UpdateError(`the ${role} key in ${keysDir} is not the one the repository's root trusts`, 'publish with the key folder this repository was made with');
  }
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
  const previous = existsSync(join(metadataDir, 'timestamp.json')) ? readMetadata<Timestamp>(join(metadataDir, 'timestamp.json'), 'timestamp' as never).signed.version : 0;
  const timestamp = new Metadata(new Timestamp({
    specVersion: SPEC_VERSION,
    version: previous + 1,
    expires: expires(now, EXPIRY_DAYS.timestamp),
    snapshotMeta: new MetaFile({ version: snapshotVersion }),
  }));
  const root = latest(metadataDir, 'root');
  if (!root) throw new UpdateError(`${repoDir} has no root metadata`, "publish a build first with 'slipway publish'");
  const key = loadRoleKey(keysDir, 'timestamp', true);
  trusted(readMetadata<Root>(root.path, 'root' as never), 'timestamp', key, keysDir);
  timestamp.sign(signerFor(key));
  writeAtomically(join(metadataDir, 'timestamp.json'), json(timestamp));
  return timestamp.signed.version;
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
  const root = new Root({ specVersion: SPEC_VERSION, version: current.version + 1, expires: expires(now, EXPIRY_DAYS.root), consistentSnapshot: true });
  for (const role of ROLES) root.addKey(fresh[role]!.key, role);
  const metadata = new Metadata(root);
  metadata.sign(signerFor(oldRoot));
  metadata.sign(signerFor(fresh.root!));
  writeAtomically(join(metadataDir, `${root.version}.root.json`), json(metadata));
  writeAtomically(join(metadataDir, 'root.json'), json(metadata));

  const previous = latest(metadataDir, 'targets');
  if (previous) {
    const targets = readMetadata<Targets>(previous.path, 'targets' as never).signed;
    const resigned = new Metadata(new Targets({ specVersion: SPEC_VERSION, version: targets.version + 1, expires: targets.expires, targets: targets.targets }));
    resigned.sign(signerFor(fresh.targets!));
    writeAtomically(join(metadataDir, `${resigned.signed.version}.targets.json`), json(resigned));
    const snapshotVersion = writeSnapshot(metadataDir, resigned.signed.version, fresh.snapshot!, now);
    await resignTimestamp(repoDir, newKeysDir, { now, snapshotVersion });
  }
  return root.version;
}
