/** The tmpfiles.d lines slipway writes for users do what they say under the real systemd-tmpfiles. */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { writeUserTmpfiles } from '../../src/assemble/configure/system.ts';
import { Accounts, writeAccounts } from '../../src/assemble/configure/users.ts';
import { Tree } from '../../src/assemble/tree.ts';
import { tempDir } from '../helpers/archive.ts';

describe('user homes and ssh keys at boot', () => {
  it('systemd-tmpfiles makes the home on /var and writes authorized_keys owned by the user', async () => {
    const root = tempDir('tmpfiles');
    const tree = new Tree(root);
    const accounts = new Accounts();
    accounts.groups.push({ name: 'root', gid: 0, members: [] });
    accounts.users.push({ name: 'root', uid: 0, gid: 0, gecos: '', home: '/root', shell: '/bin/sh' });
    accounts.addUser({ name: 'alice', uid: 1000, home: '/home/alice', shell: '/bin/bash' });
    writeAccounts(tree, accounts, 20000);
    const keys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK alice@laptop', 'ssh-rsa AAAAB3Nza 50%\\off'];
    writeUserTmpfiles(tree, accounts, [{ name: 'alice', groups: [], shell: '/bin/bash', sshAuthorizedKeys: keys }]);
    mkdirSync(join(root, 'var'));
    const result = await execa('systemd-tmpfiles', [`--root=${root}`, '--create', join(root, 'usr/lib/tmpfiles.d/slipway-users.conf')], { reject: false });
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const file = join(root, 'var/home/alice/.ssh/authorized_keys');
    expect(readFileSync(file, 'utf8')).toBe(`${keys.join('\n')}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).uid).toBe(1000);
    expect(statSync(join(root, 'var/home/alice')).mode & 0o777).toBe(0o700);
  });
});
