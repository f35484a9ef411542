/**
 * The common subset of an Ignition v3 config (Flatcar, Fedora CoreOS): passwd.users with ssh keys,
 * storage.files with data: URLs, systemd.units. It becomes a native host config, so an existing
 * config gives the same host; anything outside the subset is an error that names it.
 */
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import type { HostConfigInput } from './schema.ts';

/** A part of Ignition slipway does not do; the problem's path names it, `why` says why when useful. */
const unsupported = (why?: string) => z.never({ error: `not supported by slipway${why ? ` (${why})` : ''}` });

const IgnitionSchema = z.strictObject({
  ignition: z.strictObject({
    version: z.string().regex(/^3\.\d+\.\d+(-experimental)?$/, 'slipway reads Ignition spec 3 configs (version "3.x.0")'),
    config: unsupported('merging or replacing configs').optional(),
    timeouts: z.unknown().optional(),
    security: unsupported().optional(),
    proxy: unsupported().optional(),
  }),
  passwd: z
    .strictObject({
      users: z
        .array(
          z.strictObject({
            name: z.string(),
            sshAuthorizedKeys: z.array(z.string()).optional(),
            groups: z.array(z.string()).optional(),
            shell: z.string().optional(),
            uid: z.number().int().optional(),
            passwordHash: unsupported('slipway hosts allow key-only logins').optional(),
          }),
        )
        .default([]),
      groups: unsupported().optional(),
    })
    .optional(),
  storage: z
    .strictObject({
      files: z
        .array(
          z.strictObject({
            path: z.string(),
            mode: z.number().int().min(0).max(0o7777).optional(),
            overwrite: z.boolean().optional(),
            user: z.strictObject({ name: z.string().optional(), id: z.number().int().optional() }).optional(),
            group: z.strictObject({ name: z.string().optional(), id: z.number().int().optional() }).optional(),
            contents: z
              .strictObject({
                source: z.string().optional(),
                compression: z.enum(['gzip', '']).optional(),
                verification: z.unknown().optional(),
              })
              .optional(),
            append: unsupported().optional(),
          }),
        )
        .default([]),
      directories: unsupported().optional(),
      links: unsupported().optional(),
      disks: unsupported().optional(),
      filesystems: unsupported().optional(),
      raid: unsupported().optional(),
      luks: unsupported().optional(),
    })
    .optional(),
  systemd: z
    .strictObject({
      units: z
        .array(
          z.strictObject({
            name: z.string(),
            enabled: z.boolean().optional(),
            mask: z.boolean().optional(),
            contents: z.string().optional(),
            dropins: z.array(z.strictObject({ name: z.string(), contents: z.string().optional() })).optional(),
          }),
        )
        .default([]),
    })
    .optional(),
  kernelArguments: unsupported('the kernel command line is part of the signed image').optional(),
});

export type IgnitionConfig = z.output<typeof IgnitionSchema>;

/** True when a parsed document is an Ignition config rather than a native one. */
export function isIgnition(document: unknown): boolean {
  return typeof document === 'object' && document !== null && 'ignition' in document;
}

export class IgnitionProblem extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

/** A data: URL's bytes (RFC 2397); Ignition's other sources need a network the host does not have yet. */
export function decodeDataUrl(source: string, path: string): Buffer {
  const match = /^data:([^,]*),(.*)$/s.exec(source);
  if (!match) throw new IgnitionProblem(path, `only data: URLs are supported (the host reads its config before its network is up), got "${source.slice(0, 40)}"`);
  const base64 = match[1]!.split(';').includes('base64');
  if (base64) {
    const text = match[2]!.replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new IgnitionProblem(path, 'the data: URL is not valid base64');
    return Buffer.from(text, 'base64');
  }
  try {
    return Buffer.from(decodeURIComponent(match[2]!), 'utf8');
  } catch {
    throw new IgnitionProblem(path, 'the data: URL has a broken %-escape');
  }
}

function owner(user?: { name?: string; id?: number }, group?: { name?: string; id?: number }): string | undefined {
  const part = (who?: { name?: string; id?: number }) => who?.name ?? (who?.id !== undefined ? String(who.id) : undefined);
  const u = part(user);
  const g = part(group);
  if (u === undefined && g === undefined) return undefined;
  return g === undefined ? u : `${u ?? 'root'}:${g}`;
}

export function ignitionSchema(): typeof IgnitionSchema {
  return IgnitionSchema;
}

/** Converts a validated Ignition config to native host config input (validated again after). */
export function fromIgnition(ignition: IgnitionConfig): HostConfigInput {
  const files = (ignition.storage?.files ?? []).map((file, index) => {
    const at = `storage.files[${index}]`;
    let bytes = file.contents?.source === undefined ? Buffer.alloc(0) : decodeDataUrl(file.contents.source, `${at}.contents.source`);
    if (file.contents?.compression === 'gzip') {
      try {
        bytes = gunzipSync(bytes);
      } catch {
        throw new IgnitionProblem(`${at}.contents`, 'the contents are not valid gzip');
      }
    }
    return {
      path: file.path,
      ...(file.mode !== undefined ? { mode: file.mode.toString(8).padStart(4, '0') } : {}),
      ...(owner(file.user, file.group) !== undefined ? { owner: owner(file.user, file.group) } : {}),
      base64: bytes.toString('base64'),
    };
  });
  return {
    users: (ignition.passwd?.users ?? []).map((user) => ({
      name: user.name,
      ...(user.uid !== undefined ? { uid: user.uid } : {}),
      ...(user.groups ? { groups: user.groups } : {}),
      ...(user.shell ? { shell: user.shell } : {}),
      sshAuthorizedKeys: user.sshAuthorizedKeys ?? [],
    })),
    files,
    units: (ignition.systemd?.units ?? []).map((unit) => ({
      name: unit.name,
      ...(unit.contents !== undefined ? { content: unit.contents } : {}),
      dropins: (unit.dropins ?? []).filter((d) => d.contents !== undefined).map((d) => ({ name: d.name, content: d.contents! })),
      ...(unit.enabled !== undefined ? { enabled: unit.enabled } : {}),
      mask: unit.mask ?? false,
    })),
  };
}
