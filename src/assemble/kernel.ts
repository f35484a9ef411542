/**
 * The kernel: vmlinuz out of the tree (it travels in the UKI), and only the modules the image needs,
 * with their dependencies read from each module's .modinfo.
 */
import { readdirSync } from 'node:fs';
import { posix } from 'node:path';
import { BuildError } from '../errors.ts';
import { runTool } from '../tools.ts';
import { modinfo } from './elf.ts';
import type { ModuleSet } from '../recipe/schema.ts';
import type { Tree } from './tree.ts';
import { unpackDataTar, type FileDiversion } from './unpack.ts';

/** ext4 for /var, and the crc32c it checksums metadata with: a soft dependency modinfo does not list. */
const VAR_MODULES = ['crc32c_generic', 'ext4'];

/**
 * What every slipway host needs: virtio devices, the verified root, /var, containers and their
 * networks, fw_cfg. A module a kernel has built in (the cloud kernel's ext4, say) is skipped.
 */
export const HOST_MODULES = [
  'virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng', 'virtio_scsi',
  'dm_mod', 'dm_verity', 'squashfs', 'overlay', ...VAR_MODULES, 'qemu_fw_cfg', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1', 'efivarfs',
  'button', 'evdev', // the ACPI power button, which systemd-logind turns into a clean poweroff
  'autofs4', // systemd's automount of the ESP at /boot, where systemd-bless-boot finds the boot entry
  'bridge', 'br_netfilter', 'veth', 'nf_tables', 'nft_compat', 'nft_chain_nat', 'nft_masq', 'nft_nat', 'nft_ct',
  'nf_nat', 'nf_conntrack', 'xt_conntrack', 'xt_MASQUERADE', 'xt_addrtype', 'xt_comment', 'xt_mark', 'xt_nat',
  'xt_tcpudp', 'xt_multiport', 'xt_REDIRECT', 'nft_redir', 'ip_tables', 'iptable_nat', 'iptable_filter', 'ip6_tables', 'ip6table_nat', 'ip6table_filter',
];

/** The modules the initrd loads before it can see and verify the root and mount /var. */
export const INITRD_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_scsi', 'dm_mod', 'dm_verity', 'squashfs', 'overlay', ...VAR_MODULES];

/**
 * What the initrd adds when /var is sealed: dm-crypt with AES-XTS (AES itself is built in, and the
 * AES-NI module would not load on a CPU without it), the kernel crypto API cryptsetup checks the
 * cipher through, and efivarfs, where it reads the Secure Boot state and the boot entry.
 */
export const SEALED_VAR_MODULES = ['dm_crypt', 'xts', 'ecb', 'af_alg', 'algif_skcipher', 'efivarfs'];

/** Controllers a root disk can sit behind on a server, which the initrd loads to find it. */
const DISK_CONTROLLERS = [
  'nvme', 'ahci', 'sd_mod', // NVMe, SATA and the SCSI disks SATA, SAS and USB disks show as
  'megaraid_sas', 'mpt3sas', 'smartpqi', 'hpsa', // SAS HBAs and RAID controllers (Broadcom, Microchip, HPE)
  'xhci_pci', 'ehci_pci', 'usb_storage', 'uas', // USB sticks and disks
];

/**
 * The drivers behind a recipe's `kernel.moduleSets`: what the root keeps (udev loads a driver when
 * its hardware shows up) and what the initrd loads before it looks for the root.
 */
export const MODULE_SET_MODULES: Record<ModuleSet, { root: readonly string[]; initrd: readonly string[] }> = {
  storage: { root: [...DISK_CONTROLLERS, 'sr_mod', 'md_mod', 'raid0', 'raid1', 'raid10', 'raid456', 'dm_mirror', 'dm_raid'], initrd: DISK_CONTROLLERS },
  network: { root: ['e1000e', 'e1000', 'igb', 'ixgbe', 'i40e', 'ice', 'mlx5_core', 'bnxt_en', 'tg3', 'r8169'], initrd: [] },
};

/** What a netboot initrd adds: virtio's NIC (a set adds servers' NICs) and loop devices for the fetched root. */
export const NETBOOT_MODULES = ['virtio_net', 'loop'];

/**
 * What the initrd loads when it boots from the installer ISO, to find the medium: a CD (SATA or
 * USB) or a USB stick, ISO 9660, and loop devices for the root and verity files on it.
 */
export const LIVE_MODULES = ['ahci', 'sr_mod', 'isofs', 'sd_mod', 'xhci_pci', 'ehci_pci', 'usb_storage', 'uas', 'loop'];

/**
 * The NICs a first boot brings up when the platform keeps the host config behind the network (a
 * metadata service, a URL): virtio's (QEMU, GCE, OpenStack), EC2's ENA and Google's gVNIC. The
 * `network` module set adds servers' NICs.
 */
export const PLATFORM_NIC_MODULES = ['virtio_net', 'ena', 'gve'];

/**
 * The modules the initrd loads at first boot only, to find a host config: fw_cfg, the ESP, a config
 * drive, which OpenStack and cloud-init's tools often attach as a CD (IDE or SATA).
 */
export const PROVISION_MODULES = ['qemu_fw_cfg', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1', 'nls_utf8', 'isofs', 'ata_piix', 'ahci', 'sr_mod'];

/** What a cloud's root disk can be besides virtio-blk: NVMe (EC2's Nitro instances, GCE) and SCSI disks (GCE's virtio-SCSI). */
export const CLOUD_DISK_MODULES = ['nvme', 'sd_mod'];

export interface KernelInfo {
  version: string;
  /** Path of vmlinuz on the build host (in the staging tree's side folder). */
  vmlinuz: Buffer;
  /** Module name → path below usr/lib/modules/VERSION/. */
  modules: Map<string, string>;
  /** The modules a module's .modinfo says it depends on, read when first asked. */
  dependsOn: (name: string) => string[];
  builtin: Set<string>;
}

export function moduleName(file: string): string {
  return posix.basename(file).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_');
}

const MODULE_FILE = /^usr\/lib\/modules\/[^/]+\/kernel\/.+\.ko$/;

function dependsField(bytes: Buffer): string[] {
  const depends = modinfo(bytes).get('depends')?.[0] ?? '';
  return depends.split(',').filter(Boolean).map((d) => d.replace(/-/g, '_'));
}

/**
 * Module files held back while the root is unpacked: their dependencies are read as they stream
 * past, and only the modules the image keeps are written, from a second read of their package
 * (findKernel, trimModules). The generic kernel has 4,000: writing them all and removing most took
 * 3 s of a cold build.
 */
export class HeldModules {
  private readonly held = new Map<string, { tar: string; origin: string; depends: string[] }>();

  /** For unpackDataTar: takes a module file of the package in `tar` aside. */
  divert(tar: string, origin: string): FileDiversion {
    return {
      wants: (path) => MODULE_FILE.test(path),
      take: (path, content) => {
        this.held.set(path, { tar, origin, depends: dependsField(content) });
      },
    };
  }

  paths(): string[] {
    return [...this.held.keys()];
  }

  depends(path: string): string[] | undefined {
    return this.held.get(path)?.depends;
  }

  /** Writes the held modules at `paths` into the tree, reading each package once. */
  async write(tree: Tree, paths: ReadonlySet<string>): Promise<void> {
    const byTar = new Map<string, { origin: string; paths: Set<string> }>();
    for (const path of paths) {
      const module = this.held.get(path);
      if (!module) continue;
      const group = byTar.get(module.tar) ?? { origin: module.origin, paths: new Set<string>() };
      group.paths.add(path);
      byTar.set(module.tar, group);
    }
    for (const [tar, group] of byTar) await unpackDataTar(tree, tar, group.origin, (path) => group.paths.has(path));
  }
}

export function findKernel(tree: Tree, kernelPackage: string, held?: HeldModules): KernelInfo {
  const moduleRoots = tree.list('usr/lib/modules');
  const vmlinuz = tree.list('boot').filter((p) => /\/vmlinuz-/.test(p));
  if (vmlinuz.length !== 1 || moduleRoots.length !== 1) {
    throw new BuildError(
      `kernel.package ${kernelPackage} does not provide exactly one kernel (found ${vmlinuz.length} vmlinuz and ${moduleRoots.length} module trees)`,
      'name a Debian kernel image package such as linux-image-amd64',
    );
  }
  const version = posix.basename(moduleRoots[0]!);
  const root = `usr/lib/modules/${version}`;
  const modules = new Map<string, string>();
  const found = [...tree.walk(`${root}/kernel`), ...(held?.paths() ?? []).filter((path) => path.startsWith(`${root}/`))];
  for (const path of found) {
    if (/\.ko$/.test(path)) modules.set(moduleName(path), path.slice(root.length + 1));
  }
  // Only the modules an image keeps are read: the generic kernel has 4,000, 1 s to read them all.
  const dependencies = new Map<string, string[]>();
  const dependsOn = (name: string): string[] => {
    if (!dependencies.has(name)) {
      const path = `${root}/${modules.get(name)!}`;
      dependencies.set(name, held?.depends(path) ?? dependsField(tree.read(path)));
    }
    return dependencies.get(name)!;
  };
  const builtin = new Set<string>();
  if (tree.has(`${root}/modules.builtin`)) {
    for (const line of tree.readText(`${root}/modules.builtin`).split('\n')) if (line.trim()) builtin.add(moduleName(line.trim()));
  }
  return { version, vmlinuz: tree.read(vmlinuz[0]!), modules, dependsOn, builtin };
}

/** The modules and everything they depend on, in load order (dependencies first). */
export function moduleClosure(kernel: KernelInfo, wanted: readonly string[], strict: readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, from: string) => {
    const name = raw.replace(/-/g, '_');
    if (seen.has(name) || kernel.builtin.has(name)) return;
    if (!kernel.modules.has(name)) {
      if (strict.includes(raw)) {
        throw new BuildError(`kernel.modules: unknown module "${raw}" in kernel ${kernel.version}`, 'check the name with modinfo, or drop it if the kernel has it built in');
      }
      if (from !== 'host') throw new BuildError(`module ${from} depends on ${name}, which kernel ${kernel.version} lacks`, 'the kernel package is incomplete');
      return;
    }
    seen.add(name);
    for (const dep of kernel.dependsOn(name)) visit(dep, name);
    order.push(name);
  };
  for (const name of wanted) visit(name, strict.includes(name) ? 'recipe' : 'host');
  return order;
}

/** Keeps only the chosen modules in the tree and writes their indexes with depmod (/boot stays). */
export async function trimModules(tree: Tree, kernel: KernelInfo, keep: readonly string[], held?: HeldModules): Promise<void> {
  const root = `usr/lib/modules/${kernel.version}`;
  const keepPaths = new Set(keep.map((name) => `${root}/${kernel.modules.get(name)}`));
  await held?.write(tree, keepPaths);
  for (const path of tree.walk(`${root}/kernel`)) {
    if (tree.get(path)?.type === 'file' && !keepPaths.has(path)) tree.remove(path);
  }
  // Folders left empty go too, deepest first, counting what is left in each.
  const below = tree.walk(`${root}/kernel`);
  const children = new Map<string, number>();
  const countIn = (dir: string, change: number) => children.set(dir, (children.get(dir) ?? 0) + change);
  for (const path of below) countIn(posix.dirname(path), 1);
  for (const path of below.reverse()) {
    if (tree.get(path)?.type !== 'directory' || children.get(path)) continue;
    tree.remove(path);
    countIn(posix.dirname(path), -1);
  }
  await runTool('depmod', ['--basedir', tree.root, kernel.version]);
  // depmod wrote modules.dep, modules.alias and their .bin indexes beside what was there.
  for (const name of readdirSync(tree.hostPath(root))) {
    const path = `${root}/${name}`;
    if (!tree.has(path)) tree.record(path, { type: 'file', mode: 0o644, uid: 0, gid: 0, origin: 'depmod' });
  }
}
