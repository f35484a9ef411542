/**
 * The common subset of an Ignition v3 config (Flatcar, Fedora CoreOS): passwd.users with ssh keys,
 * storage.files with data:, http: and https: sources, configs merged or replaced by URL,
 * systemd.units. It becomes a native host config, so an existing config gives the same host;
 * anything outside the subset is an error that names it. Remote sources are fetched by the host at
 * first boot (resolveIgnitionRemotes); on the build host a config that has them is checked without
 * their contents.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InflateAllowance, InflateError, MAX_CONFIG_BYTES } from '../shared/inflate.ts';
import type { HostConfigInput } from './schema.ts';

/** A part of Ignition slipway does not do; the problem's path names it, `why` says why when useful. */
const unsupported = (why?: string) => z.never({ error: `not supported by slipway${why ? ` (${why})` : ''}` });

/** Ignition's verification.hash: the contents' digest, after decompression. */
const HASH = /^(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})$/;
/** As much as a whole host config may be: gzip can inflate a few kilobytes into gigabytes. */
export const MAX_INFLATED_BYTES = MAX_CONFIG_BYTES;

/** A source Ignition fetches: data:, or http(s), where plain http needs a hash (it can be changed on the way). */
const Resource = z
  .strictObject({
    source: z.string().nullish(),
    compression: z.enum(['gzip', '']).nullish(),
    httpHeaders: z.array(z.strictObject({ name: z.string(), value: z.string().nullish() })).nullish(),
    verification: z.strictObject({ hash: z.string().regex(HASH, 'expected sha256-HEX or sha512-HEX').nullish() }).optional(),
  })
  .superRefine((resource, ctx) => {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(resource.source ?? '')?.[1]?.toLowerCase();
    if (resource.source != null && !['data', 'http', 'https'].includes(scheme ?? '')) {
      const got = scheme ? `${scheme}: URLs are not supported by slipway` : `"${resource.source.slice(0, 40)}" is not a URL`;
      ctx.addIssue({ code: 'custom', path: ['source'], message: `${got} (it reads data:, http: and https: sources)` });
    }
    if (scheme === 'http' && !resource.verification?.hash) {
      ctx.addIssue({ code: 'custom', path: ['verification', 'hash'], message: 'a plain http:// source needs verification.hash: what it serves can be changed on the way' });
    }
  });

export type IgnitionResource = z.output<typeof Resource>;

const IgnitionSchema = z.strictObject({
  ignition: z.strictObject({
    version: z.string().regex(/^3\.\d+\.\d+(-experimental)?$/, 'slipway reads Ignition spec 3 configs (version "3.x.0")'),
    config: z
      .strictObject({ merge: z.array(Resource).optional(), replace: Resource.optional() })
      .superRefine((config, ctx) => {
        for (const [index, reference] of (config.merge ?? []).entries()) {
          if (reference.source == null) ctx.addIssue({ code: 'custom', path: ['merge', index, 'source'], message: 'required: the URL of the config to merge' });
        }
      })
      .optional(),
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
            shouldExist: z.literal(true, { error: 'not supported by slipway (removing a user of the image)' }).nullish(),
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
            contents: Resource.optional(),
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
  /** Every problem found at once, this one's path and message first. */
  readonly problems: ReadonlyArray<{ path: string; message: string }>;

  constructor(readonly path: string, message: string, more: ReadonlyArray<{ path: string; message: string }> = []) {
    super(message);
    this.problems = [{ path, message }, ...more];
  }

  /** The same problems, found in a config that the parent names as `where`. */
  within(where: string): IgnitionProblem {
    const [first, ...more] = this.problems.map((problem) => ({ path: `${where}: ${problem.path}`, message: problem.message }));
    return new IgnitionProblem(first!.path, first!.message, more);
  }
}

/** A data: URL's bytes (RFC 2397); http(s) sources are fetched by the host first (resolveIgnitionRemotes). */
export function decodeDataUrl(source: string, path: string): Buffer {
  const match = /^data:([^,]*),(.*)$/s.exec(source);
  if (!match) throw new IgnitionProblem(path, `expected a data: URL, got "${source.slice(0, 40)}"`);
  const base64 = match[1]!.split(';').includes('base64');
  if (base64) {
    const text = match[2]!.replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new IgnitionProblem(path, 'the data: URL is not valid base64');
    return Buffer.from(text, 'base64');
  }
  return percentDecoded(match[2]!, path);
}

/** RFC 3986 percent-decoding to bytes: `%FF` is the byte 0xff, whether or not the result is UTF-8. */
function percentDecoded(text: string, path: string): Buffer {
  const bytes: Buffer[] = [];
  let plain = 0;
  for (let at = text.indexOf('%'); at >= 0; at = text.indexOf('%', at + 3)) {
    const hex = text.slice(at + 1, at + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new IgnitionProblem(path, `the data: URL has a broken %-escape at character ${at + 1}`);
    bytes.push(Buffer.from(text.slice(plain, at), 'utf8'), Buffer.from([Number.parseInt(hex, 16)]));
    plain = at + 3;
  }
  bytes.push(Buffer.from(text.slice(plain), 'utf8'));
  return Buffer.concat(bytes);
}

/** Whether a source is fetched over the network (rather than carried in a data: URL). */
export function isRemote(source: string): boolean {
  return /^https?:/i.test(source);
}

/** Inflates gzip-compressed contents within the bound a host config has, shared by whatever one allowance inflates. */
export function inflate(bytes: Buffer, at: string, allowance = new InflateAllowance()): Buffer {
  try {
    return allowance.inflate(bytes);
  } catch (error) {
    if (error instanceof InflateError) throw new IgnitionProblem(at, error.tooLarge ? `the contents inflate past ${MAX_CONFIG_BYTES / 1024 ** 2} MiB, the most a host config carries` : 'the contents are not valid gzip');
    throw error;
  }
}

/** Checks a resource's verification.hash (`at` names the resource: a file's contents, a referenced config). */
export function verify(bytes: Buffer, hash: string, at: string): void {
  const [algorithm, expected] = hash.split('-') as [string, string];
  const actual = createHash(algorithm).update(bytes).digest('hex');
  if (actual !== expected) throw new IgnitionProblem(`${at}.verification.hash`, `the contents are ${algorithm}-${actual}, not what the config says`);
}

function owner(user?: { name?: string; id?: number }, group?: { name?: string; id?: number }): string | undefined {
  const part = (who?: { name?: string; id?: number }) => who?.name ?? (who?.id !== undefined ? String(who.id) : undefined);
  const u = part(user);
  const g = part(group);
  if (u === undefined && g === undefined) return undefined;
  return g === undefined ? u : `${u ?? 'root'}:${g}`;
}

function fileOwnerAndMode(file: NonNullable<NonNullable<IgnitionConfig['storage']>['files']>[number]): { mode?: string; owner?: string } {
  const who = owner(file.user, file.group);
  return { ...(file.mode !== undefined ? { mode: file.mode.toString(8).padStart(4, '0') } : {}), ...(who !== undefined ? { owner: who } : {}) };
}

export function ignitionSchema(): typeof IgnitionSchema {
  return IgnitionSchema;
}

/** Converts a validated Ignition config to native host config input (validated again after). */
export function fromIgnition(ignition: IgnitionConfig): HostConfigInput {
  const allowance = new InflateAllowance();
  const files = (ignition.storage?.files ?? []).map((file, index) => {
    const at = `storage.files[${index}]`;
    const source = file.contents?.source;
    // Not fetched yet (a check on the build host): the host fetches it at first boot.
    if (source && isRemote(source)) return { path: file.path, ...fileOwnerAndMode(file), base64: '' };
    let bytes = source == null ? Buffer.alloc(0) : decodeDataUrl(source, `${at}.contents.source`);
    if (file.contents?.compression === 'gzip') bytes = inflate(bytes, `${at}.contents`, allowance);
    const hash = file.contents?.verification?.hash;
    if (hash) verify(bytes, hash, `${at}.contents`);
    return { path: file.path, ...fileOwnerAndMode(file), base64: bytes.toString('base64') };
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
