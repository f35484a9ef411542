import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeUserTmpfiles } from '../../../../src/assemble/configure/system.ts';
import { Accounts } from '../../../../src/assemble/configure/users.ts';
import { Tree } from '../../../../src/assemble/tree.ts';

describe('writeUserTmpfiles', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-unit-system-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('makes homes on /var and installs each user’s authorized keys', () => {
    const tree = new Tree(root);
    const accounts = new Accounts();
    accounts.addUser({ name: 'alice', uid: 1000, home: '/home/alice', shell: '/bin/bash' });
    accounts.addUser({ name: 'bob', uid: 1001, home: '/home/bob', shell: '/bin/bash' });
    const base = { groups: [], shell: '/bin/bash' };
    writeUserTmpfiles(tree, accounts, [
      { ...base, name: 'alice', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3Nza alice@laptop ', 'ssh-rsa BBBB 100%\\done'] },
      { ...base, name: 'bob', sshAuthorizedKeys: [] },
    ]);
    expect(readFileSync(join(root, 'usr/lib/tmpfiles.d/slipway-users.conf'), 'utf8').split('\n')).toEqual([
      'd /var/home 0755 root root -',
      'd /var/home/alice 0700 alice 1000 -',
      'd /var/home/alice/.ssh 0700 alice 1000 -',
      'f /var/home/alice/.ssh/authorized_keys 0600 alice 1000 - ssh-ed25519 AAAAC3Nza alice@laptop\\nssh-rsa BBBB 100%%\\\\done\\n',
      'd /var/home/bob 0700 bob 1001 -',
      '',
    ]);
  });
});
