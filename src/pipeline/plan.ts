/**
 * The image plan: everything a build will do, as plain data, computed from the recipe and its
 * lockfile without touching the disk. `slipway build --dry-run` prints it.
 */
import { join } from 'node:path';
import { HOST_SET, INITRD_SET, containerSetName, type LockedPackage, type Lockfile } from '../assemble/lock.ts';
import { excludedPackages, IMAGE_PROVIDES, IMAGE_REMOVALS } from '../assemble/leave-out.ts';
import { HOST_MODULES, INITRD_MODULES, LIVE_MODULES, MODULE_SET_MODULES, NETBOOT_MODULES, CLOUD_DISK_MODULES, PLATFORM_NIC_MODULES, PROVISION_MODULES, SEALED_VAR_MODULES } from '../assemble/kernel.ts';
import type { Recipe } from '../recipe/schema.ts';
import { installDataName, installMapName } from '../shared/install-map.ts';
import { splitSlot, verityLabel } from '../shared/layout.ts';
import { RecipeError } from '../errors.ts';
import type { ToolName } from '../tools.ts';
import { FORMATS, ISO_FORMAT, NETBOOT_FORMAT, isDiskFormat } from './formats.ts';

export const BUILD_TOOLS: ToolName[] = ['xz', 'depmod', 'mksquashfs', 'veritysetup', 'objcopy', 'mkfs.vfat', 'mmd', 'mcopy', 'mkfs.ext4', 'qemu-img'];

export interface ImagePlan {
  name: string;
  version: string;
  /** File names start with this: NAME_VERSION. */
  basename: string;
  outDir: string;
  formats: string[];
  sourceDateEpoch: number;
  /** `excluded`: packages something wanted that the image leaves out (fetched only to know their files). */
  packages: { host: LockedPackage[]; initrd: LockedPackage[]; containers: Record<string, LockedPackage[]>; excluded: LockedPackage[] };
  /** What the root leaves out: packages never chosen, virtual packages the image provides, path globs. */
  leaveOut: { packages: string[]; provided: string[]; paths: string[] };
  /**
   * liveModules: what the initrd loads only when it boots from the installer ISO (empty without one);
   * networkModules: only when a first boot reads its config over the network.
   */
  kernel: { package: string; modules: string[]; recipeModules: string[]; initrdModules: string[]; provisionModules: string[]; networkModules: string[]; liveModules: string[]; cmdline: string[] };
  rootfs: { type: 'squashfs'; compression: 'zstd' };
  /** encryption tpm2: /var is sealed at first boot (the initrd carries the tools, the UKI a signed PCR policy). */
  disk: { espSize: number; slotSize: number; rootPartition: number; verityPartition: number; dataSize: number; encryption: 'none' | 'tpm2' };
  artifacts: Record<string, string>;
  /** Who supplies the image, as SPDX writes it (the recipe's supplier), and the archive's codename: what the SBOM says. */
  sbom: { supplier: string; codename: string };
  /** Where the first boot reads its host config (`auto`: found at boot), and metal's config URL. */
  platform: Recipe['platform'];
  /** With netboot.url: where the netboot UKI fetches `BASENAME.root.squashfs` and `.root.verity` (the folder URL and the basename). */
  netboot?: { rootUrl: string };
}

export function sourceDateEpoch(lock: Lockfile): number {
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  if (fromEnv && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  return Math.floor(Date.parse(lock.distribution.releaseDate) / 1000);
}

/** A GPT partition name holds 36 UTF-16 characters. */
const GPT_NAME_LENGTH = 36;

export function planImage(recipe: Recipe, lock: Lockfile, options: { outDir: string; version?: string; formats: string[] }): ImagePlan {
  const version = options.version ?? recipe.version;
  const longest = verityLabel(recipe.name, version);
  if (longest.length > GPT_NAME_LENGTH) {
    throw new RecipeError(
      `name and version: a slot's partitions are named after them, and "${longest}" has ${longest.length} characters, more than the ${GPT_NAME_LENGTH} a GPT partition name holds`,
      `shorten the name or the version: the two together may have ${GPT_NAME_LENGTH - '__verity'.length} characters`,
    );
  }
  const basename = `${recipe.name}_${version}`;
  const { root, verity } = splitSlot(recipe.disk.slotSize);
  const sealedModules = recipe.disk.encryption === 'tpm2' ? SEALED_VAR_MODULES : [];
  const netbootModules = recipe.netboot ? NETBOOT_MODULES : [];
  const liveModules = options.formats.includes(ISO_FORMAT) ? LIVE_MODULES : [];
  if (options.formats.includes(NETBOOT_FORMAT) && !recipe.netboot) {
    throw new RecipeError('--format netboot: the recipe has no netboot.url, where the netboot UKI would fetch its root', 'add netboot: { url: http://SERVER/PATH/ } to the recipe: the folder that will serve this build\'s outputs');
  }
  if (recipe.netboot && recipe.disk.encryption === 'tpm2') {
    throw new RecipeError('netboot and disk.encryption: tpm2 do not go together: a host booted over the network keeps /var in memory, with nothing to seal', 'drop one of them');
  }
  const sets = recipe.kernel.moduleSets;
  const networkModules = [...PLATFORM_NIC_MODULES, ...(sets.includes('network') ? MODULE_SET_MODULES.network.root : [])];
  return {
    name: recipe.name,
    version,
    basename,
    outDir: options.outDir,
    formats: options.formats,
    sourceDateEpoch: sourceDateEpoch(lock),
    packages: {
      host: lock.sets[HOST_SET] ?? [],
      initrd: lock.sets[INITRD_SET] ?? [],
      containers: Object.fromEntries(recipe.containers.map((c) => [c.name, lock.sets[containerSetName(c.name)] ?? []])),
      excluded: lock.excluded?.[HOST_SET] ?? [],
    },
    leaveOut: {
      packages: excludedPackages(recipe.exclude),
      provided: IMAGE_PROVIDES.map((p) => p.name),
      paths: [...IMAGE_REMOVALS.map((r) => `/${r.name}`), ...recipe.remove],
    },
    kernel: {
      package: recipe.kernel.package,
      modules: [...new Set([...HOST_MODULES, ...PROVISION_MODULES, ...sealedModules, ...netbootModules, ...liveModules, ...networkModules, ...CLOUD_DISK_MODULES, ...sets.flatMap((set) => MODULE_SET_MODULES[set].root), ...recipe.kernel.modules])],
      recipeModules: recipe.kernel.modules,
      initrdModules: [
        ...new Set([
          ...INITRD_MODULES, ...sealedModules, ...sets.flatMap((set) => MODULE_SET_MODULES[set].initrd),
          // A cloud's disk may be NVMe: an image for any platform but QEMU finds its root there too.
          ...(recipe.platform.name === 'qemu' ? [] : CLOUD_DISK_MODULES),
          // Booting over the network, the initrd needs the NICs the root has drivers for.
          ...(recipe.netboot ? [...netbootModules, ...(sets.includes('network') ? MODULE_SET_MODULES.network.root : [])] : []),
        ]),
      ],
      provisionModules: PROVISION_MODULES,
      networkModules,
      liveModules,
      cmdline: recipe.kernel.cmdline,
    },
    rootfs: { type: 'squashfs', compression: 'zstd' },
    disk: { espSize: recipe.disk.espSize, slotSize: recipe.disk.slotSize, rootPartition: root, verityPartition: verity, dataSize: recipe.disk.dataSize, encryption: recipe.disk.encryption },
    sbom: { supplier: recipe.supplier ?? 'NOASSERTION', codename: lock.distribution.codename },
    platform: recipe.platform,
    ...(recipe.netboot ? { netboot: { rootUrl: `${recipe.netboot.url.replace(/\/*$/, '/')}${basename}` } } : {}),
    artifacts: {
      ...Object.fromEntries(options.formats.filter(isDiskFormat).map((f) => [f, `${basename}.${FORMATS[f]!.extension}`])),
      // A netbooted host installs from the served folder as the ISO's does from its medium.
      ...(options.formats.includes(NETBOOT_FORMAT) ? { netboot: `${basename}.netboot.efi`, installMap: installMapName(basename), installData: installDataName(basename) } : {}),
      ...(options.formats.includes(ISO_FORMAT) ? { iso: `${basename}.iso` } : {}),
      root: `${basename}.root.squashfs`,
      verity: `${basename}.root.verity`,
      uki: `${basename}.efi`,
      manifest: `${basename}.manifest.json`,
      sbom: `${basename}.spdx.json`,
    },
  };
}

export function artifactPath(plan: ImagePlan, dir: string, artifact: string): string {
  return join(dir, plan.artifacts[artifact]!);
}

export function kernelCommandLine(plan: ImagePlan, rootHash: string): string {
  // panic=10: a host that panics reboots, so boot counting can fall back to the other slot.
  // transparent_hugepage=never: with THP on (always or madvise), khugepaged raises min_free_kbytes
  // to 44 MiB and the watermarks with it, which on a 1 GiB host kept 130 MiB from MemAvailable;
  // with always, Go's heaps also took 28 MiB of huge pages for 15 MiB of use. A recipe's
  // kernel.cmdline comes after, so `transparent_hugepage=madvise` there turns them back on.
  return [`roothash=${rootHash}`, 'ro', 'panic=10', 'transparent_hugepage=never', ...platformArguments(plan.platform), ...plan.kernel.cmdline].join(' ');
}

/** Where the first boot reads its config (runtime/initrd/platform.sh): `auto` finds it at boot, and says nothing here. */
function platformArguments(platform: ImagePlan['platform']): string[] {
  return [
    ...(platform.name === 'auto' ? [] : [`slipway.platform=${platform.name}`]),
    ...(platform.configUrl ? [`slipway.config.url=${platform.configUrl}`] : []),
    ...(platform.configSha256 ? [`slipway.config.sha256=${platform.configSha256}`] : []),
  ];
}

/**
 * The installer ISO's UKI: the disk's, the name of the root on the medium (runtime/initrd/live.sh),
 * and the sha256 of the install map, which holds the sha256 of everything an install writes.
 */
export function liveCommandLine(plan: ImagePlan, rootHash: string, installMap: string): string {
  return `${kernelCommandLine(plan, rootHash)} slipway.live=${plan.basename} slipway.install.map=${installMap}`;
}

/** The netboot UKI's: the disk's, where to fetch the root (runtime/initrd/netboot.sh), and the install map's sha256. */
export function netbootCommandLine(plan: ImagePlan, rootHash: string, installMap: string): string {
  return `${kernelCommandLine(plan, rootHash)} slipway.netboot=${plan.netboot!.rootUrl} slipway.install.map=${installMap}`;
}
