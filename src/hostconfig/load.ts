/**
 * Reading a host config: the bytes (gzip-compressed or not), then YAML or JSON, native, Ignition or
 * `#cloud-config`, then the schema, then the checks against the image. Every problem is reported at
 * once, each as `LABEL: path: message` with the path in the config's own format, the same on the
 * build host (`slipway config validate`) as on the console at boot.
 */
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { formatIssuePath, formatIssues } from '../recipe/load.ts';
import { inflateBounded, InflateError, isGzip } from '../shared/inflate.ts';
import { readYaml } from '../shared/yaml.ts';
import { checkHostConfig } from './check.ts';
import { cloudConfigPlacer, cloudConfigSchema, CloudConfigProblem, fromCloudConfig, isCloudConfig } from './cloud-config.ts';
import type { ImageFacts } from './facts.ts';
import { fromIgnition, IgnitionProblem, ignitionSchema, isIgnition, type IgnitionConfig } from './ignition.ts';
import { renderIgnitionOffline } from './ignition-remote.ts';
import { HostConfigSchema, type HostConfig, type HostConfigInput } from './schema.ts';

export const CONFIG_HINT = "see 'Host config' in the README, or run 'slipway config schema'";

function fail(label: string, problems: string[], hint = CONFIG_HINT): ConfigError {
  return new ConfigError(problems.map((p) => `${label}: ${p}`).join('\n'), hint);
}

/** Names a problem found after conversion by where it is in the Ignition config. */
function ignitionPath(problem: string): string {
  return problem
    .replace(/^users\[/, 'passwd.users[')
    .replace(/^files\[(\d+)\]\.base64/, 'storage.files[$1].contents.source')
    .replace(/^files\[(\d+)\]\.owner: unknown (user|group)/, 'storage.files[$1].$2: unknown $2')
    .replace(/^files\[/, 'storage.files[')
    .replace(/^units\[(\d+)\]\.content/, 'systemd.units[$1].contents')
    .replace(/^units\[(\d+)\]\.dropins\[(\d+)\]\.content/, 'systemd.units[$1].dropins[$2].contents')
    .replace(/^units\[/, 'systemd.units[');
}

/** A config's document, parsed but not yet checked: what kind it is tells how to read it. */
export type UserData =
  | { kind: 'native'; document: Record<string, unknown> }
  | { kind: 'ignition'; document: IgnitionConfig }
  | { kind: 'cloud-config'; document: Record<string, unknown> };

/** What a platform's metadata says of the machine: used where the config says nothing (as Afterburn does). */
export interface PlatformIdentity {
  hostname?: string;
  /** Given to root, unless the config gives root keys of its own. */
  sshKeys: string[];
}

function inflated(bytes: Buffer, label: string): Buffer {
  try {
    return inflateBounded(bytes);
  } catch (error) {
    if (!(error instanceof InflateError)) throw error;
    throw fail(label, [`(top level): ${error.tooLarge ? error.message : 'starts like gzip but does not inflate'}`]);
  }
}

/** Reads a config's bytes (inflating gzip) into its document, and tells which of the three formats it is. */
export function decodeUserData(input: Buffer | string, label: string): UserData {
  let bytes = typeof input === 'string' ? Buffer.from(input) : input;
  if (isGzip(bytes)) bytes = inflated(bytes, label);
  // A byte-order mark, which some editors write, is not part of the text.
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (text.startsWith('#!')) throw fail(label, ['(top level): a script, which slipway does not run as user data; give a host config, an Ignition config or a #cloud-config']);
  if (/^(Content-Type|MIME-Version):/i.test(text)) throw fail(label, ['(top level): a MIME multi-part archive, which slipway does not read; give one host config, Ignition config or #cloud-config']);
  const cloud = isCloudConfig(text);
  const read = readYaml(text);
  if (!read.ok) throw fail(label, read.problems, read.hint);
  const document: unknown = read.value ?? {};
  if (typeof document !== 'object' || Array.isArray(document)) throw fail(label, ['(top level): expected a mapping of settings']);
  if (cloud) return { kind: 'cloud-config', document: document as Record<string, unknown> };
  if (isIgnition(document)) {
    const ignition = ignitionSchema().safeParse(document);
    if (!ignition.success) throw fail(label, formatIssues(ignition.error.issues));
    return { kind: 'ignition', document: ignition.data };
  }
  return { kind: 'native', document: document as Record<string, unknown> };
}

/** What slipway reads of a cloud-config, and of each user and file in it: said when a key is refused. */
const CLOUD_CONFIG_KEYS: Record<string, string> = {
  '': 'hostname, fqdn, users, ssh_authorized_keys, write_files and timezone of a cloud-config',
  users: 'name, ssh_authorized_keys, groups and shell of a user',
  write_files: 'path, content, encoding, permissions and owner of a file',
};

function cloudConfigIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const known = CLOUD_CONFIG_KEYS[String(issue.path[0] ?? '')];
    if (issue.code !== 'unrecognized_keys' || known === undefined || issue.path.length > 2) return formatIssues([issue]);
    return issue.keys.map((key) => `${formatIssuePath([...issue.path, key])}: not supported by slipway, which reads ${known}`);
  });
}

/** The native input a document stands for, and how to name a native path in the document's own terms. */
function nativeInput(data: UserData, label: string): { input: HostConfigInput; place: (problem: string) => string } {
  try {
    if (data.kind === 'ignition') return { input: fromIgnition(renderIgnitionOffline(data.document)), place: ignitionPath };
    if (data.kind === 'native') return { input: data.document as HostConfigInput, place: (problem) => problem };
    const cloud = cloudConfigSchema().safeParse(data.document);
    if (!cloud.success) throw fail(label, cloudConfigIssues(cloud.error.issues));
    const input = fromCloudConfig(cloud.data);
    return { input, place: cloudConfigPlacer(cloud.data, input) };
  } catch (error) {
    if (error instanceof IgnitionProblem) throw fail(label, error.problems.map((problem) => `${problem.path}: ${problem.message}`));
    if (error instanceof CloudConfigProblem) throw fail(label, [`${error.path}: ${error.message}`]);
    throw error;
  }
}

/** The platform's hostname and keys, where the config gives none. */
function withIdentity(input: HostConfigInput, identity: PlatformIdentity): HostConfigInput {
  const users = [...(input.users ?? [])];
  const root = users.findIndex((user) => user.name === 'root');
  if (identity.sshKeys.length > 0 && !(root >= 0 && (users[root]!.sshAuthorizedKeys ?? []).length > 0)) {
    if (root >= 0) users[root] = { ...users[root]!, sshAuthorizedKeys: identity.sshKeys };
    else users.push({ name: 'root', sshAuthorizedKeys: identity.sshKeys });
  }
  // An Ignition config names its host by writing /etc/hostname.
  const named = input.hostname !== undefined || (input.files ?? []).some((file) => file.path === '/etc/hostname');
  return { ...input, ...(!named && identity.hostname ? { hostname: identity.hostname } : {}), users };
}

/** Checks a decoded config (with the platform's identity, if any) against the image; throws ConfigError with every problem. */
export function hostConfigFrom(data: UserData, label: string, facts: ImageFacts, identity?: PlatformIdentity): HostConfig {
  const { input, place } = nativeInput(data, label);
  const parsed = HostConfigSchema.safeParse(identity ? withIdentity(input, identity) : input);
  if (!parsed.success) throw fail(label, formatIssues(parsed.error.issues).map(place));
  const problems = checkHostConfig(parsed.data, facts);
  if (problems.length > 0) throw fail(label, problems.map(place));
  return parsed.data;
}

/** Parses and checks a host config; throws ConfigError with every problem found. */
export function parseHostConfig(input: Buffer | string, label: string, facts: ImageFacts): HostConfig {
  return hostConfigFrom(decodeUserData(input, label), label, facts);
}
