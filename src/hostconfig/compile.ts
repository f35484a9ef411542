/**
 * A host config compiled for one image: what applying it writes, as a tar archive that the initrd
 * extracts with busybox tar into the new root. /etc paths land in the /etc overlay's upper folder,
 * /var paths on /var; nothing else is writable (the root is read-only). The archive records the
 * sha256 of the config and of the image facts it was compiled from, so the initrd applies it only
 * to that config on that image, and compiles the config itself (with the image's Node) otherwise.
 *
 * The build host compiles (`slipway boot --config`, `build --config`, `config compile`) so a first
 * boot does not have to start Node under emulation; the initrd's fallback runs this same code.
 */
import { posix } from 'node:path';
import { packTar, type TarEntry } from '../shared/tar.ts';
import { sha256 } from '../shared/hash.ts';
import { factsDigest, factsFromManifest, type ManifestFacts } from './facts.ts';
import { ignitionRemoteSources } from './ignition-remote.ts';
import { decodeUserData, hostConfigFrom } from './load.ts';
import { planProvision, type Write } from './plan.ts';
import type { HostConfig } from './schema.ts';

/** The /etc overlay's upper folder, as the initrd mounts it (relative to the new root). */
export const ETC_UPPER = 'var/lib/slipway/etc/upper';
/** The plan's record of what it was compiled from; it stays on /var as a note of what was applied. */
export const PLAN_RECORD = 'var/lib/slipway/provision/compiled-from';

/** Where a write lands, relative to the root the initrd extracts the plan into. */
export function planPath(path: string): string {
  const normal = posix.normalize(path);
  if (normal !== path || !/^\/(etc|var)\/./.test(path)) throw new Error(`${path} is neither under /etc nor under /var`);
  return path.startsWith('/etc/') ? `${ETC_UPPER}/${path.slice('/etc/'.length)}` : path.slice(1);
}

function entryOf(write: Write): TarEntry {
  const header = { name: planPath(write.path), mtime: new Date(0), uname: '', gname: '' };
  if (write.kind === 'symlink') return { header: { ...header, type: 'symlink', linkname: write.target, mode: 0o777, uid: 0, gid: 0 } };
  const owner = { mode: write.mode, uid: write.uid, gid: write.gid };
  if (write.kind === 'dir') return { header: { ...header, ...owner, type: 'directory' } };
  return { header: { ...header, ...owner, type: 'file' }, body: write.content };
}

export interface PlanSource {
  /** sha256 of the config file's bytes. */
  config: string;
  /** sha256 of the image's facts file (factsDigest). */
  image: string;
}

/** The writes as a tar archive, in order (a later write to a path wins), after the record of their source. */
export function packPlan(writes: readonly Write[], source: PlanSource): Promise<Buffer> {
  const record: Write = { kind: 'file', path: `/${PLAN_RECORD}`, content: Buffer.from(`config ${source.config}\nimage ${source.image}\n`), mode: 0o644, uid: 0, gid: 0 };
  return packTar([record, ...writes].map(entryOf));
}

export interface CompiledConfig {
  config: HostConfig;
  /** Left out when the config still has remote sources (Ignition's http(s) URLs): the first boot fetches them and compiles. */
  plan?: Buffer;
  /** The URLs the first boot fetches before it can compile. */
  remote: string[];
}

/** The plan for a checked config on an image, recording the config's bytes and the image's facts it came from. */
export function compilePlan(config: HostConfig, configBytes: Buffer, facts: ManifestFacts): Promise<Buffer> {
  return packPlan(planProvision(config, factsFromManifest(facts)), { config: sha256(configBytes), image: factsDigest(facts) });
}

/** Checks a config file's bytes against an image's facts and compiles it; throws ConfigError naming every problem. */
export async function compileHostConfig(bytes: Buffer, label: string, facts: ManifestFacts): Promise<CompiledConfig> {
  const data = decodeUserData(bytes, label);
  const config = hostConfigFrom(data, label, factsFromManifest(facts));
  const remote = data.kind === 'ignition' ? ignitionRemoteSources(data.document) : [];
  return { config, remote, ...(remote.length === 0 ? { plan: await compilePlan(config, bytes, facts) } : {}) };
}
