/**
 * The recipe: everything a host image is made of. Strict throughout: an unknown key is an error,
 * so a typo never silently drops a setting.
 */
import { z } from 'zod';
import { parseSize } from './size.ts';
import { isEmptyWindow, WINDOW_PATTERN } from '../updater/agent/window.ts';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lower-case letters, digits and dashes, starting with a letter or digit');

const debianPackageName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9+.-]+(?:\s*=\s*[0-9][^=\s]*|\s*\((?:<<|<=|=|>=|>>)\s*[0-9][^)\s]*\))?$/,
    'expected a Debian package name, optionally pinned as "name=VERSION" or "name (>= VERSION)"',
  );

const size = z.string().transform((text, ctx) => {
  const bytes = parseSize(text);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as "512MiB" or "2G", got "${text}"` });
    return z.NEVER;
  }
  return bytes;
});

const absolutePath = z.string().regex(/^(?!.*\/\.\.?(\/|$))\//, 'expected an absolute path without . or .. parts');

/** YAML reads `1.0` and `0644` as numbers; say so instead of a bare "expected string". */
function quoted(example: string) {
  return z.string({
    error: (issue) => (issue.input === undefined ? undefined : `expected a quoted string such as "${example}" (YAML reads unquoted ${example} as a number)`),
  });
}

const fileMode = quoted('0644')
  .regex(/^0?[0-7]{3,4}$/, 'expected an octal mode such as "0644"')
  .transform((mode) => Number.parseInt(mode, 8));

const owner = z.string().regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/, 'expected "user" or "user:group"');

export const DistributionSchema = z.strictObject({
  suite: z.string().default('bookworm').describe('Debian suite or codename'),
  mirror: z
    .url()
    .optional()
    .describe("archive root URL; default: SLIPWAY_MIRROR, then the build host's apt sources"),
  snapshot: z
    .string()
    .regex(/^\d{8}T\d{6}Z$/, 'expected a snapshot timestamp such as 20250520T000000Z')
    .optional()
    .describe('with a snapshot-style mirror: the archive as it was at this time (MIRROR/TIMESTAMP)'),
  components: z.array(z.string()).min(1).default(['main']),
  keyring: z
    .string()
    .optional()
    .describe("OpenPGP keyring that signs the archive, beside the recipe; default: Debian's archive keyring"),
  base: z
    .enum(['essential', 'required', 'none'])
    .default('essential')
    .describe('which packages every image gets: the Essential set, Priority required too, or none'),
});

export const KernelSchema = z.strictObject({
  package: z.string().default('linux-image-cloud-amd64'),
  modules: z.array(z.string()).default([]).describe('kernel modules beyond the ones every host needs'),
  cmdline: z.array(z.string()).default(['console=ttyS0']),
});

export const FileSchema = z
  .strictObject({
    path: absolutePath,
    mode: fileMode.optional(),
    owner: owner.default('root:root'),
    content: z.string().optional(),
    base64: z.string().optional(),
    source: z.string().optional().describe('a file beside the recipe'),
  })
  .refine((file) => [file.content, file.base64, file.source].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of content, base64 or source',
  });

export const UserSchema = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'expected a user name'),
  uid: z.number().int().min(1000).max(59999).optional(),
  groups: z.array(z.string()).default([]),
  shell: z.string().default('/bin/bash'),
  home: absolutePath.optional(),
  sshAuthorizedKeys: z.array(z.string()).default([]),
});

export const UnitSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9@_.:-]+\.(service|socket|timer|target|path|mount)$/, 'expected a unit file name'),
  content: z.string(),
  enable: z.boolean().default(true),
});

export const ServicesSchema = z.strictObject({
  enable: z.array(z.string()).default([]),
  disable: z.array(z.string()).default([]),
  mask: z.array(z.string()).default([]),
});

const port = z.number().int().min(1).max(65535);

export const ContainerImageSchema = z.union([
  z.strictObject({
    packages: z.array(debianPackageName).min(1).describe('an image slipway builds from Debian packages'),
  }),
  z.strictObject({ archive: z.string().describe('an OCI archive file beside the recipe') }),
  z.strictObject({
    ref: z.string().describe('a registry reference pulled at boot'),
    plainHttp: z.boolean().default(false).describe('pull over plain HTTP (a registry without TLS)'),
  }),
]);

export const ContainerSchema = z.strictObject({
  name,
  image: ContainerImageSchema,
  command: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).default({}),
  ports: z
    .array(z.strictObject({ host: port, container: port, protocol: z.enum(['tcp', 'udp']).default('tcp') }))
    .default([]),
  mounts: z
    .array(z.strictObject({ source: absolutePath, target: absolutePath, readonly: z.boolean().default(false) }))
    .default([]),
  restart: z.enum(['always', 'on-failure', 'no']).default('always'),
});

export const DiskSchema = z.strictObject({
  espSize: size.prefault('64MiB'),
  slotSize: size.prefault('768MiB').describe('each of the two root slots, verity included'),
  dataSize: size.prefault('256MiB').describe('the data partition (/var) as built; it grows at first boot'),
});

/** Shared with the host config, which may set its own. */
export const RebootWindowSchema = z
  .string()
  .regex(WINDOW_PATTERN, 'expected a reboot window such as 02:00-04:00 (host local time)')
  .refine((text) => !isEmptyWindow(text), 'a reboot window must end at another time than it starts');

export const UpdateSchema = z.strictObject({
  url: z.url().describe('the TUF repository the host updates from'),
  channel: z.string().default('stable'),
  trustedRoot: z.string().optional().describe("the repository's root.json, beside the recipe"),
  rebootWindow: RebootWindowSchema.optional().describe('apply --reboot outside it reboots at a random moment of the next window'),
});

export const RecipeSchema = z.strictObject({
  name,
  version: quoted('1.0.0').regex(/^[0-9][A-Za-z0-9.+~-]*$/, 'expected a version such as "1.0.0"'),
  architecture: z.literal('amd64').default('amd64'),
  distribution: DistributionSchema.prefault({}),
  kernel: KernelSchema.prefault({}),
  packages: z.array(debianPackageName).default([]),
  exclude: z
    .array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'expected a Debian package name'))
    .default([])
    .describe('packages never unpacked, even when others depend on them; the build refuses one that a kept program still needs'),
  remove: z
    .array(z.string().regex(/^\/(?!.*(^|\/)\.\.?(\/|$))[^\n\0]+$/, 'expected an absolute path glob without . or .. parts, such as /usr/share/zoneinfo/right/**'))
    .default([])
    .describe('path globs (* within a name, ** across folders) left out of the root; the build refuses one that a kept program still needs'),
  keep: z
    .strictObject({ docs: z.boolean().default(false), locales: z.array(z.string()).default([]) })
    .prefault({}),
  files: z.array(FileSchema).default([]),
  users: z.array(UserSchema).default([]),
  units: z.array(UnitSchema).default([]),
  services: ServicesSchema.prefault({}),
  containers: z.array(ContainerSchema).default([]),
  disk: DiskSchema.prefault({}),
  update: UpdateSchema.optional(),
  health: z
    .strictObject({
      timeoutSeconds: z.number().int().min(5).max(3600).default(120).describe('how long containers may take to be running before the boot counts as failed'),
    })
    .prefault({}),
  debug: z
    .strictObject({ shell: z.boolean().default(false).describe('a root shell on a virtio console, for tests; never in production') })
    .prefault({}),
});

export type Recipe = z.output<typeof RecipeSchema>;
export type RecipeInput = z.input<typeof RecipeSchema>;
export type Distribution = Recipe['distribution'];
export type Container = Recipe['containers'][number];

/** The recipe format as JSON Schema, for editors that complete YAML. */
export function recipeJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(RecipeSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
