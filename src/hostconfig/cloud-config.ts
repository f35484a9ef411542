/**
 * The part of cloud-init's `#cloud-config` most images are given: hostname (or fqdn), users with their ssh
 * keys, groups and shell, top-level ssh_authorized_keys, write_files and timezone. It becomes a
 * native host config, so a cloud-config and its native twin give the same host; any other key is
 * an error that names it and says why, since a key cloud-init would act on and slipway ignored
 * would make a host other than the one asked for.
 *
 * slipway images have no default user: top-level ssh_authorized_keys, which cloud-init gives to the
 * distribution's default user, go to root (key-only logins; sshd reads them from /etc/ssh).
 */
import { z } from 'zod';
import { InflateAllowance, InflateError } from '../shared/inflate.ts';
import type { HostConfigInput } from './schema.ts';

/** A key slipway does not do; the problem's path names it. */
const unsupported = (why: string) => z.never({ error: `not supported by slipway (${why})` });


/** cloud-init's `groups`: a list, or one comma-separated string. */
const groupList = z.union([z.string(), z.array(z.string())]);

const CloudUserSchema = z.strictObject({
  name: z.string(),
  ssh_authorized_keys: z.array(z.string()).optional(),
  groups: groupList.optional(),
  shell: z.string().optional(),
  sudo: unsupported('give the user the sudo group instead').optional(),
  passwd: unsupported('slipway hosts allow key-only logins').optional(),
  hashed_passwd: unsupported('slipway hosts allow key-only logins').optional(),
  plain_text_passwd: unsupported('slipway hosts allow key-only logins').optional(),
  lock_passwd: unsupported('accounts have no password to lock: logins are key-only').optional(),
});

/** `- default`, cloud-init's distribution user, gets its own message rather than a mapping's. */
const CloudUserEntry = z
  .unknown()
  .refine((user) => user !== 'default', { message: 'slipway images have no default user: give each user by name', abort: true })
  .pipe(CloudUserSchema);

const WriteFileSchema = z.strictObject({
  path: z.string(),
  content: z.string().default(''),
  encoding: z.enum(['text/plain', 'b64', 'base64', 'gz', 'gzip', 'gz+b64', 'gz+base64', 'gzip+b64', 'gzip+base64']).optional(),
  permissions: z.string({ error: 'expected a quoted octal mode such as "0644"' }).optional(),
  owner: z.string().optional(),
  append: unsupported('a first boot writes whole files').optional(),
  defer: unsupported('files are written before the host starts').optional(),
});

const CloudConfigSchema = z.strictObject({
  hostname: z.string().optional(),
  fqdn: z.string().optional(),
  users: z.array(CloudUserEntry).optional(),
  ssh_authorized_keys: z.array(z.string()).optional(),
  write_files: z.array(WriteFileSchema).optional(),
  timezone: z.string().optional(),
});

export type CloudConfig = z.output<typeof CloudConfigSchema>;

/** The first line that makes user data a cloud-config (cloud-init reads it the same way). */
export function isCloudConfig(text: string): boolean {
  return /^#cloud-config[ \t]*\r?(\n|$)/.test(text);
}

export class CloudConfigProblem extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export function cloudConfigSchema(): typeof CloudConfigSchema {
  return CloudConfigSchema;
}

function groupsOf(groups: string | string[] | undefined): string[] | undefined {
  if (groups === undefined) return undefined;
  const list = typeof groups === 'string' ? groups.split(',') : groups;
  return list.map((group) => group.trim()).filter(Boolean);
}

function fileBytes(file: z.output<typeof WriteFileSchema>, at: string, allowance: InflateAllowance): Buffer {
  const encoding = file.encoding ?? 'text/plain';
  let bytes: Buffer = Buffer.from(file.content, encoding.includes('b64') || encoding.includes('base64') ? 'base64' : 'utf8');
  if (encoding.startsWith('gz')) {
    try {
      bytes = allowance.inflate(bytes);
    } catch (error) {
      if (error instanceof InflateError) throw new CloudConfigProblem(`${at}.content`, error.message);
      throw error;
    }
  }
  return bytes;
}

/**
 * The name cloud-init gives the host: `hostname`, else `fqdn`, cut to its first label when it has
 * a domain (cloud-init sets the short name, and keeps the domain only for /etc/hosts).
 */
function shortHostname(cloud: CloudConfig): string | undefined {
  const name = cloud.hostname ?? cloud.fqdn;
  if (name === undefined) return undefined;
  const dot = name.indexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Converts a checked cloud-config to native host config input. */
export function fromCloudConfig(cloud: CloudConfig): HostConfigInput {
  const users = (cloud.users ?? []).map((user) => {
    const groups = groupsOf(user.groups);
    return {
      name: user.name,
      ...(groups ? { groups } : {}),
      ...(user.shell !== undefined ? { shell: user.shell } : {}),
      sshAuthorizedKeys: user.ssh_authorized_keys ?? [],
    };
  });
  if (cloud.ssh_authorized_keys?.length) {
    const root = users.find((user) => user.name === 'root');
    if (root) root.sshAuthorizedKeys = [...root.sshAuthorizedKeys, ...cloud.ssh_authorized_keys];
    else users.push({ name: 'root', sshAuthorizedKeys: cloud.ssh_authorized_keys });
  }
  const allowance = new InflateAllowance();
  const files = (cloud.write_files ?? []).map((file, index) => ({
    path: file.path,
    base64: fileBytes(file, `write_files[${index}]`, allowance).toString('base64'),
    ...(file.permissions !== undefined ? { mode: file.permissions } : {}),
    ...(file.owner !== undefined ? { owner: file.owner } : {}),
  }));
  const hostname = shortHostname(cloud);
  return {
    ...(hostname !== undefined ? { hostname } : {}),
    users,
    files,
    ...(cloud.timezone !== undefined ? { timezone: cloud.timezone } : {}),
  };
}

/**
 * Names each problem found after conversion by where it is in the cloud-config: a root user that
 * top-level ssh_authorized_keys made is that key, a name taken from fqdn is fqdn.
 */
export function cloudConfigPlacer(cloud: CloudConfig, input: HostConfigInput): (problem: string) => string {
  const madeRoot = cloud.ssh_authorized_keys?.length && !cloud.users?.some((user) => user.name === 'root');
  const rootFromTopLevel = madeRoot ? input.users!.length - 1 : undefined;
  const hostnameKey = cloud.hostname === undefined && cloud.fqdn !== undefined ? 'fqdn' : 'hostname';
  return (problem) => cloudConfigPath(problem, rootFromTopLevel).replace(/^hostname\b/, hostnameKey);
}

function cloudConfigPath(problem: string, rootFromTopLevel: number | undefined): string {
  if (rootFromTopLevel !== undefined) {
    const own = `users[${rootFromTopLevel}]`;
    if (problem.startsWith(`${own}.sshAuthorizedKeys`)) return problem.replace(/^users\[\d+\]\.sshAuthorizedKeys/, 'ssh_authorized_keys');
    if (problem.startsWith(own)) return problem.replace(/^users\[\d+\](\.name)?/, 'ssh_authorized_keys');
  }
  return problem
    .replace(/^users\[(\d+)\]\.sshAuthorizedKeys/, 'users[$1].ssh_authorized_keys')
    .replace(/^files\[(\d+)\]\.base64/, 'write_files[$1].content')
    .replace(/^files\[(\d+)\]\.mode/, 'write_files[$1].permissions')
    .replace(/^files\[/, 'write_files[');
}
