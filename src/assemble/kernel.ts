/**
 * The kernel: vmlinuz out of the tree (it travels in the UKI), and only the modules the image needs,
 * with their dependencies read from each module's .modinfo.
 */
import { readdirSync } from 'node:fs';
import { posix } from 'node:path';
import { BuildError } from '../errors.ts';
import { runTool } from '../tools.ts';
import { modinfo } from './elf.ts';
import type { Tree } from './tree.ts';

/** What every slipway host needs: virtio devices, the verified root, /var, containers and their networks, fw_cfg. */
export const HOST_MODULES = [
  'virtio_pci', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng', 'virtio_scsi',
  'dm_mod', 'dm_verity', 'squashfs', 'overlay', 'qemu_fw_cfg', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1', 'efivarfs',
  'button', 'evdev', // the ACPI power button, which systemd-logind turns into a clean poweroff
  'autofs4', // systemd's automount of the ESP at /boot, where systemd-bless-boot finds the boot entry
  'bridge', 'br_netfilter', 'veth', 'nf_tables', 'nft_compat', 'nft_chain_nat', 'nft_masq', 'nft_nat', 'nft_ct',
  'nf_nat', 'nf_conntrack', 'xt_conntrack', 'xt_MASQUERADE', 'xt_addrtype', 'xt_comment', 'xt_mark', 'xt_nat',
  'xt_tcpudp', 'xt_multiport', 'xt_REDIRECT', 'nft_redir', 'ip_tables', 'iptable_nat', 'iptable_filter', 'ip6_tables', 'ip6table_nat', 'ip6table_filter',
];

/** The modules the initrd loads before it can see and verify the root. */
export const INITRD_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_scsi', 'dm_mod', 'dm_verity', 'squashfs', 'overlay'];

/** The modules the initrd loads at first boot only, to find a host config: fw_cfg, the ESP, a config drive. */
export const PROVISION_MODULES = ['qemu_fw_cfg', 'vfat', 'nls_cp437', 'nls_ascii', 'nls_iso8859_1', 'nls_utf8', 'isofs'];

export interface KernelInfo {
  version: string;
  /** Path of vmlinuz on the build host (in the staging tree's side folder). */
  vmlinuz: Buffer;
  /** Module name → path below usr/lib/modules/VERSION/. */
  modules: Map<string, string>;
  dependencies: Map<string, string[]>;
  builtin: Set<string>;
}

export function moduleName(file: string): string {
  return posix.basename(file).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_');
}

export function findKernel(tree: Tree, kernelPackage: string): KernelInfo {
  const moduleRoots = tree.list('usr/lib/modules');
  const vmlinuz = tree.list('boot').filter((p) => /\/vmlinuz-/.test(p));
  if (vmlinuz.length !== 1 || moduleRoots.length !== 1) {
    throw new BuildError(
      `kernel.package ${kernelPackage} does not provide exactly one kernel (found ${vmlinuz.length} vmlinuz and ${moduleRoots.length} module trees)`,
      'name a Debian kernel image package such as linux-image-cloud-amd64',
    );
  }
  const version = posix.basename(moduleRoots[0]!);
  const root = `usr/lib/modules/${version}`;
  const modules = new Map<string, string>();
  const dependencies = new Map<string, string[]>();
  for (const path of tree.walk(`${root}/kernel`)) {
    if (!/\.ko$/.test(path)) continue;
    const name = moduleName(path);
    modules.set(name, path.slice(root.length + 1));
    const depends = modinfo(tree.read(path)).get('depends')?.[0] ?? '';
    dependencies.set(name, depends.split(',').filter(Boolean).map((d) => d.replace(/-/g, '_')));
  }
  const builtin = new Set<string>();
  if (tree.has(`${root}/modules.builtin`)) {
    for (const line of tree.readText(`${root}/modules.builtin`).split('\n')) if (line.trim()) builtin.add(moduleName(line.trim()));
  }
  return { version, vmlinuz: tree.read(vmlinuz[0]!), modules, dependencies, builtin };
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
    for (const dep of kernel.dependencies.get(name) ?? []) visit(dep, name);
    order.push(name);
  };
  for (const name of wanted) visit(name, strict.includes(name) ? 'recipe' : 'host');
  return order;
}

/** Keeps only the chosen modules in the tree and writes their indexes with depmod. */
export async function trimModules(tree: Tree, kernel: KernelInfo, keep: readonly string[]): Promise<void> {
  const root = `usr/lib/modules/${kernel.version}`;
  const keepPaths = new Set(keep.map((name) => `${root}/${kernel.modules.get(name)}`));
  for (const path of tree.walk(`${root}/kernel`)) {
    if (tree.get(path)?.type === 'file' && !keepPaths.has(path)) tree.remove(path);
  }
  // Folders left empty go too, deepest first.
  for (const path of tree.walk(`${root}/kernel`).reverse()) {
    if (tree.get(path)?.type === 'directory' && tree.list(path).length === 0) tree.remove(path);
  }
  for (const path of tree.list('boot')) tree.remove(path);
  await runTool('depmod', ['--basedir', tree.root, kernel.version]);
  // depmod wrote modules.dep, modules.alias and their .bin indexes beside what was there.
  for (const name of readdirSync(tree.hostPath(root))) {
    const path = `${root}/${name}`;
    if (!tree.has(path)) tree.record(path, { type: 'file', mode: 0o644, uid: 0, gid: 0, origin: 'depmod' });
  }
}
