/**
 * What every slipway image leaves out, and why: packages whose work slipway does itself, and files
 * no host runs. A recipe adds its own with `exclude:` (packages) and `remove:` (path globs).
 * README's "What the image leaves out" lists the same things for people.
 */

export interface LeftOut {
  name: string;
  why: string;
}

/** Packages never chosen, in favour of the alternative their dependants accept. */
export const IMAGE_EXCLUDES: readonly LeftOut[] = [
  { name: 'usrmerge', why: 'slipway lays out merged /usr itself; usr-is-merged, the marker package, meets the same dependency (usrmerge would pull in perl)' },
];

/** The packages an image with these recipe excludes never unpacks: every image's, then the recipe's. */
export function excludedPackages(recipeExclude: readonly string[]): string[] {
  return [...new Set([...IMAGE_EXCLUDES.map((e) => e.name), ...recipeExclude])];
}

/** Virtual packages the image provides itself: a dependency on one is met without a package. */
export const IMAGE_PROVIDES: readonly LeftOut[] = [
  { name: 'linux-initramfs-tool', why: 'slipway builds the initrd; initramfs-tools (with klibc-utils and cpio) would only make another one' },
];

/** Paths (globs, relative to the root) unpacked from no package. */
export const IMAGE_REMOVALS: readonly LeftOut[] = [
  { name: 'usr/bin/containerd-shim', why: 'containerd\'s v1 shim; containers run on the runc v2 shim' },
  { name: 'usr/bin/containerd-shim-runc-v1', why: 'the runc v1 shim; containers run on the runc v2 shim' },
  { name: 'usr/lib/*/gconv/**', why: 'iconv\'s charset converters; nothing on a host converts charsets (UTF-8 and ASCII are built into glibc)' },
  { name: 'usr/lib/udev/hwdb.d/**', why: 'sources of the hardware database, read only by systemd-hwdb update, which never runs on a read-only root' },
  { name: 'usr/share/nodejs/@types/**', why: 'TypeScript declarations for Node.js, read by no program at run time' },
  { name: 'usr/share/zoneinfo/right/**', why: 'leap-second time zones, which no host config can choose' },
  // systemd runs every generator at every boot, before any unit, each a program start under emulation.
  { name: 'usr/lib/systemd/system-generators/systemd-sysv-generator', why: 'turns SysV init scripts into units; every program a host runs has a native unit' },
  { name: 'usr/lib/systemd/system-generators/systemd-rc-local-generator', why: 'runs /etc/rc.local, which a slipway host has no use for: units and host configs do that' },
  { name: 'usr/lib/systemd/system-generators/systemd-hibernate-resume-generator', why: 'resumes from a hibernation image; a host has no swap to hibernate to' },
  { name: 'usr/lib/systemd/system-generators/systemd-cryptsetup-generator', why: 'opens /etc/crypttab volumes; a host has none' },
  { name: 'usr/lib/systemd/system-generators/systemd-integritysetup-generator', why: 'opens /etc/integritytab volumes; a host has none' },
  { name: 'usr/lib/systemd/system-generators/systemd-system-update-generator', why: 'boots into offline updates; slipway updates a whole slot instead' },
  // Set-uid and set-gid programs for password logins: a host's users log in with keys, and root
  // changes accounts through host configs. Each is a way up from an ordinary account not taken.
  ...['su', 'passwd', 'chsh', 'chfn', 'newgrp', 'gpasswd', 'chage', 'expiry'].map((program) => ({
    name: `usr/bin/${program}`,
    why: 'a set-uid or set-gid program for accounts with passwords, which a host does not have: logins use keys, host configs change accounts',
  })),
  { name: 'usr/lib/openssh/ssh-keysign', why: "ssh's set-uid helper for host-based authentication, which a host's ssh client never uses" },
  // Units no host can start, which `systemd-analyze verify` rightly refuses.
  { name: 'usr/lib/systemd/system/quotaon.service', why: 'turns on disk quotas with quotaon, which no host has (the quota package is not in it)' },
  { name: 'usr/lib/systemd/system/rc-local.service', why: 'runs /etc/rc.local, which a host does not have (its generator is left out too)' },
  { name: 'usr/lib/systemd/system/syslog.socket', why: 'the socket of a syslog daemon, which a host does not run: journald keeps its logs' },
  { name: 'usr/lib/systemd/system-generators/systemd-veritysetup-generator', why: 'opens the verity root that roothash= names, which the initrd has opened already (its unit took a second of every boot)' },
];

/** Programs slipway's runtime starts by name, which no kept file declares: leaving them out breaks the host. */
export const RUNTIME_NEEDS: ReadonlyArray<{ path: string; neededBy: string }> = [
  { path: '/usr/bin/containerd-shim-runc-v2', neededBy: '/usr/bin/containerd' },
  { path: '/usr/sbin/runc', neededBy: '/usr/bin/containerd-shim-runc-v2' },
  { path: '/usr/bin/node', neededBy: '/usr/lib/slipway/provision.cjs' },
];
