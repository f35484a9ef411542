/**
 * /etc/passwd, group, shadow and gshadow, made the way the packages' scripts would: base-passwd's
 * master files, then every sysusers.d entry (system users with ids allocated downwards from 999, as
 * systemd-sysusers does), then the system groups postinst scripts add (udev's input, kvm, render
 * and sgx, which its rules name), then the recipe's users.
 */
import type { Recipe } from '../../recipe/schema.ts';
import { BuildError } from '../../errors.ts';
import type { Tree } from '../tree.ts';

interface User {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

interface Group {
  name: string;
  gid: number;
  members: string[];
}

const SHADOW_GID = 42;
const SYSTEM_ID_MAX = 999;
const FIRST_REGULAR_ID = 1000;

function parseColonFile<T>(text: string, make: (fields: string[]) => T): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('#'))
    .map((line) => make(line.split(':')));
}

/** Splits a sysusers.d line into fields, honouring double quotes. */
function sysusersFields(line: string): string[] {
  const fields: string[] = [];
  const pattern = /"([^"]*)"|(\S+)/g;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) fields.push(match[1] ?? match[2]!);
  return fields;
}

export class Accounts {
  readonly users: User[] = [];
  readonly groups: Group[] = [];

  user(name: string): User | undefined {
    return this.users.find((u) => u.name === name);
  }

  group(name: string): Group | undefined {
    return this.groups.find((g) => g.name === name);
  }

  private freeId(wanted: number | undefined, taken: (id: number) => boolean): number {
    if (wanted !== undefined && !taken(wanted)) return wanted;
    for (let id = SYSTEM_ID_MAX; id > 100; id--) if (!taken(id)) return id;
    throw new BuildError('no free system user or group id left', 'remove some sysusers.d entries');
  }

  addGroup(name: string, gid?: number): Group {
    const existing = this.group(name);
    if (existing) return existing;
    // As systemd-sysusers does, a new group's id also avoids the ids of users (their own groups share them).
    const group = { name, gid: this.freeId(gid, (id) => this.groups.some((g) => g.gid === id) || this.users.some((u) => u.uid === id && u.name !== name)), members: [] };
    this.groups.push(group);
    return group;
  }

  addUser(spec: { name: string; uid?: number; group?: string; gecos?: string; home?: string; shell?: string }): User {
    const existing = this.user(spec.name);
    if (existing) return existing;
    const uid = this.freeId(spec.uid, (id) => this.users.some((u) => u.uid === id) || this.groups.some((g) => g.gid === id && g.name !== spec.name));
    const group = this.addGroup(spec.group ?? spec.name, spec.group ? undefined : uid);
    const user = { name: spec.name, uid, gid: group.gid, gecos: spec.gecos ?? '', home: spec.home ?? '/', shell: spec.shell ?? '/usr/sbin/nologin' };
    this.users.push(user);
    return user;
  }

  addMember(user: string, group: string): void {
    const g = this.addGroup(group);
    if (!g.members.includes(user)) g.members.push(user);
  }
}

export function readBasePasswd(tree: Tree): Accounts {
  const accounts = new Accounts();
  const passwd = 'usr/share/base-passwd/passwd.master';
  const group = 'usr/share/base-passwd/group.master';
  if (!tree.has(passwd) || !tree.has(group)) {
    throw new BuildError('base-passwd is not in the image: no /usr/share/base-passwd/*.master', "keep distribution.base at 'essential', or add base-passwd to packages");
  }
  for (const [name, , gid] of parseColonFile(tree.readText(group), (f) => f)) accounts.groups.push({ name: name!, gid: Number(gid), members: [] });
  for (const [name, , uid, gid, gecos, home, shell] of parseColonFile(tree.readText(passwd), (f) => f)) {
    accounts.users.push({ name: name!, uid: Number(uid), gid: Number(gid), gecos: gecos ?? '', home: home ?? '/', shell: shell ?? '/usr/sbin/nologin' });
  }
  return accounts;
}

function parseId(field: string | undefined): { id?: number; group?: string } {
  if (!field || field === '-') return {};
  const [own, group] = field.split(':');
  const id = own && /^\d+$/.test(own) ? Number(own) : undefined;
  return group && !/^\d+$/.test(group) ? { id, group } : { id };
}

export function applySysusers(tree: Tree, accounts: Accounts): void {
  for (const file of tree.list('usr/lib/sysusers.d').filter((f) => f.endsWith('.conf'))) {
    for (const raw of tree.readText(file).split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const [kind, name, id, gecos, home, shell] = sysusersFields(line);
      if (!kind || !name) continue;
      const { id: number, group } = parseId(id);
      if (kind === 'g') accounts.addGroup(name, number);
      else if (kind === 'u') {
        accounts.addUser({
          name,
          uid: number,
          group,
          gecos: gecos && gecos !== '-' ? gecos : '',
          home: home && home !== '-' ? home : '/',
          shell: shell && shell !== '-' ? shell : '/usr/sbin/nologin',
        });
      } else if (kind === 'm') accounts.addMember(name, id!);
    }
  }
}

export function applyRecipeUsers(accounts: Accounts, users: Recipe['users']): void {
  let next = FIRST_REGULAR_ID;
  for (const spec of users) {
    let uid = spec.uid;
    if (uid === undefined) {
      while (accounts.users.some((u) => u.uid === next) || accounts.groups.some((g) => g.gid === next)) next++;
      uid = next;
    }
    const user = accounts.addUser({ name: spec.name, uid, gecos: spec.name, home: spec.home ?? `/home/${spec.name}`, shell: spec.shell });
    if (user.uid !== uid) throw new BuildError(`users: ${spec.name} clashes with a system user of the same name`, 'pick another user name');
    for (const group of spec.groups) {
      if (!accounts.group(group)) throw new BuildError(`users: ${spec.name}: unknown group "${group}"`, 'use a group that a package or sysusers.d defines');
      accounts.addMember(spec.name, group);
    }
  }
}

export function writeAccounts(tree: Tree, accounts: Accounts, epochDays: number): void {
  const users = [...accounts.users].sort((a, b) => a.uid - b.uid);
  const groups = [...accounts.groups].sort((a, b) => a.gid - b.gid);
  tree.writeFile('etc/passwd', users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos}:${u.home}:${u.shell}\n`).join(''));
  tree.writeFile('etc/group', groups.map((g) => `${g.name}:x:${g.gid}:${g.members.join(',')}\n`).join(''));
  // No passwords: '*' can never match, so only keys log in.
  tree.writeFile('etc/shadow', users.map((u) => `${u.name}:*:${epochDays}:0:99999:7:::\n`).join(''), { mode: 0o640, gid: SHADOW_GID });
  tree.writeFile('etc/gshadow', groups.map((g) => `${g.name}:*::${g.members.join(',')}\n`).join(''), { mode: 0o640, gid: SHADOW_GID });
}

/**
 * The groups a maintainer script makes with `addgroup --system NAME`, read rather than run (as
 * alternatives.ts reads update-alternatives lines). Without them udev's rules name groups that do
 * not exist, and it warns at every boot and leaves /dev/kvm and the input devices to root.
 */
export function parseSystemGroups(script: string): string[] {
  const groups: string[] = [];
  for (const raw of script.split('\n')) {
    const words = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (words[0] !== 'addgroup' || !words.includes('--system')) continue;
    const name = words.slice(1).filter((word) => !word.startsWith('-')).pop();
    if (name && /^[a-z_][a-z0-9_-]*$/.test(name)) groups.push(name);
  }
  return groups;
}

export function configureUsers(tree: Tree, users: Recipe['users'], epochDays: number, scriptGroups: readonly string[] = []): Accounts {
  const accounts = readBasePasswd(tree);
  applySysusers(tree, accounts);
  for (const group of scriptGroups) accounts.addGroup(group);
  applyRecipeUsers(accounts, users);
  writeAccounts(tree, accounts, epochDays);
  return accounts;
}
