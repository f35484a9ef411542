import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { baseFacts, type ImageFacts } from '../../../src/hostconfig/facts.ts';
import { CONFIG_HINT, parseHostConfig } from '../../../src/hostconfig/load.ts';

function imageFacts(): ImageFacts {
  const facts = baseFacts();
  facts.users.set('app', { uid: 1000, gid: 1000, home: '/home/app' });
  facts.groups.set('app', 1000);
  facts.units = new Set(['ssh.service']);
  facts.containers = new Set(['web']);
  facts.hasTimezone = (name) => name === 'UTC';
  return facts;
}

function failure(text: string, label = 'host.yaml', facts = imageFacts()): ConfigError {
  try {
    parseHostConfig(text, label, facts);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function problems(text: string, label = 'host.yaml'): string[] {
  return failure(text, label).message.split('\n');
}

const ign = (rest: Record<string, unknown>) => JSON.stringify({ ignition: { version: '3.4.0' }, ...rest });

describe('parseHostConfig', () => {
  it('reads a YAML config', () => {
    const config = parseHostConfig('hostname: web\nusers:\n  - name: alice\n    groups: [sudo]\ntimezone: UTC\n', 'host.yaml', imageFacts());
    expect(config.hostname).toBe('web');
    expect(config.users).toEqual([{ name: 'alice', groups: ['sudo'], sshAuthorizedKeys: [] }]);
    expect(config.timezone).toBe('UTC');
  });

  it('reads a JSON config the same as YAML', () => {
    const yaml = parseHostConfig('hostname: web\nfiles:\n  - { path: /etc/a, content: x, mode: "0600" }\n', 'a.yaml', imageFacts());
    const json = parseHostConfig('{"hostname": "web", "files": [{"path": "/etc/a", "content": "x", "mode": "0600"}]}', 'a.json', imageFacts());
    expect(json).toEqual(yaml);
  });

  it('takes an empty file as a config of defaults', () => {
    expect(parseHostConfig('', 'empty.yaml', imageFacts())).toEqual({ users: [], files: [], units: [], containers: [], network: { interfaces: [] }, sysctl: {} });
    expect(parseHostConfig('# nothing yet\n', 'empty.yaml', imageFacts()).users).toEqual([]);
  });

  it('throws a ConfigError with exit code 12 and a hint', () => {
    const error = failure('hostname: Web\n');
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.exitCode).toBe(12);
    expect(error.hint).toBe(CONFIG_HINT);
    expect(error.hint).toMatch(/slipway config schema/);
  });

  it('reports a schema problem as FILE: path: message', () => {
    expect(problems('files:\n  - path: /etc/a\n    content: x\n    mode: 0644\n', '/srv/configs/web.yaml'))
      .toEqual(['/srv/configs/web.yaml: files[0].mode: expected a quoted octal mode such as "0644"']);
  });

  it('names an unknown key with its path', () => {
    expect(problems('users:\n  - name: alice\n    sshKeys: []\n')).toEqual(['host.yaml: users[0]: unknown key "sshKeys"']);
  });

  it('reports a check against the image as FILE: path: message', () => {
    expect(problems('users:\n  - name: app\n    uid: 1200\n')).toEqual(['host.yaml: users[0].uid: "app" is a user of the image, which a config gives only ssh keys and groups; leave uid out or give a new user name']);
    expect(problems('containers:\n  - name: web\n    image: { ref: r/web:1 }\n')).toEqual(['host.yaml: containers[0].name: the image already has a container "web"']);
    expect(problems('timezone: Europe/Berlin\n')).toEqual(['host.yaml: timezone: the image has no time zone "Europe/Berlin" (is tzdata in the recipe\'s packages?)']);
    expect(problems('units:\n  - name: ssh.service\n    enabled: false\n')).toEqual(['host.yaml: units[0].enabled: to turn off a unit of the image, use mask: true']);
  });

  it('reports a unit that does not parse with its line', () => {
    const text = 'units:\n  - name: app.service\n    content: |\n      [Service]\n      ExecStart=/bin/true\n      [Install\n';
    expect(problems(text)).toEqual(['host.yaml: units[0].content: does not parse as a unit file: line 3: "[Install" is not a valid [Section] header']);
  });

  it('reports every problem of the checks at once', () => {
    const text = [
      'users: [{ name: alice }, { name: alice }]',
      'files:',
      '  - { path: /usr/bin/x, content: "" }',
      '  - { path: /etc/y, base64: "%%%", owner: "nobody2:root" }',
      'containers: [{ name: api, image: { packages: [busybox] } }]',
    ].join('\n');
    expect(problems(text)).toEqual([
      'host.yaml: users[1]: "alice" is given twice',
      'host.yaml: files[0].path: /usr/bin/x is on the read-only root; files go under /etc or /var',
      'host.yaml: files[1].base64: not valid base64',
      'host.yaml: files[1].owner: unknown user "nobody2" (neither in users nor in the image)',
      'host.yaml: containers[0].image: a host config pulls its images (image.ref); images from packages or archives are built in by the recipe',
    ]);
  });

  it('reports every schema problem at once', () => {
    expect(problems('hostname: Web\nsysctl: { "Net.Core": 1 }\nupdate: { channel: "" }\n')).toEqual([
      'host.yaml: hostname: expected a host name: lower-case letters, digits and dashes, up to 63',
      'host.yaml: sysctl.Net.Core: expected a sysctl key such as net.core.somaxconn',
      'host.yaml: update.channel: expected a channel name such as stable',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(problems('hostname: web\nusers:\n  - name: alice\n   groups: [sudo]\n')).toEqual(['host.yaml: line 4, column 1: Sequence item without - indicator']);
    expect(problems('hostname: web\n\tusers: []\n')).toEqual(['host.yaml: line 2, column 1: Tabs are not allowed as indentation']);
    expect(problems('timezone: "UTC\n')).toEqual(['host.yaml: line 2, column 1: Missing closing "quote']);
  });

  it('reports every YAML syntax error at once', () => {
    expect(problems('a: 1\n b: 2\n')).toHaveLength(2);
  });

  it('refuses a key given twice as a YAML error, naming its place', () => {
    expect(problems('hostname: a\nhostname: b\n')).toEqual([expect.stringMatching(/^host\.yaml: line 2, column 1: Map keys must be unique/)]);
  });

  it.each(['just text\n', '- a\n- b\n', '42\n'])('refuses a document that is not a mapping: %j', (text) => {
    expect(problems(text)).toEqual(['host.yaml: (top level): expected a mapping of settings']);
  });
});

describe('parseHostConfig on an Ignition config', () => {
  it('names a file whose source does not decode by its Ignition path', () => {
    expect(problems(ign({ storage: { files: [{ path: '/etc/a', contents: { source: 'data:;base64,***' } }] } }), 'c.ign'))
      .toEqual(['c.ign: storage.files[0].contents.source: the data: URL is not valid base64']);
  });

  it('names a user problem by its place in passwd.users', () => {
    expect(problems(ign({ passwd: { users: [{ name: 'alice' }, { name: 'app', shell: '/bin/sh' }] } }), 'c.ign'))
      .toEqual(['c.ign: passwd.users[1].shell: "app" is a user of the image, which a config gives only ssh keys and groups; leave shell out or give a new user name']);
    expect(problems(ign({ passwd: { users: [{ name: 'alice' }, { name: 'alice' }] } }), 'c.ign'))
      .toEqual(['c.ign: passwd.users[1]: "alice" is given twice']);
    expect(problems(ign({ passwd: { users: [{ name: 'Alice' }] } }), 'c.ign'))
      .toEqual(['c.ign: passwd.users[0].name: expected a user name (lower-case letters, digits, _ and -)']);
  });

  it('names a file problem by its place in storage.files', () => {
    expect(problems(ign({ storage: { files: [{ path: '/etc/a' }, { path: '/usr/b' }] } }), 'c.ign'))
      .toEqual(['c.ign: storage.files[1].path: /usr/b is on the read-only root; files go under /etc or /var']);
  });

  it('names an unknown owner by the Ignition user or group it came from', () => {
    expect(problems(ign({ storage: { files: [{ path: '/etc/a', user: { name: 'carol' }, group: { name: 'wheel' } }] } }), 'c.ign')).toEqual([
      'c.ign: storage.files[0].user: unknown user "carol" (neither in users nor in the image)',
      'c.ign: storage.files[0].group: unknown group "wheel" (neither a user\'s group nor in the image)',
    ]);
  });

  it('names a unit and a drop-in that do not parse by their contents', () => {
    expect(problems(ign({ systemd: { units: [{ name: 'a.service', contents: 'oops' }, { name: 'ssh.service', dropins: [{ name: '10-a.conf', contents: '[Service]\nbad line\n' }] }] } }), 'c.ign')).toEqual([
      'c.ign: systemd.units[0].contents: does not parse as a unit file: line 1: "oops" is not a Key=Value line, a [Section] header or a comment',
      'c.ign: systemd.units[1].dropins[0].contents: does not parse as a unit file: line 2: "bad line" is not a Key=Value line, a [Section] header or a comment',
    ]);
  });

  it('names a unit the image does not have by its place in systemd.units', () => {
    expect(problems(ign({ systemd: { units: [{ name: 'nginx.service', enabled: true }] } }), 'c.ign'))
      .toEqual(['c.ign: systemd.units[0]: nginx.service is not in the image; give its content']);
  });

  it('names an Ignition schema problem by its Ignition path', () => {
    expect(problems(ign({ storage: { files: [{ path: '/etc/a', mode: '0644' }] } }), 'c.ign'))
      .toEqual([expect.stringMatching(/^c\.ign: storage\.files\[0\]\.mode: /)]);
  });

  it('throws a ConfigError with exit code 12 for Ignition problems too', () => {
    const error = failure(ign({ kernelArguments: { shouldExist: ['quiet'] } }), 'c.ign');
    expect(error.exitCode).toBe(12);
    expect(error.hint).toBe(CONFIG_HINT);
  });
});
