/**
 * Where each platform puts a machine's user data and identity, read at first boot by the image's
 * Node (agent.ts), as Ignition and Afterburn read them: the instance metadata services of EC2
 * (IMDSv2, with its session token) and Google Compute Engine (with its Metadata-Flavor header),
 * OpenStack's config drive or metadata service, cloud-init's NoCloud drive, and a URL for bare
 * metal. The initrd finds the platform (runtime/initrd/platform.sh), brings the network up when the
 * platform needs it, and copies a drive's files into the folder this reads.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, NetworkError } from '../errors.ts';
import { sha256 } from '../shared/hash.ts';
import { MAX_CONFIG_BYTES } from '../shared/inflate.ts';
import { sshPublicKey } from '../shared/paths.ts';
import type { PlatformName } from '../shared/platform.ts';
import { readYaml } from '../shared/yaml.ts';
import { FetchError, fetchBytes } from './fetch.ts';
import type { PlatformIdentity } from './load.ts';
import { hostnameSchema } from './schema.ts';


/** What a platform gave: the user data (none when the platform holds none), its identity, and where it came from. */
export interface PlatformConfig {
  label: string;
  userData?: Buffer;
  identity: PlatformIdentity;
}

export interface PlatformContext {
  /** Where the initrd copied a drive's files (config-2, cidata), and where what was read is kept. */
  dir: string;
  /** From the kernel command line: metal's config URL and its pinned sha256. */
  configUrl?: string;
  configSha256?: string;
  /** How long the first request keeps trying while the service does not answer. */
  retryForMs: number;
  log: (line: string) => void;
}

const MAX_METADATA = 1024 ** 2;
const METADATA = 'http://169.254.169.254';

type Get = (path: string, options?: { method?: 'GET' | 'PUT'; headers?: Record<string, string>; maxBytes?: number }) => Promise<Buffer | undefined>;

/**
 * GETs from one metadata service: 404 is "not there" (no user data, no keys). The first request
 * waits out a service that does not answer yet, for the time the context allows; once it answered,
 * later requests retry for a fraction of it.
 */
function metadataClient(platform: string, base: string, context: PlatformContext): Get {
  let answered = false;
  return async (path, options = {}) => {
    const url = `${base}${path}`;
    const retryForMs = answered ? Math.min(context.retryForMs, 20_000) : context.retryForMs;
    try {
      const bytes = await fetchBytes(url, {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        maxBytes: options.maxBytes ?? MAX_METADATA,
        retryForMs,
        onRetry: (_attempt, delayMs, reason) => context.log(`${platform} metadata at ${url}: ${reason}; trying again in ${Math.round(delayMs / 1000)} s`),
      });
      answered = true;
      return bytes;
    } catch (error) {
      if (error instanceof FetchError && error.status === 404) {
        answered = true;
        return undefined;
      }
      if (error instanceof FetchError) {
        throw new NetworkError(
          `no host config from the ${platform} platform: ${url} ${error.status ? `answered ${error.status}` : `did not answer in ${Math.round(retryForMs / 1000)} s`} (${error.reason})`,
          `check that this machine runs on ${platform} and reaches its metadata service, or build the image for its platform (platform: in the recipe)`,
          { cause: error },
        );
      }
      throw error;
    }
  };
}

const text = (bytes: Buffer | undefined) => bytes?.toString('utf8').trim() ?? '';
const lines = (bytes: Buffer | undefined) => text(bytes).split('\n').map((line) => line.trim()).filter(Boolean);

/** A host name from the platform's (often a fully qualified name): its first label, if it is a valid one. */
export function hostnameFrom(name: string | undefined): string | undefined {
  const first = name?.trim().split('.')[0]?.toLowerCase();
  return first && hostnameSchema.safeParse(first).success ? first : undefined;
}

async function aws(context: PlatformContext): Promise<PlatformConfig> {
  const service = metadataClient('aws', METADATA, context);
  // IMDSv2: a session token first, sent with every request after.
  const token = text(await service('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } }));
  if (!token) throw new NetworkError(`no host config from the aws platform: ${METADATA}/latest/api/token gave no session token`, 'check the instance metadata options (IMDSv2 must be enabled)');
  const get: Get = (path, options = {}) => service(path, { ...options, headers: { 'X-aws-ec2-metadata-token': token } });
  const userData = await get('/latest/user-data', { maxBytes: MAX_CONFIG_BYTES });
  const hostname = hostnameFrom(text(await get('/latest/meta-data/local-hostname')));
  const sshKeys: string[] = [];
  for (const entry of lines(await get('/latest/meta-data/public-keys/'))) {
    const index = /^(\d+)=/.exec(entry)?.[1];
    if (index !== undefined) sshKeys.push(...lines(await get(`/latest/meta-data/public-keys/${index}/openssh-key`)));
  }
  return { label: 'aws instance metadata (IMDSv2)', ...(userData ? { userData } : {}), identity: { ...(hostname ? { hostname } : {}), sshKeys } };
}

/** GCE's ssh-keys: `user:key` lines; the key part, after the first colon, is what authorized_keys takes. */
export function gceKeys(bytes: Buffer | undefined): string[] {
  return lines(bytes).map((line) => line.slice(line.indexOf(':') + 1));
}

async function gcp(context: PlatformContext): Promise<PlatformConfig> {
  const service = metadataClient('gcp', `${METADATA}/computeMetadata/v1`, context);
  const get: Get = (path, options = {}) => service(path, { ...options, headers: { 'Metadata-Flavor': 'Google' } });
  const userData = await get('/instance/attributes/user-data', { maxBytes: MAX_CONFIG_BYTES });
  const hostname = hostnameFrom(text(await get('/instance/hostname')));
  // As Afterburn reads them: the instance's keys, and the project's unless the instance blocks them.
  const blocked = text(await get('/instance/attributes/block-project-ssh-keys')).toLowerCase() === 'true';
  const sshKeys = [...gceKeys(await get('/instance/attributes/ssh-keys')), ...(blocked ? [] : gceKeys(await get('/project/attributes/ssh-keys')))];
  return { label: 'gcp instance metadata', ...(userData ? { userData } : {}), identity: { ...(hostname ? { hostname } : {}), sshKeys } };
}

/** OpenStack's meta_data.json: hostname (or name) and public_keys, a map of key name to key. */
export function openstackIdentity(bytes: Buffer | undefined, label: string): PlatformIdentity {
  if (!bytes) return { sshKeys: [] };
  let meta: { hostname?: unknown; name?: unknown; public_keys?: unknown };
  try {
    meta = JSON.parse(bytes.toString('utf8')) as typeof meta;
  } catch {
    throw new ConfigError(`${label}: meta_data.json is not JSON`, 'the platform\'s metadata is damaged: boot the machine again');
  }
  const keys = meta.public_keys && typeof meta.public_keys === 'object' ? Object.values(meta.public_keys as Record<string, unknown>) : [];
  const hostname = hostnameFrom(typeof meta.hostname === 'string' ? meta.hostname : typeof meta.name === 'string' ? meta.name : undefined);
  return { ...(hostname ? { hostname } : {}), sshKeys: keys.filter((key): key is string => typeof key === 'string').flatMap((key) => lines(Buffer.from(key))) };
}

/** A file the initrd copied from a drive, if there was one (it copies none past 16 MiB; checked again here). */
function fileIn(dir: string, name: string): Buffer | undefined {
  const path = join(dir, name);
  if (!existsSync(path)) return undefined;
  if (statSync(path).size > MAX_CONFIG_BYTES) throw new ConfigError(`${path}: more than the ${MAX_CONFIG_BYTES / 1024 ** 2} MiB user data may be`, 'give the drive a smaller user data file');
  return readFileSync(path);
}

async function openstack(context: PlatformContext): Promise<PlatformConfig> {
  const drive = join(context.dir, 'config-2');
  if (existsSync(drive)) {
    const label = 'the OpenStack config drive (config-2)';
    const userData = fileIn(drive, 'user_data');
    return { label, ...(userData ? { userData } : {}), identity: openstackIdentity(fileIn(drive, 'meta_data.json'), label) };
  }
  const get = metadataClient('openstack', `${METADATA}/openstack/latest`, context);
  const label = 'OpenStack metadata service';
  const meta = await get('/meta_data.json');
  const userData = await get('/user_data', { maxBytes: MAX_CONFIG_BYTES });
  return { label, ...(userData ? { userData } : {}), identity: openstackIdentity(meta, label) };
}

/** NoCloud's meta-data: YAML with local-hostname and, as cloud-init reads it, public-keys. */
export function nocloudIdentity(bytes: Buffer | undefined, label: string): PlatformIdentity {
  if (!bytes) return { sshKeys: [] };
  const read = readYaml(bytes.toString('utf8'));
  if (!read.ok) throw new ConfigError(read.problems.map((problem) => `${label}: meta-data: ${problem}`).join('\n'), read.hint);
  const meta = (read.value ?? {}) as { 'local-hostname'?: unknown; 'public-keys'?: unknown };
  const raw = meta['public-keys'];
  const keys = typeof raw === 'string' ? [raw] : Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? Object.values(raw) : [];
  const hostname = hostnameFrom(typeof meta['local-hostname'] === 'string' ? meta['local-hostname'] : undefined);
  return { ...(hostname ? { hostname } : {}), sshKeys: keys.filter((key): key is string => typeof key === 'string').flatMap((key) => lines(Buffer.from(key))) };
}

async function nocloud(context: PlatformContext): Promise<PlatformConfig> {
  const drive = join(context.dir, 'cidata');
  const label = 'the NoCloud drive (cidata)';
  if (!existsSync(drive)) throw new ConfigError('no host config from the nocloud platform: no drive labelled cidata', 'attach the NoCloud drive (a filesystem labelled cidata holding user-data and meta-data)');
  const userData = fileIn(drive, 'user-data');
  return { label, ...(userData && userData.length > 0 ? { userData } : {}), identity: nocloudIdentity(fileIn(drive, 'meta-data'), label) };
}

async function metal(context: PlatformContext): Promise<PlatformConfig> {
  const url = context.configUrl;
  if (!url) return { label: 'metal', identity: { sshKeys: [] } };
  if (/^http:/i.test(url) && !context.configSha256) {
    throw new ConfigError(`${url}: a plain http:// config URL needs slipway.config.sha256= (what it serves can be changed on the way)`, 'give the config\'s sha256 beside the URL, or serve it over https');
  }
  const label = url;
  let userData: Buffer;
  try {
    userData = await fetchBytes(url, {
      maxBytes: MAX_CONFIG_BYTES,
      retryForMs: context.retryForMs,
      onRetry: (_attempt, delayMs, reason) => context.log(`metal config at ${url}: ${reason}; trying again in ${Math.round(delayMs / 1000)} s`),
    });
  } catch (error) {
    if (!(error instanceof FetchError)) throw error;
    throw new NetworkError(`no host config from the metal platform: ${url} ${error.status ? `answered ${error.status}` : `did not answer in ${Math.round(context.retryForMs / 1000)} s`} (${error.reason})`, 'check the URL (slipway.config.url) and that the machine reaches it', { cause: error });
  }
  if (context.configSha256) {
    const actual = sha256(userData);
    if (actual !== context.configSha256) throw new ConfigError(`${url}: its sha256 is ${actual}, not the ${context.configSha256} slipway.config.sha256 pins`, 'serve the config the image was built for, or build the image with the new sha256');
  }
  return { label, userData, identity: { sshKeys: [] } };
}

const READERS: Record<Exclude<PlatformName, 'auto' | 'qemu'>, (context: PlatformContext) => Promise<PlatformConfig>> = { aws, gcp, openstack, nocloud, metal };

/**
 * What the platform holds for this machine. A key in its metadata that is not one OpenSSH public key
 * line is left out with a line saying so: one odd key of a project's must not keep every new
 * machine from booting, nor be blamed on the user's config.
 */
export async function readPlatformConfig(platform: PlatformName, context: PlatformContext): Promise<PlatformConfig> {
  if (platform === 'auto' || platform === 'qemu') throw new Error(`${platform} has no reader: the initrd reads its sources itself`);
  const config = await READERS[platform](context);
  const sshKeys = config.identity.sshKeys.filter((key) => {
    const valid = sshPublicKey.safeParse(key.trim()).success;
    if (!valid) context.log(`${config.label}: left out an ssh key that is not one OpenSSH public key line: "${key.slice(0, 40)}"`);
    return valid;
  });
  return { ...config, identity: { ...config.identity, sshKeys: sshKeys.map((key) => key.trim()) } };
}
