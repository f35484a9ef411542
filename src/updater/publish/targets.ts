/**
 * The targets metadata: every published version's artifacts (path, sha256, length, and what the
 * agent reads in `custom.slipway`), copied into REPO/targets/ under their hash before it names them.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Metadata, TargetFile, Targets } from '@tufjs/models';
import { UpdateError } from '../../errors.ts';
import { compareVersions } from '../../shared/debian-version.ts';
import { sha256File } from '../../shared/hash.ts';
import { signerFor, type RoleKey } from '../keys.ts';
import type { BuildManifest } from './build-folder.ts';
import { SPEC_VERSION, expires, latest, metadataJson, readMetadata, writeAtomically } from './metadata.ts';

/** What the agent reads from each target's `custom` field. */
export interface SlipwayTargetInfo {
  name: string;
  version: string;
  channel: string;
  artifact: 'root' | 'verity' | 'uki' | 'manifest';
  rootHash: string;
}

/** The newest targets metadata's contents, or an empty version 0 before the first publish. */
export function publishedTargets(metadataDir: string, now: Date): Targets {
  const previous = latest(metadataDir, 'targets');
  return previous ? readMetadata<Targets>(previous.path, 'targets' as never).signed : new Targets({ specVersion: SPEC_VERSION, expires: expires(now, 1), version: 0 });
}

/** Versions only go up: never publish one that is not newer than every published one of this name. */
export function refuseOlderVersion(targets: Targets, manifest: BuildManifest): void {
  for (const target of Object.values(targets.targets)) {
    const info = target.custom.slipway as SlipwayTargetInfo | undefined;
    if (info?.name === manifest.name && compareVersions(manifest.version, info.version) <= 0) {
      throw new UpdateError(`${manifest.name} ${manifest.version} is not newer than ${info.version}, already published`, 'build with a higher --version; hosts never go back to an older version');
    }
  }
}

/** Copies the build's artifacts into REPO/targets and adds them to `targets`; returns their target paths. */
export async function addArtifacts(targets: Targets, manifest: BuildManifest, buildDir: string, repoDir: string, channel: string): Promise<string[]> {
  const added: string[] = [];
  for (const artifact of ['root', 'verity', 'uki', 'manifest'] as const) {
    const file = manifest.artifacts[artifact]?.file ?? `${manifest.name}_${manifest.version}.manifest.json`;
    const source = join(buildDir, file);
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
  return added;
}

/** The next N.targets.json (N one past `targets`' version), listing `targets`' targets; returns N. */
export function writeTargets(metadataDir: string, targets: Targets, expiresAt: string, key: RoleKey): number {
  const metadata = new Metadata(new Targets({ specVersion: SPEC_VERSION, version: targets.version + 1, expires: expiresAt, targets: targets.targets }));
  metadata.sign(signerFor(key));
  writeAtomically(join(metadataDir, `${metadata.signed.version}.targets.json`), metadataJson(metadata));
  return metadata.signed.version;
}
