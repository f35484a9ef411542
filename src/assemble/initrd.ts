/**
 * The initrd: busybox for the shell and its applets, dmsetup, sfdisk, blkid and the ext4 tools from
 * their own package set, each with the libraries it links (read from ELF), the few modules needed
 * to reach the root, and runtime/initrd/init with the scripts it sources. dmsetup opens the root
 * from a verity table the init script reads off the superblock (runtime/initrd/verity.sh), which
 * keeps veritysetup's libcryptsetup and libcrypto (5 of the 17 MB it took) out of every boot.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { BuildError } from '../errors.ts';
import { runTool } from '../tools.ts';
import type { ContentCache } from './cache.ts';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { interpreter, neededLibraries } from './elf.ts';
import type { KernelInfo } from './kernel.ts';
import type { Tree } from './tree.ts';

export const INITRD_PACKAGES = ['busybox-static', 'dmsetup', 'fdisk', 'e2fsprogs', 'util-linux'];

/**
 * The TPM software stack systemd loads when it needs it (dlopen, so no package depends on it): the
 * initrd's systemd tools use it to seal and unseal /var's key, and the root's systemd-pcrphase to
 * measure the boot's later phases into PCR 11.
 */
export const TPM_LIBRARY_PACKAGES = ['libtss2-esys-3.0.2-0', 'libtss2-rc0', 'libtss2-mu0', 'libtss2-tcti-device0'];

/** What a sealed /var adds: systemd's LUKS and TPM tools, and cryptsetup to format. */
export const SEALED_VAR_PACKAGES = ['systemd', 'cryptsetup-bin', ...TPM_LIBRARY_PACKAGES];

// blkid: busybox's is left out of Debian's build; it finds a config drive by its label.
const PROGRAMS = ['usr/bin/busybox', 'usr/sbin/dmsetup', 'usr/sbin/sfdisk', 'usr/sbin/e2fsck', 'usr/sbin/resize2fs', 'usr/sbin/blkid'];
const LIBRARY_DIRS = ['usr/lib/x86_64-linux-gnu', 'usr/lib64', 'usr/lib', 'usr/lib/x86_64-linux-gnu/systemd'];

/** With a sealed /var: the programs, and the libraries they open by name at run time. */
const SEALED_VAR_PROGRAMS = ['usr/lib/systemd/systemd-cryptsetup', 'usr/bin/systemd-cryptenroll', 'usr/lib/systemd/systemd-pcrphase', 'usr/sbin/cryptsetup', 'usr/sbin/mke2fs'];
const SEALED_VAR_LIBRARIES = [
  'libtss2-esys.so.0', 'libtss2-rc.so.0', 'libtss2-mu.so.0', 'libtss2-tcti-device.so.0', 'libcryptsetup.so.12',
  // systemd-cryptsetup unlocks a systemd-tpm2 token through libcryptsetup's token plugin.
  'cryptsetup/libcryptsetup-token-systemd-tpm2.so',
];
const RUNTIME = new URL('../../runtime/initrd/', import.meta.url);
/** The scripts init sources, installed as /usr/lib/slipway/NAME. */
const SOURCED_SCRIPTS = ['verity.sh', 'provision.sh', 'network.sh', 'platform.sh', 'netboot.sh', 'live.sh'];
/** Programs init's tools run by path: udhcpc's lease handler. */
const RUN_SCRIPTS = ['udhcpc.script'];
const SEALED_VAR_SCRIPT = 'sealed-var.sh';

class InitrdContents {
  readonly entries = new Map<string, CpioEntry>();

  constructor(private readonly tree: Tree) {}

  dir(path: string): void {
    if (path === '.' || path === '' || this.entries.has(path)) return;
    this.dir(posix.dirname(path));
    this.entries.set(path, { path, type: 'directory', mode: 0o755 });
  }

  file(path: string, data: Buffer, mode: number): void {
    this.dir(posix.dirname(path));
    this.entries.set(path, { path, type: 'file', mode, data });
  }

  symlink(path: string, target: string): void {
    this.dir(posix.dirname(path));
    this.entries.set(path, { path, type: 'symlink', mode: 0o777, target });
  }

  /** Copies a path from the tree, following symlinks inside it, and returns the file it ends at. */
  copy(path: string): string {
    let current = path;
    for (let hops = 0; hops < 10; hops++) {
      const entry = this.tree.get(current);
      if (!entry) throw new BuildError(`the initrd needs /${current}, which its packages do not provide`, `check the initrd package set (${INITRD_PACKAGES.join(', ')})`);
      if (entry.type !== 'symlink') {
        if (!this.entries.has(current)) this.file(current, this.tree.read(current), entry.mode);
        return current;
      }
      this.symlink(current, entry.target!);
      const resolved = entry.target!.startsWith('/') ? entry.target!.slice(1) : posix.join(posix.dirname(current), entry.target!);
      current = resolved.replace(/^(lib|lib64|bin|sbin)\//, 'usr/$1/');
    }
    throw new BuildError(`too many symlinks from /${path}`, 'the initrd package set has a symlink loop');
  }

  /** A program and, recursively, every library it needs. */
  program(path: string): void {
    const queue = [this.copy(path)];
    const done = new Set<string>();
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (done.has(file)) continue;
      done.add(file);
      const bytes = this.tree.read(file);
      const interp = interpreter(bytes);
      if (interp) queue.push(this.copy(interp.slice(1).replace(/^lib64\//, 'usr/lib64/')));
      for (const soname of neededLibraries(bytes)) queue.push(this.copy(this.findLibrary(soname, file)));
    }
  }

  /** A library opened by name at run time, wherever the packages keep it. */
  library(soname: string): string {
    return this.findLibrary(soname, 'init');
  }

  private findLibrary(soname: string, neededBy: string): string {
    for (const dir of LIBRARY_DIRS) if (this.tree.has(`${dir}/${soname}`)) return `${dir}/${soname}`;
    throw new BuildError(`/${neededBy} needs ${soname}, which the initrd packages do not provide`, 'add the package that ships it to the initrd set');
  }
}

/**
 * `boot` modules are loaded at every boot; `provision` ones only when a first boot looks for a host
 * config, `network` ones when it reads it over the network; `live` ones only when the installer ISO
 * boots, to find its medium.
 */
export interface InitrdModules {
  boot: readonly string[];
  provision: readonly string[];
  network: readonly string[];
  live: readonly string[];
}

/*
 * The initrd is two uncompressed newc archives, which the kernel unpacks one after the other: the
 * programs in one, the kernel's modules and their lists in the other. Apart, zstd compresses them
 * in parallel, 2.2 s sooner, and no larger: modules and programs share little. The programs
 * archive needs only the initrd's own packages, so a cold build compresses it while the root is
 * still being unpacked.
 */

/**
 * The programs archive: busybox and the other programs with their libraries, and init with its
 * scripts; with `sealedVar`, what init needs to seal and unlock /var, and the file that says so.
 */
export function initrdProgramsArchive(initrdTree: Tree, mtime: number, sealedVar = false): Buffer {
  const contents = new InitrdContents(initrdTree);
  for (const dir of ['dev', 'proc', 'sys', 'run', 'tmp', 'sysroot', 'etc', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64']) contents.dir(dir);
  for (const dir of ['bin', 'sbin', 'lib', 'lib64']) contents.symlink(dir, `usr/${dir}`);
  contents.entries.set('dev/console', { path: 'dev/console', type: 'char', mode: 0o600, devMajor: 5, devMinor: 1 });
  for (const program of PROGRAMS) contents.program(program);
  contents.file('init', readFileSync(new URL('init', RUNTIME)), 0o755);
  for (const name of SOURCED_SCRIPTS) contents.file(`usr/lib/slipway/${name}`, readFileSync(new URL(name, RUNTIME)), 0o644);
  for (const name of RUN_SCRIPTS) contents.file(`usr/lib/slipway/${name}`, readFileSync(new URL(name, RUNTIME)), 0o755);
  if (sealedVar) {
    for (const program of SEALED_VAR_PROGRAMS) contents.program(program);
    for (const library of SEALED_VAR_LIBRARIES) contents.program(contents.library(library));
    contents.file(`usr/lib/slipway/${SEALED_VAR_SCRIPT}`, readFileSync(new URL(SEALED_VAR_SCRIPT, RUNTIME)), 0o644);
    contents.file('etc/slipway/var-encryption', Buffer.from('tpm2\n'), 0o644);
  }
  return writeCpio([...contents.entries.values()], mtime);
}

/** The modules archive: the modules init loads, from the host tree, and the lists it loads them by. */
export function initrdModulesArchive(hostTree: Tree, kernel: KernelInfo, modules: InitrdModules, mtime: number): Buffer {
  const contents = new InitrdContents(hostTree);
  contents.file('etc/slipway/kernel-version', Buffer.from(`${kernel.version}\n`), 0o644);
  const paths = (names: readonly string[]) => names.map((name) => kernel.modules.get(name)!);
  contents.file('etc/slipway/modules', Buffer.from(paths(modules.boot).map((p) => `${p}\n`).join('')), 0o644);
  contents.file('etc/slipway/provision-modules', Buffer.from(paths(modules.provision).map((p) => `${p}\n`).join('')), 0o644);
  contents.file('etc/slipway/network-modules', Buffer.from(paths(modules.network).map((p) => `${p}\n`).join('')), 0o644);
  contents.file('etc/slipway/live-modules', Buffer.from(paths(modules.live).map((p) => `${p}\n`).join('')), 0o644);
  for (const path of paths([...new Set([...modules.boot, ...modules.provision, ...modules.network, ...modules.live])])) {
    const full = `usr/lib/modules/${kernel.version}/${path}`;
    contents.file(full, hostTree.read(full), 0o644);
  }
  return writeCpio([...contents.entries.values()], mtime);
}

/**
 * Each archive in zstd -18, concatenated: the kernel unpacks a sequence of compressed archives.
 * 4.2 MB where gzip -9 makes 5.6, which keeps a UKI with Debian's generic kernel under 12 MiB;
 * under TCG the kernel unpacks it in about 75 ms more than gzip (measured with the cloud kernel,
 * medians of 3 to 7 boots; xz was 3.4 MB but 600 ms slower). Compressing takes seconds, so each
 * result is cached by its archive's sha256: a rebuild with the same modules or the same programs
 * reuses it. With `lowPriority` the compressor takes only CPU time nothing else wants.
 */
export async function compressInitrdArchive(cpio: Buffer, cache: ContentCache, lowPriority = false): Promise<Buffer> {
  const sha256 = createHash('sha256').update(cpio).digest('hex');
  if (cache.has('initrds', sha256, '.cpio.zst')) return readFileSync(cache.pathFor('initrds', sha256, '.cpio.zst'));
  const plain = cache.tempPathFor('initrds');
  const compressed = `${plain}.zst`;
  writeFileSync(plain, cpio);
  try {
    await runTool('zstd', ['-q', '-18', '-T1', '-o', compressed, plain], { lowPriority });
    return readFileSync(cache.commit(compressed, 'initrds', sha256, '.cpio.zst'));
  } finally {
    for (const path of [plain, compressed]) rmSync(path, { force: true });
  }
}
