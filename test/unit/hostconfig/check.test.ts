import { describe, expect, it } from 'vitest';
import { checkHostConfig, isValidBase64 } from '../../../src/hostconfig/check.ts';
import { baseFacts, type ImageFacts } from '../../../src/hostconfig/facts.ts';
import { HostConfigSchema, type HostConfigInput } from '../../../src/hostconfig/schema.ts';

const GOOD_UNIT = '[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n';

/** Facts of an image with a recipe user, a few units, a container and some time zones. */
function imageFacts(): ImageFacts {
  const facts = baseFacts();
  facts.users.set('app', { uid: 1000, gid: 1000, home: '/home/app' });
  facts.groups.set('app', 1000);
  facts.groups.set('docker', 998);
  facts.units = new Set(['ssh.service', 'containerd.service', 'apt-daily.timer']);
  facts.containers = new Set(['web']);
  const zones = new Set(['UTC', 'Europe/Berlin']);
  facts.hasTimezone = (name) => zones.has(name);
  return facts;
}

function check(input: HostConfigInput, facts: ImageFacts = imageFacts()): string[] {
  return checkHostConfig(HostConfigSchema.parse(input), facts);
}

describe('checkHostConfig', () => {
  it('refuses an [Install] target that is not a unit name, so no link is made outside the unit folders', () => {
    const unit = '[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=../../../tmp/x multi-user.target\nRequiredBy=a/b.target\n';
    expect(check({ units: [{ name: 'app.service', content: unit, enabled: true }] })).toEqual([
      'units[0].content: [Install] names "../../../tmp/x", which is not a unit name such as multi-user.target',
      'units[0].content: [Install] names "a/b.target", which is not a unit name such as multi-user.target',
    ]);
  });

  it('refuses a plan the initrd could only half apply: a file below a file, files where homes, keys and units go', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm5oE1dTqMbkq7nnGf2h0J+3aUqV0lKq8y0b9O7UWfN alice@laptop';
    expect(check({
      users: [{ name: 'alice', sshAuthorizedKeys: [key] }, { name: 'bob' }],
      files: [
        { path: '/etc/a', content: 'x' },
        { path: '/etc/a/b', content: 'y' },
        { path: '/var/home/bob', content: 'z' },
        { path: '/var/home/alice/.ssh/authorized_keys/x', content: 'k' },
        { path: '/var/home', content: 'h' },
        { path: '/etc/systemd/system/app.service', content: GOOD_UNIT },
      ],
      units: [{ name: 'app.service', content: GOOD_UNIT }],
    })).toEqual([
      'files[1].path: /etc/a/b is below /etc/a, which files[0] makes a file',
      'files[2].path: /var/home/bob is below /var/home, which files[4] makes a file',
      'files[2].path: /var/home/bob is the home of users[1] (bob); give the file another path',
      'files[3].path: /var/home/alice/.ssh/authorized_keys/x is below /var/home/alice/.ssh/authorized_keys, which is the authorized keys of users[0] (alice)',
      'files[3].path: /var/home/alice/.ssh/authorized_keys/x is below /var/home, which files[4] makes a file',
      'files[4].path: /var/home is a folder of the home of users[0] (alice); give the file another path',
      'files[5].path: /etc/systemd/system/app.service is the unit file of units[0]; give the file another path',
    ]);
  });

  it('refuses one uid given to two users', () => {
    expect(check({ users: [{ name: 'alice', uid: 2000 }, { name: 'bob', uid: 2001 }, { name: 'carol', uid: 2000 }] })).toEqual(['users[2].uid: 2000 is given to another user too']);
  });

  it('finds nothing wrong with a config that fits the image', () => {
    expect(check({
      hostname: 'web-1',
      users: [{ name: 'alice', groups: ['sudo', 'docker', 'bob'] }, { name: 'bob' }],
      files: [
        { path: '/etc/app/env', content: 'x', owner: 'alice:bob' },
        { path: '/var/lib/app/db', base64: 'AAEC', owner: 'app:sudo' },
        { path: '/etc/numeric', content: '', owner: '1234:5678' },
        { path: '/etc/own', content: '', owner: 'bob' },
      ],
      units: [
        { name: 'app.service', content: GOOD_UNIT, enabled: true },
        { name: 'ssh.service', dropins: [{ name: '10-a.conf', content: '[Service]\nNice=5\n' }], enabled: true },
        { name: 'apt-daily.timer', mask: true },
        { name: 'quiet.service', content: '[Service]\nExecStart=/bin/true\n', enabled: false },
      ],
      containers: [{ name: 'api', image: { ref: 'registry.example/api:1' } }],
      network: { interfaces: [{ name: 'en*', dhcp: true }, { name: 'eth1', addresses: ['10.0.0.2/24'] }] },
      timezone: 'Europe/Berlin',
    })).toEqual([]);
  });

  it('refuses a file owner that is neither a config user nor an image user', () => {
    expect(check({ files: [{ path: '/etc/a', content: '' }, { path: '/etc/b', content: '', owner: 'carol' }] }))
      .toEqual(['files[1].owner: unknown user "carol" (neither in users nor in the image)']);
  });

  it('refuses a file group that is neither a config user\'s group nor an image group', () => {
    expect(check({ files: [{ path: '/etc/a', content: '', owner: 'root:wheel' }] }))
      .toEqual(['files[0].owner: unknown group "wheel" (neither a user\'s group nor in the image)']);
  });

  it('reports both an unknown user and an unknown group of one file', () => {
    expect(check({ files: [{ path: '/etc/a', content: '', owner: 'carol:wheel' }] })).toEqual([
      'files[0].owner: unknown user "carol" (neither in users nor in the image)',
      'files[0].owner: unknown group "wheel" (neither a user\'s group nor in the image)',
    ]);
  });

  it('refuses base64 that does not decode', () => {
    expect(check({ files: [{ path: '/etc/a', base64: 'not base64!' }, { path: '/etc/b', base64: 'AAE' }] }))
      .toEqual(['files[0].base64: not valid base64', 'files[1].base64: not valid base64']);
  });

  it.each(['/usr/local/bin/app', '/opt/app', '/home/alice/.bashrc', '/etc', '/var', '/etcetera/a', '/variable/a'])('refuses the path %s outside /etc and /var', (path) => {
    expect(check({ files: [{ path, content: '' }] })).toEqual([`files[0].path: ${path} is on the read-only root; files go under /etc or /var`]);
  });

  it('refuses a file path given twice', () => {
    expect(check({ files: [{ path: '/etc/a', content: '1' }, { path: '/etc/b', content: '' }, { path: '/etc/a', content: '2' }] }))
      .toEqual(['files[2]: "/etc/a" is given twice']);
  });

  it('gives a user the image has keys and groups, but no uid or shell of its own', () => {
    expect(check({ users: [{ name: 'alice' }, { name: 'root', groups: ['adm'], sshAuthorizedKeys: ['ssh-ed25519 AAAA k'] }, { name: 'www-data' }] })).toEqual([]);
    expect(check({ users: [{ name: 'app', uid: 1500 }, { name: 'root', shell: '/bin/sh' }] })).toEqual([
      'users[0].uid: "app" is a user of the image, which a config gives only ssh keys and groups; leave uid out or give a new user name',
      'users[1].shell: "root" is a user of the image, which a config gives only ssh keys and groups; leave shell out or give a new user name',
    ]);
  });

  it('refuses a user named like a group of the image, whose own group would clash with it', () => {
    expect(check({ users: [{ name: 'docker' }, { name: 'staff' }] })).toEqual([
      'users[0].name: "docker" is a group of the image; give a new user name',
      'users[1].name: "staff" is a group of the image; give a new user name',
    ]);
  });

  it('refuses a uid the image already uses', () => {
    expect(check({ users: [{ name: 'alice', uid: 1000 }, { name: 'bob', uid: 1001 }] })).toEqual(['users[0].uid: 1000 is already used in the image']);
  });

  it('refuses a user name given twice', () => {
    expect(check({ users: [{ name: 'alice' }, { name: 'alice' }] })).toEqual(['users[1]: "alice" is given twice']);
  });

  it('refuses a supplementary group the image does not have', () => {
    expect(check({ users: [{ name: 'alice', groups: ['sudo', 'wheel'] }] })).toEqual(['users[0].groups[1]: unknown group "wheel"']);
  });

  it('refuses a unit that does not parse, naming its line', () => {
    expect(check({ units: [{ name: 'app.service', content: '[Service]\nExecStart=/bin/true\nRestart always\n' }] }))
      .toEqual(['units[0].content: does not parse as a unit file: line 3: "Restart always" is not a Key=Value line, a [Section] header or a comment']);
  });

  it('refuses a drop-in that does not parse, naming the drop-in and its line', () => {
    expect(check({ units: [{ name: 'ssh.service', dropins: [{ name: '10-a.conf', content: '[Service]\n' }, { name: '20-b.conf', content: 'Nice=5\n' }] }] }))
      .toEqual(['units[0].dropins[1].content: does not parse as a unit file: line 1: Nice= comes before any [Section] header']);
  });

  it('refuses drop-ins and enabling for a unit the image does not have', () => {
    expect(check({ units: [{ name: 'nginx.service', dropins: [{ name: '10-a.conf', content: '[Service]\n' }] }, { name: 'foo.service', enabled: true }] })).toEqual([
      'units[0]: nginx.service is not in the image; give its content',
      'units[1]: foo.service is not in the image; give its content',
    ]);
  });

  it('takes any unit name as the image\'s when the image\'s units are not known', () => {
    expect(check({ units: [{ name: 'nginx.service', dropins: [{ name: '10-a.conf', content: '[Service]\n' }] }] }, baseFacts())).toEqual([]);
  });

  it('refuses enabling a unit whose content has no [Install] targets', () => {
    expect(check({ units: [{ name: 'app.service', content: '[Service]\nExecStart=/bin/true\n', enabled: true }] }))
      .toEqual(['units[0].enabled: app.service has no WantedBy= or RequiredBy= in an [Install] section, so it cannot be enabled']);
  });

  it('refuses enabled: false on a unit of the image, pointing to mask', () => {
    expect(check({ units: [{ name: 'ssh.service', enabled: false }] })).toEqual(['units[0].enabled: to turn off a unit of the image, use mask: true']);
  });

  it('refuses a unit name given twice', () => {
    expect(check({ units: [{ name: 'ssh.service', mask: true }, { name: 'ssh.service', dropins: [{ name: 'a.conf', content: '' }] }] }))
      .toEqual(['units[1]: "ssh.service" is given twice']);
  });

  it('refuses a container whose image is not pulled by reference', () => {
    expect(check({ containers: [{ name: 'api', image: { packages: ['busybox'] } }, { name: 'db', image: { archive: 'db.tar' } }] })).toEqual([
      'containers[0].image: a host config pulls its images (image.ref); images from packages or archives are built in by the recipe',
      'containers[1].image: a host config pulls its images (image.ref); images from packages or archives are built in by the recipe',
    ]);
  });

  it('refuses a container name the image already has', () => {
    expect(check({ containers: [{ name: 'web', image: { ref: 'registry.example/web:2' } }] })).toEqual(['containers[0].name: the image already has a container "web"']);
  });

  it('refuses a container name given twice', () => {
    expect(check({ containers: [{ name: 'api', image: { ref: 'a:1' } }, { name: 'api', image: { ref: 'a:2' } }] })).toEqual(['containers[1]: "api" is given twice']);
  });

  it('refuses an interface with neither DHCP nor an address, and one given twice', () => {
    expect(check({ network: { interfaces: [{ name: 'eth0' }, { name: 'eth1', dhcp: true }, { name: 'eth1', dhcp: true }] } })).toEqual([
      'network.interfaces[2]: "eth1" is given twice',
      'network.interfaces[0]: give dhcp: true or at least one address',
    ]);
  });

  it('refuses a time zone the image does not have, when it knows its zones', () => {
    expect(check({ timezone: 'Mars/Olympus' })).toEqual(['timezone: the image has no time zone "Mars/Olympus" (is tzdata in the recipe\'s packages?)']);
    expect(check({ timezone: 'Mars/Olympus' }, baseFacts())).toEqual([]);
  });

  it('reports every problem at once, in the order of the config', () => {
    expect(check({
      users: [{ name: 'app', shell: '/bin/sh' }],
      files: [{ path: '/opt/a', base64: '!' }],
      units: [{ name: 'x.service', content: 'oops' }],
      containers: [{ name: 'web', image: { ref: 'r/web:1' } }],
      timezone: 'Nowhere',
    })).toEqual([
      'users[0].shell: "app" is a user of the image, which a config gives only ssh keys and groups; leave shell out or give a new user name',
      'files[0].path: /opt/a is on the read-only root; files go under /etc or /var',
      'files[0].base64: not valid base64',
      'units[0].content: does not parse as a unit file: line 1: "oops" is not a Key=Value line, a [Section] header or a comment',
      'containers[0].name: the image already has a container "web"',
      'timezone: the image has no time zone "Nowhere" (is tzdata in the recipe\'s packages?)',
    ]);
  });
});

describe('isValidBase64', () => {
  it.each(['', 'AAEC', 'AAE=', 'AA==', 'aGVs\nbG8=', ' AAEC '])('accepts %j', (text) => {
    expect(isValidBase64(text)).toBe(true);
  });

  it.each(['A', 'AAE', 'AA=A', 'A===', 'AA-_', 'hello world!'])('refuses %j', (text) => {
    expect(isValidBase64(text)).toBe(false);
  });
});
