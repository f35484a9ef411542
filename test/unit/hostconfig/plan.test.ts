import { describe, expect, it } from 'vitest';
import { containerUnit } from '../../../src/recipe/container-units.ts';
import { baseFacts, type ImageFacts } from '../../../src/hostconfig/facts.ts';
import { ACCOUNTS_DIR, planProvision, type Write } from '../../../src/hostconfig/plan.ts';
import { HostConfigSchema, type HostConfigInput } from '../../../src/hostconfig/schema.ts';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';
const KEY_B = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAI alice@phone';
const APP_UNIT = '[Unit]\nDescription=App\n\n[Service]\nExecStart=/usr/bin/app\n\n[Install]\nWantedBy=multi-user.target\nRequiredBy=app.target\n';

/** Facts of an image whose recipe made a user `app` (1000) and a group `docker` (1001). */
function imageFacts(): ImageFacts {
  const facts = baseFacts();
  facts.users.set('app', { uid: 1000, gid: 1000, home: '/home/app' });
  facts.groups.set('app', 1000);
  facts.groups.set('docker', 1001);
  return facts;
}

function plan(input: HostConfigInput, options: { facts?: ImageFacts } = {}): Write[] {
  return planProvision(HostConfigSchema.parse(input), options.facts ?? imageFacts());
}

function at(writes: readonly Write[], path: string): Write {
  const write = writes.find((w) => w.path === path);
  if (!write) throw new Error(`nothing is written to ${path}; planned: ${writes.map((w) => w.path).join(', ')}`);
  return write;
}

function textAt(writes: readonly Write[], path: string): string {
  const write = at(writes, path);
  if (write.kind !== 'file') throw new Error(`${path} is a ${write.kind}, not a file`);
  return write.content.toString();
}

function lines(writes: readonly Write[], path: string): string[] {
  return textAt(writes, path).split('\n').filter(Boolean);
}

function symlinks(writes: readonly Write[]): Array<[string, string]> {
  return writes.flatMap((w) => (w.kind === 'symlink' ? [[w.path, w.target] as [string, string]] : []));
}

describe('planProvision', () => {
  it('writes nothing for an empty config', () => {
    expect(plan({})).toEqual([]);
  });

  it('writes the host name first', () => {
    const writes = plan({ hostname: 'web-1', users: [{ name: 'alice' }] });
    expect(writes[0]).toEqual({ kind: 'file', path: '/etc/hostname', content: Buffer.from('web-1\n'), mode: 0o644, uid: 0, gid: 0 });
  });

  describe('accounts', () => {
    it('gives new users the first free uids from 1000, skipping those the image uses', () => {
      const writes = plan({ users: [{ name: 'alice' }, { name: 'bob' }] });
      expect(lines(writes, `${ACCOUNTS_DIR}/passwd`)).toEqual([
        'alice:x:1001:1002::/home/alice:/bin/bash',
        'bob:x:1002:1003::/home/bob:/bin/bash',
      ]);
    });

    it('honours explicit uids and keeps them from the allocation', () => {
      const writes = plan({ users: [{ name: 'alice' }, { name: 'bob', uid: 1001 }, { name: 'carol', uid: 5000, shell: '/bin/sh' }, { name: 'dave' }] });
      expect(lines(writes, `${ACCOUNTS_DIR}/passwd`)).toEqual([
        'alice:x:1002:1002::/home/alice:/bin/bash',
        'bob:x:1001:1003::/home/bob:/bin/bash',
        'carol:x:5000:5000::/home/carol:/bin/sh',
        'dave:x:1003:1004::/home/dave:/bin/bash',
      ]);
    });

    it('gives each user a group of its own with the gid of its uid when that is free', () => {
      const writes = plan({ users: [{ name: 'alice' }] }, { facts: baseFacts() });
      expect(lines(writes, `${ACCOUNTS_DIR}/passwd`)).toEqual(['alice:x:1000:1000::/home/alice:/bin/bash']);
      expect(lines(writes, `${ACCOUNTS_DIR}/group`)).toEqual(['alice:x:1000:']);
    });

    it('leaves every user without a password and without password aging', () => {
      const writes = plan({ users: [{ name: 'alice' }, { name: 'bob' }] });
      const shadow = lines(writes, `${ACCOUNTS_DIR}/shadow`);
      expect(shadow.map((line) => line.split(':').slice(0, 2))).toEqual([['alice', '*'], ['bob', '*']]);
      for (const line of shadow) {
        const fields = line.split(':');
        expect(fields).toHaveLength(9);
        expect(fields[2]).toBe('');
      }
      expect(at(writes, `${ACCOUNTS_DIR}/shadow`)).toMatchObject({ mode: 0o600, uid: 0, gid: 0 });
    });

    it('puts users into the groups of other config users, and lists image groups in members', () => {
      const writes = plan({ users: [{ name: 'alice', groups: ['sudo', 'bob', 'docker'] }, { name: 'bob' }, { name: 'carol', groups: ['bob', 'sudo'] }] });
      expect(lines(writes, `${ACCOUNTS_DIR}/group`)).toEqual(['alice:x:1002:', 'bob:x:1003:alice,carol', 'carol:x:1004:']);
      expect(lines(writes, `${ACCOUNTS_DIR}/gshadow`)).toEqual(['alice:!::', 'bob:!::alice,carol', 'carol:!::']);
      expect(lines(writes, `${ACCOUNTS_DIR}/members`)).toEqual(['sudo:alice', 'docker:alice', 'sudo:carol']);
      expect(at(writes, `${ACCOUNTS_DIR}/gshadow`)).toMatchObject({ mode: 0o600 });
    });

    it('writes an empty members file when no user joins an image group', () => {
      expect(textAt(plan({ users: [{ name: 'alice' }] }), `${ACCOUNTS_DIR}/members`)).toBe('');
    });

    it('writes no account files without users', () => {
      expect(plan({ hostname: 'web' }).filter((w) => w.path.startsWith(ACCOUNTS_DIR))).toEqual([]);
    });
  });

  describe('homes', () => {
    it('makes each home under /var/home, private to its user', () => {
      const writes = plan({ users: [{ name: 'alice' }] });
      expect(at(writes, '/var/home/alice')).toEqual({ kind: 'dir', path: '/var/home/alice', mode: 0o700, uid: 1001, gid: 1002 });
      expect(writes.some((w) => w.path.startsWith('/var/home/alice/'))).toBe(false);
    });

    it('writes ssh keys to .ssh/authorized_keys, 0600 and owned by the user', () => {
      const writes = plan({ users: [{ name: 'alice', sshAuthorizedKeys: [KEY_A, `${KEY_B}  `] }] });
      expect(at(writes, '/var/home/alice/.ssh')).toEqual({ kind: 'dir', path: '/var/home/alice/.ssh', mode: 0o700, uid: 1001, gid: 1002 });
      expect(at(writes, '/var/home/alice/.ssh/authorized_keys')).toEqual({
        kind: 'file', path: '/var/home/alice/.ssh/authorized_keys', content: Buffer.from(`${KEY_A}\n${KEY_B}\n`), mode: 0o600, uid: 1001, gid: 1002,
      });
    });

    it('creates each home before what goes into it', () => {
      const paths = plan({ users: [{ name: 'alice', sshAuthorizedKeys: [KEY_A] }] }).map((w) => w.path);
      expect(paths.indexOf('/var/home/alice')).toBeLessThan(paths.indexOf('/var/home/alice/.ssh'));
      expect(paths.indexOf('/var/home/alice/.ssh')).toBeLessThan(paths.indexOf('/var/home/alice/.ssh/authorized_keys'));
    });
  });

  describe('files', () => {
    it('writes text and base64 contents with their mode', () => {
      const writes = plan({ files: [{ path: '/etc/app/env', content: 'MODE=prod\n', mode: '0640' }, { path: '/var/lib/app/blob', base64: 'AAEC/w==' }] });
      expect(at(writes, '/etc/app/env')).toEqual({ kind: 'file', path: '/etc/app/env', content: Buffer.from('MODE=prod\n'), mode: 0o640, uid: 0, gid: 0 });
      expect(at(writes, '/var/lib/app/blob')).toEqual({ kind: 'file', path: '/var/lib/app/blob', content: Buffer.from([0, 1, 2, 255]), mode: 0o644, uid: 0, gid: 0 });
    });

    it.each([
      ['alice', 1001, 1002],
      ['alice:sudo', 1001, 27],
      ['root:alice', 0, 1002],
      ['app', 1000, 1000],
      ['www-data:adm', 33, 4],
      ['sync', 4, 65534],
      ['root:docker', 0, 1001],
      ['1234', 1234, 1234],
      ['1234:5678', 1234, 5678],
      ['alice:27', 1001, 27],
      ['0:alice', 0, 1002],
    ])('owns a file given to "%s" by uid %i and gid %i', (owner, uid, gid) => {
      const writes = plan({ users: [{ name: 'alice' }], files: [{ path: '/etc/a', content: '', owner }] });
      expect(at(writes, '/etc/a')).toMatchObject({ uid, gid });
    });

    it('keeps the order of the config\'s files', () => {
      const writes = plan({ files: [{ path: '/var/b', content: '' }, { path: '/etc/a', content: '' }] });
      expect(writes.map((w) => w.path)).toEqual(['/var/b', '/etc/a']);
    });
  });

  describe('units', () => {
    it('writes a unit\'s content and drop-ins under /etc/systemd/system', () => {
      const writes = plan({ units: [{ name: 'app.service', content: APP_UNIT, dropins: [{ name: '10-env.conf', content: '[Service]\nEnvironment=A=1\n' }] }] });
      expect(writes).toEqual([
        { kind: 'file', path: '/etc/systemd/system/app.service', content: Buffer.from(APP_UNIT), mode: 0o644, uid: 0, gid: 0 },
        { kind: 'file', path: '/etc/systemd/system/app.service.d/10-env.conf', content: Buffer.from('[Service]\nEnvironment=A=1\n'), mode: 0o644, uid: 0, gid: 0 },
      ]);
    });

    it('enables a unit by linking it into each target of its [Install] section', () => {
      const writes = plan({ units: [{ name: 'app.service', content: APP_UNIT, enabled: true }] });
      expect(symlinks(writes)).toEqual([
        ['/etc/systemd/system/multi-user.target.wants/app.service', '/etc/systemd/system/app.service'],
        ['/etc/systemd/system/app.target.requires/app.service', '/etc/systemd/system/app.service'],
      ]);
    });

    it('does not link a unit that is not enabled', () => {
      expect(symlinks(plan({ units: [{ name: 'app.service', content: APP_UNIT }] }))).toEqual([]);
      expect(symlinks(plan({ units: [{ name: 'app.service', content: APP_UNIT, enabled: false }] }))).toEqual([]);
    });

    it('enables a unit of the image where its [Install] section hooks it, linking to its file in /usr', () => {
      const facts = imageFacts();
      facts.install.set('ssh.service', [{ target: 'multi-user.target', kind: 'wants' }]);
      const writes = planProvision(HostConfigSchema.parse({ units: [{ name: 'ssh.service', enabled: true }] }), facts);
      expect(writes).toEqual([{ kind: 'symlink', path: '/etc/systemd/system/multi-user.target.wants/ssh.service', target: '/usr/lib/systemd/system/ssh.service' }]);
    });

    it('adds drop-ins to a unit of the image without writing the unit', () => {
      const writes = plan({ units: [{ name: 'ssh.service', dropins: [{ name: '10-a.conf', content: '[Service]\nNice=5\n' }] }] });
      expect(writes.map((w) => w.path)).toEqual(['/etc/systemd/system/ssh.service.d/10-a.conf']);
    });

    it('masks a unit by linking it to /dev/null, and nothing else', () => {
      const writes = plan({ units: [{ name: 'apt-daily.timer', mask: true }, { name: 'app.service', content: APP_UNIT, enabled: true, mask: true }] });
      expect(writes).toEqual([
        { kind: 'symlink', path: '/etc/systemd/system/apt-daily.timer', target: '/dev/null' },
        { kind: 'symlink', path: '/etc/systemd/system/app.service', target: '/dev/null' },
      ]);
    });
  });

  describe('containers', () => {
    const container = { name: 'api', image: { ref: 'registry.example/api:1' }, ports: [{ host: 8080, container: 80 }] };

    it('writes each container\'s unit, enabled in multi-user.target, and lists the containers', () => {
      const config = HostConfigSchema.parse({ containers: [container, { name: 'db', image: { ref: 'registry.example/db:2' } }] });
      const writes = planProvision(config, imageFacts());
      expect(textAt(writes, '/etc/systemd/system/slipway-container-api.service')).toBe(containerUnit(config.containers[0]!));
      expect(textAt(writes, '/etc/systemd/system/slipway-container-db.service')).toBe(containerUnit(config.containers[1]!));
      expect(symlinks(writes)).toEqual([
        ['/etc/systemd/system/multi-user.target.wants/slipway-container-api.service', '/etc/systemd/system/slipway-container-api.service'],
        ['/etc/systemd/system/multi-user.target.wants/slipway-container-db.service', '/etc/systemd/system/slipway-container-db.service'],
      ]);
      expect(textAt(writes, '/etc/slipway/containers')).toBe('api\ndb\n');
    });

    it('pulls the container\'s image by its reference', () => {
      expect(textAt(plan({ containers: [container] }), '/etc/systemd/system/slipway-container-api.service')).toContain('registry.example/api:1');
    });

    it('writes no container list without containers', () => {
      expect(plan({ hostname: 'web' }).map((w) => w.path)).not.toContain('/etc/slipway/containers');
    });
  });

  describe('network', () => {
    it('writes one .network file per interface, sorted before the image\'s DHCP default', () => {
      const writes = plan({ network: { interfaces: [
        { name: 'en*', dhcp: true },
        { name: 'eth1', addresses: ['192.0.2.10/24', '2001:db8::10/64'], gateway: '192.0.2.1', dns: ['192.0.2.53', '192.0.2.54'], routes: [{ to: '198.51.100.0/24', via: '192.0.2.254' }, { to: '203.0.113.0/24', via: '192.0.2.253' }] },
      ] } });
      expect(writes.map((w) => w.path)).toEqual(['/etc/systemd/network/10-slipway-00.network', '/etc/systemd/network/10-slipway-01.network']);
      expect(textAt(writes, '/etc/systemd/network/10-slipway-00.network')).toBe('[Match]\nName=en*\n\n[Network]\nDHCP=yes\n');
      expect(textAt(writes, '/etc/systemd/network/10-slipway-01.network')).toBe([
        '[Match]', 'Name=eth1', '', '[Network]', 'Address=192.0.2.10/24', 'Address=2001:db8::10/64', 'Gateway=192.0.2.1', 'DNS=192.0.2.53', 'DNS=192.0.2.54',
        '', '[Route]', 'Destination=198.51.100.0/24', 'Gateway=192.0.2.254',
        '', '[Route]', 'Destination=203.0.113.0/24', 'Gateway=192.0.2.253', '',
      ].join('\n'));
      expect('10-slipway-01.network' < '80-slipway-dhcp.network').toBe(true);
    });

    it('numbers the files so that the eleventh still sorts after the tenth', () => {
      const interfaces = Array.from({ length: 11 }, (_, i) => ({ name: `eth${i}`, dhcp: true }));
      const paths = plan({ network: { interfaces } }).map((w) => w.path);
      expect(paths.at(-1)).toBe('/etc/systemd/network/10-slipway-10.network');
      expect([...paths].sort()).toEqual(paths);
    });
  });

  it('writes sysctl settings into one sysctl.d file', () => {
    const writes = plan({ sysctl: { 'net.core.somaxconn': 1024, 'vm.swappiness': '10' } });
    expect(at(writes, '/etc/sysctl.d/90-slipway-config.conf')).toEqual({
      kind: 'file', path: '/etc/sysctl.d/90-slipway-config.conf', content: Buffer.from('net.core.somaxconn = 1024\nvm.swappiness = 10\n'), mode: 0o644, uid: 0, gid: 0,
    });
  });

  it('links /etc/localtime to the time zone and names it in /etc/timezone', () => {
    const writes = plan({ timezone: 'Europe/Berlin' });
    expect(writes).toEqual([
      { kind: 'symlink', path: '/etc/localtime', target: '/usr/share/zoneinfo/Europe/Berlin' },
      { kind: 'file', path: '/etc/timezone', content: Buffer.from('Europe/Berlin\n'), mode: 0o644, uid: 0, gid: 0 },
    ]);
  });

  it('writes the update channel as JSON', () => {
    const writes = plan({ update: { channel: 'beta' } });
    expect(writes).toHaveLength(1);
    expect(JSON.parse(textAt(writes, '/etc/slipway/update.json'))).toEqual({ channel: 'beta' });
  });

  it('writes only under /etc and /var', () => {
    const writes = plan({
      hostname: 'web',
      users: [{ name: 'alice', sshAuthorizedKeys: [KEY_A] }],
      files: [{ path: '/var/lib/a', content: '' }],
      units: [{ name: 'app.service', content: APP_UNIT, enabled: true }],
      containers: [{ name: 'api', image: { ref: 'r/api:1' } }],
      network: { interfaces: [{ name: 'eth0', dhcp: true }] },
      sysctl: { 'vm.swappiness': 1 },
      timezone: 'UTC',
      update: { channel: 'stable' },
    });
    expect(writes.length).toBeGreaterThan(15);
    for (const write of writes) expect(write.path).toMatch(/^\/(etc|var)\/./);
  });
});

describe('planProvision for users the image has', () => {
  it('gives root and app keys in /etc/ssh/authorized_keys.d and groups through members, with no account of their own', () => {
    const writes = plan({ users: [{ name: 'root', sshAuthorizedKeys: [KEY_A] }, { name: 'app', groups: ['docker'], sshAuthorizedKeys: [KEY_B] }] });
    expect(textAt(writes, '/etc/ssh/authorized_keys.d/root')).toBe(`${KEY_A}\n`);
    expect(at(writes, '/etc/ssh/authorized_keys.d/app')).toMatchObject({ mode: 0o644, uid: 0, gid: 0 });
    expect(textAt(writes, `${ACCOUNTS_DIR}/passwd`)).toBe('');
    expect(lines(writes, `${ACCOUNTS_DIR}/members`)).toEqual(['docker:app']);
    expect(writes.some((w) => w.path.startsWith('/var/home/'))).toBe(false);
  });

  it('writes no accounts when image users get keys only', () => {
    const writes = plan({ users: [{ name: 'root', sshAuthorizedKeys: [KEY_A] }] });
    expect(writes.some((w) => w.path.startsWith(ACCOUNTS_DIR))).toBe(false);
  });
});
