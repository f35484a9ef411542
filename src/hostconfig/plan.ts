/**
 * What applying a host config writes, as a list, before anything is written: /etc files (which land
 * in the /etc overlay's upper folder on /var), homes on /var, and the accounts the initrd merges into
 * /etc/passwd and friends at every boot (so an update's new system users are never shadowed).
 */
import { containerUnit } from '../recipe/container-units.ts';
import type { ImageFacts } from './facts.ts';
import { DEFAULT_SHELL, type HostConfig, type HostUser } from './schema.ts';
import { installTargets, parseUnitFile } from '../shared/unitfile.ts';

export type Write =
  | { kind: 'file'; path: string; content: Buffer; mode: number; uid: number; gid: number }
  | { kind: 'dir'; path: string; mode: number; uid: number; gid: number }
  | { kind: 'symlink'; path: string; target: string };

export const ACCOUNTS_DIR = '/var/lib/slipway/accounts';

/**
 * Where a user the image has gets the keys a config gives it: its home may be on the read-only root
 * (root's is), so sshd reads them from /etc (runtime/rootfs/etc/ssh/sshd_config.d/slipway.conf).
 */
export function imageUserKeysPath(name: string): string {
  return `/etc/ssh/authorized_keys.d/${name}`;
}
const FIRST_UID = 1000;

interface Account {
  user: HostUser;
  uid: number;
  gid: number;
}

function allocateAccounts(users: readonly HostUser[], facts: ImageFacts): Account[] {
  const usedUids = new Set([...facts.users.values()].map((u) => u.uid));
  const usedGids = new Set(facts.groups.values());
  for (const user of users) if (user.uid !== undefined) usedUids.add(user.uid);
  let next = FIRST_UID;
  return users.map((user) => {
    let uid = user.uid;
    if (uid === undefined) {
      while (usedUids.has(next)) next++;
      uid = next;
      usedUids.add(uid);
    }
    let gid = uid;
    while (usedGids.has(gid)) gid++;
    usedGids.add(gid);
    return { user, uid, gid };
  });
}

function text(path: string, content: string, mode = 0o644, uid = 0, gid = 0): Write {
  return { kind: 'file', path, content: Buffer.from(content), mode, uid, gid };
}

/** `imageUsers`: users the image has, which join groups (and get keys) but have no account to write. */
function accountWrites(accounts: readonly Account[], imageUsers: readonly HostUser[]): Write[] {
  if (accounts.length === 0 && !imageUsers.some((user) => user.groups.length > 0)) return [];
  const configGroups = new Map(accounts.map((a) => [a.user.name, [] as string[]]));
  const members: string[] = [];
  for (const user of [...accounts.map((a) => a.user), ...imageUsers]) {
    for (const group of user.groups) {
      if (configGroups.has(group)) configGroups.get(group)!.push(user.name);
      else members.push(`${group}:${user.name}\n`);
    }
  }
  const lines = (make: (a: Account) => string) => accounts.map((a) => `${make(a)}\n`).join('');
  // No password: `*` matches none, and sshd is key-only. The last-change day is left empty: 0 would make
  // PAM demand a new password before every login, keys included.
  return [
    text(`${ACCOUNTS_DIR}/passwd`, lines((a) => `${a.user.name}:x:${a.uid}:${a.gid}::/home/${a.user.name}:${a.user.shell ?? DEFAULT_SHELL}`)),
    text(`${ACCOUNTS_DIR}/shadow`, lines((a) => `${a.user.name}:*::0:99999:7:::`), 0o600),
    text(`${ACCOUNTS_DIR}/group`, lines((a) => `${a.user.name}:x:${a.gid}:${configGroups.get(a.user.name)!.join(',')}`)),
    text(`${ACCOUNTS_DIR}/gshadow`, lines((a) => `${a.user.name}:!::${configGroups.get(a.user.name)!.join(',')}`), 0o600),
    text(`${ACCOUNTS_DIR}/members`, members.join('')),
  ];
}

function homeWrites(accounts: readonly Account[]): Write[] {
  return accounts.flatMap(({ user, uid, gid }) => {
    const home = `/var/home/${user.name}`;
    const writes: Write[] = [{ kind: 'dir', path: home, mode: 0o700, uid, gid }];
    if (user.sshAuthorizedKeys.length > 0) {
      writes.push({ kind: 'dir', path: `${home}/.ssh`, mode: 0o700, uid, gid });
      writes.push(text(`${home}/.ssh/authorized_keys`, user.sshAuthorizedKeys.map((key) => `${key.trim()}\n`).join(''), 0o600, uid, gid));
    }
    return writes;
  });
}

function resolveOwner(owner: string, accounts: readonly Account[], facts: ImageFacts): { uid: number; gid: number } {
  const [user, group] = owner.split(':') as [string, string | undefined];
  const account = accounts.find((a) => a.user.name === user);
  const uid = /^\d+$/.test(user) ? Number(user) : account?.uid ?? facts.users.get(user)!.uid;
  let gid: number;
  if (group === undefined) gid = account?.gid ?? facts.users.get(user)?.gid ?? uid;
  else if (/^\d+$/.test(group)) gid = Number(group);
  else gid = accounts.find((a) => a.user.name === group)?.gid ?? facts.groups.get(group)!;
  return { uid, gid };
}

const UNIT_DIR = '/etc/systemd/system';

function unitWrites(config: HostConfig, facts: ImageFacts): Write[] {
  const writes: Write[] = [];
  for (const unit of config.units) {
    const path = `${UNIT_DIR}/${unit.name}`;
    if (unit.mask) {
      writes.push({ kind: 'symlink', path, target: '/dev/null' });
      continue;
    }
    if (unit.content !== undefined) writes.push(text(path, unit.content));
    for (const dropin of unit.dropins) writes.push(text(`${UNIT_DIR}/${unit.name}.d/${dropin.name}`, dropin.content));
    if (unit.enabled) {
      const hooks = unit.content !== undefined ? installTargets(parseUnitFile(unit.content)) : facts.install.get(unit.name) ?? [];
      const target = unit.content !== undefined ? path : `/usr/lib/systemd/system/${unit.name}`;
      for (const { target: wantedBy, kind } of hooks) {
        writes.push({ kind: 'symlink', path: `${UNIT_DIR}/${wantedBy}.${kind}/${unit.name}`, target });
      }
    }
  }
  for (const container of config.containers) {
    const name = `slipway-container-${container.name}.service`;
    writes.push(text(`${UNIT_DIR}/${name}`, containerUnit(container)));
    writes.push({ kind: 'symlink', path: `${UNIT_DIR}/multi-user.target.wants/${name}`, target: `${UNIT_DIR}/${name}` });
  }
  if (config.containers.length > 0) writes.push(text('/etc/slipway/containers', config.containers.map((c) => `${c.name}\n`).join('')));
  return writes;
}

function networkWrites(config: HostConfig): Write[] {
  return config.network.interfaces.map((iface, index) => {
    const lines = ['[Match]', `Name=${iface.name}`, '', '[Network]'];
    if (iface.dhcp) lines.push('DHCP=yes');
    for (const address of iface.addresses) lines.push(`Address=${address}`);
    if (iface.gateway) lines.push(`Gateway=${iface.gateway}`);
    for (const dns of iface.dns) lines.push(`DNS=${dns}`);
    for (const route of iface.routes) lines.push('', '[Route]', `Destination=${route.to}`, `Gateway=${route.via}`);
    // Sorted before the image's catch-all DHCP network (80-slipway-dhcp.network), so it wins.
    return text(`/etc/systemd/network/10-slipway-${String(index).padStart(2, '0')}.network`, `${lines.join('\n')}\n`);
  });
}

/** Everything applying `config` writes, in order; parents of each path are created as needed. */
export function planProvision(config: HostConfig, facts: ImageFacts): Write[] {
  const imageUsers = config.users.filter((user) => facts.users.has(user.name));
  const accounts = allocateAccounts(config.users.filter((user) => !facts.users.has(user.name)), facts);
  const writes: Write[] = [];
  if (config.hostname) writes.push(text('/etc/hostname', `${config.hostname}\n`));
  writes.push(...accountWrites(accounts, imageUsers), ...homeWrites(accounts));
  for (const user of imageUsers.filter((u) => u.sshAuthorizedKeys.length > 0)) {
    writes.push(text(imageUserKeysPath(user.name), user.sshAuthorizedKeys.map((key) => `${key.trim()}\n`).join('')));
  }
  for (const file of config.files) {
    const content = file.content !== undefined ? Buffer.from(file.content) : Buffer.from(file.base64!, 'base64');
    writes.push({ kind: 'file', path: file.path, content, mode: file.mode, ...resolveOwner(file.owner, accounts, facts) });
  }
  writes.push(...unitWrites(config, facts), ...networkWrites(config));
  const sysctl = Object.entries(config.sysctl);
  if (sysctl.length > 0) writes.push(text('/etc/sysctl.d/90-slipway-config.conf', sysctl.map(([key, value]) => `${key} = ${value}\n`).join('')));
  if (config.timezone) {
    writes.push({ kind: 'symlink', path: '/etc/localtime', target: `/usr/share/zoneinfo/${config.timezone}` });
    writes.push(text('/etc/timezone', `${config.timezone}\n`));
  }
  if (config.update) writes.push(text('/etc/slipway/update.json', `${JSON.stringify(config.update)}\n`));
  return writes;
}
