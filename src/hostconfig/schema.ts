/**
 * The host config: what makes one server out of an image at its first boot. Strict like the recipe,
 * so a typo is an error rather than a setting silently left out.
 */
import { z } from 'zod';
import { ContainerSchema, RebootWindowSchema } from '../recipe/schema.ts';
import { imagePath, passwdPath, sshPublicKey, sysctlValue, unitFileName } from '../shared/paths.ts';

const fileMode = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : 'expected a quoted octal mode such as "0644"') })
  .regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as "0644"')
  .transform((mode) => Number.parseInt(mode, 8));

/** A new user's login shell when the config names none. */
export const DEFAULT_SHELL = '/bin/bash';

const userName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a user name (lower-case letters, digits, _ and -)');

/** A new user, or a user the image has (root included), which gets only keys and groups. */
export const HostUserSchema = z.strictObject({
  name: userName,
  uid: z.number().int().min(1000).max(59999).optional().describe('a new user\'s; the next free one from 1000 when left out'),
  groups: z.array(z.string()).default([]).describe('supplementary groups that exist in the image, such as sudo'),
  shell: passwdPath.optional().describe(`a new user's login shell, ${DEFAULT_SHELL} when left out`),
  sshAuthorizedKeys: z.array(sshPublicKey).default([]),
});

export const HostFileSchema = z
  .strictObject({
    path: imagePath.describe('under /etc or /var: the root filesystem is read-only'),
    mode: fileMode.default(0o644),
    owner: z
      .string()
      .regex(/^([a-z_][a-z0-9_-]*|\d+)(:([a-z_][a-z0-9_-]*|\d+))?$/, 'expected "user" or "user:group", by name or numeric id')
      .default('root:root'),
    content: z.string().optional(),
    base64: z.string().optional(),
  })
  .refine((file) => (file.content === undefined) !== (file.base64 === undefined), { message: 'give exactly one of content or base64' });

export const HostUnitSchema = z
  .strictObject({
    name: unitFileName,
    content: z.string().optional().describe('the whole unit file; leave out to only add drop-ins to a unit of the image'),
    dropins: z.array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_.-]+\.conf$/, 'expected a drop-in name such as 10-env.conf'), content: z.string() })).default([]),
    enabled: z.boolean().optional().describe('enable (true) or disable (false) by its [Install] section'),
    mask: z.boolean().default(false),
  })
  .refine((unit) => unit.content !== undefined || unit.dropins.length > 0 || unit.enabled !== undefined || unit.mask, {
    message: 'give content, dropins, enabled or mask',
  });

const ipv4Cidr = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const ipv6Cidr = /^[0-9a-fA-F:]+\/\d{1,3}$/;
const address = z.string().refine((text) => ipv4Cidr.test(text) || ipv6Cidr.test(text), 'expected an address with prefix length, such as 192.0.2.10/24');
const ip = z.string().regex(/^((\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F:]+)$/, 'expected an IP address');

export const HostInterfaceSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9*?._-]+$/, 'expected an interface name or glob such as enp0s1 or en*'),
  dhcp: z.boolean().default(false),
  addresses: z.array(address).default([]),
  gateway: ip.optional(),
  routes: z.array(z.strictObject({ to: address, via: ip })).default([]),
  dns: z.array(ip).default([]),
});

/** A disk to install on: a path under /dev (best a stable one, /dev/disk/by-id/...), or the rule that picks the only empty disk. */
export const ONLY_EMPTY_DISK = 'only-empty-disk';

export const InstallSchema = z.strictObject({
  device: z
    .string()
    .refine((device) => device === ONLY_EMPTY_DISK || /^\/dev\/[A-Za-z0-9._:+@\/-]+$/.test(device), `expected a path under /dev (such as /dev/disk/by-id/nvme-...) or ${ONLY_EMPTY_DISK}`)
    .describe(`the disk to write the image to: a path under /dev, best /dev/disk/by-id/..., or ${ONLY_EMPTY_DISK}`),
  wipe: z.boolean().default(false).describe('install even on a disk that holds partitions or a filesystem, which are lost'),
  then: z.enum(['poweroff', 'reboot']).default('poweroff').describe('what the machine does once the image is written and verified'),
});

/** A host's name: one label. */
export const hostnameSchema = z.string().regex(/^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'expected a host name: lower-case letters, digits and dashes, up to 63');

export const HostConfigSchema = z.strictObject({
  hostname: hostnameSchema.optional(),
  users: z.array(HostUserSchema).default([]),
  files: z.array(HostFileSchema).default([]),
  units: z.array(HostUnitSchema).default([]),
  containers: z
    .array(ContainerSchema)
    .default([])
    .describe('containers beyond the recipe\'s; their images are pulled from a registry (image.ref)'),
  network: z
    .strictObject({ interfaces: z.array(HostInterfaceSchema).default([]).describe('without any, every interface uses DHCP') })
    .prefault({}),
  sysctl: z
    .record(z.string().regex(/^[a-z0-9_.\/-]+$/), sysctlValue, {
      error: (issue) => (issue.code === 'invalid_key' ? 'expected a sysctl key such as net.core.somaxconn' : undefined),
    })
    .default({}),
  timezone: z.string().regex(/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/, 'expected a time zone such as Europe/Berlin').optional(),
  install: InstallSchema.optional().describe('booted from the installer ISO: the disk to install on; the installed host provisions itself from this same config'),
  update: z
    .strictObject({
      channel: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'expected a channel name such as stable').optional(),
      rebootWindow: RebootWindowSchema.optional(),
    })
    .optional(),
});

export type HostConfig = z.output<typeof HostConfigSchema>;
export type HostConfigInput = z.input<typeof HostConfigSchema>;
export type HostFile = HostConfig['files'][number];
export type HostUnit = HostConfig['units'][number];
export type HostUser = HostConfig['users'][number];
export type InstallSettings = z.output<typeof InstallSchema>;

export function hostConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(HostConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
