/**
 * The recipe: everything a host image is made of. Strict throughout: an unknown key is an error,
 * so a typo never silently drops a setting.
 */
import { z } from 'zod';
import { besidePath, imagePath, passwdPath, sshPublicKey, unique, unitFileName } from '../shared/paths.ts';
import { formatSize, parseSize } from './size.ts';
import { MAX_ID, USER_SPEC } from './container-user.ts';
import { isEmptyWindow, WINDOW_PATTERN } from '../shared/reboot-window.ts';
import { PLATFORMS } from '../shared/platform.ts';

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

/** Named sets of drivers for real machines (src/assemble/kernel.ts lists what each holds). */
export const MODULE_SETS = ['storage', 'network'] as const;
export type ModuleSet = (typeof MODULE_SETS)[number];

export const KernelSchema = z.strictObject({
  package: debianPackageName.default('linux-image-amd64'),
  modules: z.array(z.string()).default([]).describe('kernel modules beyond the ones every host needs'),
  moduleSets: z
    .array(z.enum(MODULE_SETS))
    .default([])
    .describe("drivers for real machines, by set: storage (NVMe, SATA, SAS and RAID controllers, USB disks, md; the initrd loads them to find the root) and network (Intel, Mellanox, Broadcom and Realtek NICs). Modules the kernel lacks are skipped: the cloud kernel drives only virtual hardware"),
  cmdline: z.array(z.string()).default(['console=ttyS0']),
});

export const FileSchema = z
  .strictObject({
    path: imagePath,
    mode: fileMode.optional(),
    owner: owner.default('root:root'),
    content: z.string().optional(),
    base64: z.string().optional(),
    source: besidePath.optional().describe('a file inside the recipe\'s folder'),
  })
  .refine((file) => [file.content, file.base64, file.source].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of content, base64 or source',
  });

export const UserSchema = z.strictObject({
  name: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'expected a user name'),
  uid: z.number().int().min(1000).max(59999).optional(),
  groups: z.array(z.string()).default([]),
  shell: passwdPath.default('/bin/bash'),
  home: passwdPath.optional(),
  sshAuthorizedKeys: z.array(sshPublicKey).default([]),
});

export const UnitSchema = z.strictObject({
  name: unitFileName,
  content: z.string(),
  enable: z.boolean().default(true),
});

export const ServicesSchema = z.strictObject({
  enable: z.array(unitFileName).default([]),
  disable: z.array(unitFileName).default([]),
  mask: z.array(unitFileName).default([]),
});

const port = z.number().int().min(1).max(65535);

/** A process's arguments and environment cannot hold a NUL; anything else is quoted where it is written. */
const noNul = z.string().regex(/^[^\u0000]*$/, 'expected text without NUL characters');

export const ContainerImageSchema = z.union([
  z.strictObject({
    packages: z.array(debianPackageName).min(1).describe('an image slipway builds from Debian packages'),
  }),
  z.strictObject({ archive: besidePath.describe('an OCI archive file inside the recipe\'s folder') }),
  z.strictObject({
    ref: z.string().regex(/^[^\s\u0000-\u001f\u007f]+$/, 'expected a registry reference such as registry.example/app:1, without spaces or control characters').describe('a registry reference pulled at boot'),
    plainHttp: z.boolean().default(false).describe('pull over plain HTTP (a registry without TLS)'),
  }),
]);

export const ContainerSchema = z.strictObject({
  name,
  image: ContainerImageSchema,
  command: z.array(noNul).optional(),
  env: z
    .record(z.string(), noNul)
    .superRefine((env, ctx) => {
      for (const key of Object.keys(env)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'expected an environment variable name such as APP_MODE' });
      }
    })
    .default({}),
  ports: z
    .array(z.strictObject({ host: port, container: port, protocol: z.enum(['tcp', 'udp']).default('tcp') }))
    .default([]),
  mounts: z
    .array(z.strictObject({ source: imagePath, target: imagePath, readonly: z.boolean().default(false) }))
    .default([]),
  restart: z.enum(['always', 'on-failure', 'no']).default('always'),
  readOnly: z.boolean().default(false).describe("the container's root file system read-only (mounts stay as they say)"),
  memory: size.refine((bytes) => bytes >= 4 * 1024 ** 2, 'expected at least 4MiB').optional().describe('memory limit (cgroup memory.max): the kernel kills the container past it'),
  cpus: z.number().positive().max(1024).optional().describe('CPU limit in CPUs (cgroup cpu.max), such as 0.5'),
  user: z
    .string()
    .regex(USER_SPEC, { message: 'expected NAME, UID, NAME:GROUP or UID:GID, such as nobody or 1000:1000', abort: true })
    .refine((spec) => spec.split(':').every((part) => !/^\d+$/.test(part) || Number(part) <= MAX_ID), `expected ids up to ${MAX_ID}`)
    .optional()
    .describe("the user the container's process runs as, looked up in its /etc/passwd and /etc/group (as a Dockerfile's USER); not root, it keeps no capabilities. Root when unset"),
});

const MiB = 1024 ** 2;

/** Checked before any work: an 8000 TiB /var once ran mkfs.ext4 for minutes before it failed. */
function sizeBetween(min: number, max: number) {
  return size.refine((bytes) => bytes >= min && bytes <= max, `expected a size from ${formatSize(min)} to ${formatSize(max)}`);
}

export const DiskSchema = z.strictObject({
  espSize: sizeBetween(32 * MiB, 4096 * MiB).prefault('64MiB').describe('the EFI system partition, which holds a UKI per slot'),
  slotSize: sizeBetween(16 * MiB, 64 * 1024 * MiB).prefault('768MiB').describe('each of the two root slots, verity included'),
  dataSize: sizeBetween(16 * MiB, 1024 * 1024 * MiB).prefault('256MiB').describe('the data partition (/var) as built; it grows at first boot'),
  encryption: z
    .enum(['none', 'tpm2'])
    .default('none')
    .describe("tpm2: the first boot makes /var LUKS2, its key sealed to the machine's TPM, its Secure Boot state and the image's signing key (needs secureBoot keys)"),
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
  supplier: z
    .string()
    .regex(/^(Person|Organization): \S.{0,200}$/, 'expected "Organization: NAME" or "Person: NAME", as SPDX writes a supplier (an email may follow in parentheses)')
    .optional()
    .describe('who supplies the image, for its SBOM: "Organization: NAME (EMAIL)" or "Person: NAME"'),
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
  files: z.array(FileSchema).superRefine(unique((file) => file.path)).default([]),
  users: z.array(UserSchema).superRefine(unique((user) => user.name)).default([]),
  units: z.array(UnitSchema).superRefine(unique((unit) => unit.name)).default([]),
  services: ServicesSchema.prefault({}),
  containers: z.array(ContainerSchema).superRefine(unique((container) => container.name)).default([]),
  disk: DiskSchema.prefault({}),
  update: UpdateSchema.optional(),
  netboot: z
    .strictObject({
      url: z
        .string()
        .regex(/^http:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%!$&'()*+,;=:@\/-]*)?$/, 'expected an http:// URL of the folder that serves the build, such as http://192.0.2.10/images/ (dm-verity checks what it serves, so no TLS is needed)')
        .describe("where `build --format netboot`'s UKI fetches the root and its verity data: the folder that serves the build's outputs"),
    })
    .optional()
    .describe('boot over the network: the netboot UKI fetches the root into memory and runs live, /var in memory'),
  platform: z
    .union([
      z.enum(PLATFORMS),
      z.strictObject({
        name: z.enum(PLATFORMS),
        configUrl: z
          .string()
          .regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%!$&'()*+,;=:@\/-]*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@\/?-]*)?$/, 'expected an http:// or https:// URL, such as https://config.example.com/hosts/web.yaml')
          .optional()
          .describe('metal: where the first boot fetches its host config (the kernel command line\'s slipway.config.url= can give one too)'),
        configSha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the sha256 of the config, 64 lower-case hex digits').optional().describe('the config must have this sha256 (give it for an http:// URL)'),
      }),
    ])
    .default('auto')
    .transform((platform) => (typeof platform === 'string' ? { name: platform } : platform))
    .refine((platform) => platform.configUrl === undefined || platform.name === 'metal', { message: 'configUrl goes with name: metal; the other platforms hand over their own user data' })
    .refine((platform) => platform.configSha256 === undefined || platform.configUrl !== undefined, { message: 'configSha256 pins the config at configUrl: give both' })
    .refine((platform) => !/^http:/i.test(platform.configUrl ?? '') || platform.configSha256 !== undefined, { message: 'a plain http:// configUrl needs configSha256: what it serves can be changed on the way' })
    .describe('where the first boot looks for its host config: auto (found at boot), qemu, metal, aws, gcp, openstack or nocloud; see "Platforms" in the README'),
  secureBoot: z
    .strictObject({
      keys: z.string().min(1).describe("the folder 'slipway keygen --secure-boot' made, beside the recipe: its db key signs systemd-boot and the UKI"),
    })
    .optional()
    .describe('sign the image for Secure Boot with your own keys; machines in setup mode enroll them at first boot'),
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
