import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Accounts, configureUsers, parseSystemGroups } from '../../../../src/assemble/configure/users.ts';
import { Tree } from '../../../../src/assemble/tree.ts';
import { BuildError } from '../../../../src/errors.ts';
import type { Recipe } from '../../../../src/recipe/schema.ts';

const PASSWD_MASTER = 'root:*:0:0:root:/root:/bin/bash\ndaemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
const GROUP_MASTER = 'root:*:0:\ndaemon:*:1:\nshadow:*:42:\nusers:*:100:\nsudo:*:27:\nnogroup:*:65534:\n';

type RecipeUser = Recipe['users'][number];

function recipeUser(name: string, more: Partial<RecipeUser> = {}): RecipeUser {
  return { name, groups: [], shell: '/bin/bash', sshAuthorizedKeys: [], ...more };
}

describe('configureUsers', () => {
  let root: string;
  let tree: Tree;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-unit-users-'));
    tree = new Tree(root);
    tree.writeFile('usr/share/base-passwd/passwd.master', PASSWD_MASTER);
    tree.writeFile('usr/share/base-passwd/group.master', GROUP_MASTER);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const lines = (path: string) => tree.readText(path).trimEnd().split('\n');

  it('writes the base-passwd accounts sorted by id, with shadow entries that never match a password', () => {
    configureUsers(tree, [], 19000);
    expect(lines('etc/passwd')).toEqual([
      'root:x:0:0:root:/root:/bin/bash',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    ]);
    expect(lines('etc/group')).toEqual(['root:x:0:', 'daemon:x:1:', 'sudo:x:27:', 'shadow:x:42:', 'users:x:100:', 'nogroup:x:65534:']);
    expect(lines('etc/shadow')).toEqual(['root:*:19000:0:99999:7:::', 'daemon:*:19000:0:99999:7:::', 'nobody:*:19000:0:99999:7:::']);
    expect(lines('etc/gshadow')[2]).toBe('sudo:*::');
    expect(tree.get('etc/shadow')).toMatchObject({ mode: 0o640, uid: 0, gid: 42 });
    expect(tree.get('etc/gshadow')).toMatchObject({ mode: 0o640, uid: 0, gid: 42 });
    expect(tree.get('etc/passwd')).toMatchObject({ mode: 0o644 });
  });

  it('allocates sysusers.d ids from 999 down, keeps fixed ids and adds members', () => {
    tree.writeFile('usr/lib/sysusers.d/10-a.conf', [
      '# comment',
      'g messagebus -',
      'u messagebus - "System Message Bus" /nonexistent',
      'u systemd-network 998 "systemd Network Management"',
      'g kvm - - -',
      'u _chrony -:kvm "Chrony daemon" /var/lib/chrony',
      'm systemd-network kvm',
      '',
    ].join('\n'));
    tree.writeFile('usr/lib/sysusers.d/20-b.conf', 'g render -\n');
    tree.writeFile('usr/lib/sysusers.d/README', 'u ignored -\n');
    const accounts = configureUsers(tree, [], 0);
    expect(accounts.group('messagebus')?.gid).toBe(999);
    // uid 999 is free, but the group of that id is its own
    expect(accounts.user('messagebus')).toMatchObject({ uid: 999, gid: 999, gecos: 'System Message Bus', home: '/nonexistent', shell: '/usr/sbin/nologin' });
    expect(accounts.user('systemd-network')).toMatchObject({ uid: 998, gid: 998, home: '/' });
    expect(accounts.group('kvm')).toMatchObject({ gid: 997, members: ['systemd-network'] });
    expect(accounts.user('_chrony')).toMatchObject({ uid: 996, gid: 997, home: '/var/lib/chrony' });
    expect(accounts.group('_chrony')).toBeUndefined();
    expect(accounts.group('render')!.gid).toBeLessThan(997); // a later file: allocated after kvm
    expect(accounts.user('ignored')).toBeUndefined();
    expect(lines('etc/group')).toContain('kvm:x:997:systemd-network');
    expect(lines('etc/gshadow')).toContain('kvm:*::systemd-network');
  });

  it('adds the system groups postinst scripts make after the sysusers.d ones, keeping those it already has', () => {
    tree.writeFile('usr/lib/sysusers.d/a.conf', 'g messagebus -\n');
    const accounts = configureUsers(tree, [], 0, ['input', 'kvm', 'sudo', 'input']);
    expect(accounts.group('messagebus')?.gid).toBe(999);
    expect(accounts.group('input')?.gid).toBe(998);
    expect(accounts.group('kvm')?.gid).toBe(997);
    expect(accounts.group('sudo')?.gid).toBe(27);
    expect(lines('etc/group').filter((line) => line.startsWith('input:'))).toEqual(['input:x:998:']);
  });

  it('does not change an account base-passwd already has', () => {
    tree.writeFile('usr/lib/sysusers.d/a.conf', 'u daemon 555 "other"\ng users 777\n');
    const accounts = configureUsers(tree, [], 0);
    expect(accounts.user('daemon')).toMatchObject({ uid: 1, gid: 1, gecos: 'daemon' });
    expect(accounts.group('users')?.gid).toBe(100);
  });

  it('gives recipe users ids from 1000, their own group, a home and their groups', () => {
    const accounts = configureUsers(tree, [
      recipeUser('alice', { groups: ['sudo', 'users'] }),
      recipeUser('bob', { home: '/srv/bob', shell: '/bin/sh' }),
      recipeUser('carol', { uid: 1500 }),
    ], 0);
    expect(accounts.user('alice')).toMatchObject({ uid: 1000, gid: 1000, gecos: 'alice', home: '/home/alice', shell: '/bin/bash' });
    expect(accounts.user('bob')).toMatchObject({ uid: 1001, gid: 1001, home: '/srv/bob', shell: '/bin/sh' });
    expect(accounts.user('carol')).toMatchObject({ uid: 1500, gid: 1500 });
    expect(lines('etc/group')).toContain('sudo:x:27:alice');
    expect(lines('etc/group')).toContain('users:x:100:alice');
    expect(lines('etc/passwd').at(-1)).toBe('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin');
    expect(lines('etc/passwd')).toContain('alice:x:1000:1000:alice:/home/alice:/bin/bash');
  });

  it('skips ids that a group already holds', () => {
    tree.writeFile('usr/lib/sysusers.d/a.conf', 'g builders 1000\n');
    const accounts = configureUsers(tree, [recipeUser('alice')], 0);
    expect(accounts.user('alice')).toMatchObject({ uid: 1001, gid: 1001 });
  });

  it('fails on an unknown group, naming it', () => {
    expect(() => configureUsers(tree, [recipeUser('alice', { groups: ['wheel'] })], 0)).toThrow(BuildError);
    expect(() => configureUsers(tree, [recipeUser('alice', { groups: ['wheel'] })], 0)).toThrow('users: alice: unknown group "wheel"');
  });

  it('fails on a recipe user named like a system user', () => {
    expect(() => configureUsers(tree, [recipeUser('daemon')], 0)).toThrow(/daemon clashes with a system user/);
  });

  it('fails without base-passwd', () => {
    tree.remove('usr/share/base-passwd');
    expect(() => configureUsers(tree, [], 0)).toThrow(/base-passwd is not in the image/);
  });
});

describe('Accounts', () => {
  it('runs out of system ids below 101', () => {
    const accounts = new Accounts();
    for (let i = 0; i < 899; i++) accounts.addGroup(`g${i}`);
    expect(accounts.group('g0')?.gid).toBe(999);
    expect(accounts.group('g898')?.gid).toBe(101);
    expect(() => accounts.addGroup('one-more')).toThrow(/no free system user or group id/);
  });
});

describe('parseSystemGroups', () => {
  it('reads the groups a script makes with addgroup --system, wherever the name sits among the options', () => {
    const udev = '#!/bin/sh\nif [ "$1" = configure ]; then\n    # Add new system groups used by udev rules\n    addgroup --quiet --system input\n    addgroup --quiet --system sgx\n    addgroup --quiet --system kvm\nfi\n';
    expect(parseSystemGroups(udev)).toEqual(['input', 'sgx', 'kvm']);
    expect(parseSystemGroups('\t\taddgroup --system --quiet --force-badname _ssh\n')).toEqual(['_ssh']);
  });

  it('leaves out a group that is not a system one, a comment, and a name from a variable', () => {
    expect(parseSystemGroups('addgroup --quiet staff\n# addgroup --system old\naddgroup --system "$GROUP"\n')).toEqual([]);
  });
});
