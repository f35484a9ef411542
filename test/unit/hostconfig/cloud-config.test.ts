import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { baseFacts, type ImageFacts } from '../../../src/hostconfig/facts.ts';
import { decodeUserData, hostConfigFrom, parseHostConfig } from '../../../src/hostconfig/load.ts';
import { validateConfigFile } from '../../../src/hostconfig/read.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';
const OTHER = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7i4jv8Y7Ex5Nn1tGsYxX6jfUz7mgm8Pp9dYvWQ6Gxv ops@bastion';

function facts(): ImageFacts {
  const image = baseFacts();
  image.hasTimezone = (name) => name === 'Europe/Berlin';
  return image;
}

function problems(text: string | Buffer): string[] {
  try {
    parseHostConfig(text, 'user-data', facts());
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const CLOUD = `#cloud-config
hostname: web-1
users:
  - name: alice
    groups: sudo, adm
    shell: /bin/sh
    ssh_authorized_keys: ["${KEY}"]
ssh_authorized_keys: ["${OTHER}"]
write_files:
  - path: /etc/app/a.conf
    content: hello
    permissions: "0600"
    owner: alice:adm
  - path: /etc/app/b.bin
    encoding: gz+b64
    content: ${gzipSync('zipped\n').toString('base64')}
timezone: Europe/Berlin
`;

describe('#cloud-config user data', () => {
  it('gives the host its native twin gives', () => {
    const native = parseHostConfig(
      JSON.stringify({
        hostname: 'web-1',
        users: [{ name: 'alice', groups: ['sudo', 'adm'], shell: '/bin/sh', sshAuthorizedKeys: [KEY] }, { name: 'root', sshAuthorizedKeys: [OTHER] }],
        files: [
          { path: '/etc/app/a.conf', base64: Buffer.from('hello').toString('base64'), mode: '0600', owner: 'alice:adm' },
          { path: '/etc/app/b.bin', base64: Buffer.from('zipped\n').toString('base64') },
        ],
        timezone: 'Europe/Berlin',
      }),
      'native.json',
      facts(),
    );
    expect(parseHostConfig(CLOUD, 'user-data', facts())).toEqual(native);
  });

  it('reads gzip-compressed user data of every kind', () => {
    expect(parseHostConfig(gzipSync(CLOUD), 'user-data', facts()).hostname).toBe('web-1');
    expect(decodeUserData(gzipSync('hostname: a\n'), 'x').kind).toBe('native');
    expect(decodeUserData(gzipSync(JSON.stringify({ ignition: { version: '3.4.0' } })), 'x').kind).toBe('ignition');
  });

  it('validates a gzipped config file as slipway config validate reads it', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'slipway-cloud-config-')), 'user-data.gz');
    writeFileSync(file, gzipSync(CLOUD));
    try {
      expect(validateConfigFile(file, facts()).hostname).toBe('web-1');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('refuses gzip that does not inflate, or inflates past 16 MiB', () => {
    expect(problems(Buffer.from([0x1f, 0x8b, 1, 2, 3]))).toEqual(['user-data: (top level): starts like gzip but does not inflate']);
    expect(problems(gzipSync(Buffer.alloc(17 * 1024 ** 2, 0x20)))).toEqual(['user-data: (top level): inflates past 16 MiB, the most a host config may be']);
  });

  it('bounds all the gzip-encoded write_files of a config together', () => {
    const nine = gzipSync(Buffer.alloc(9 * 1024 ** 2, 0x20)).toString('base64');
    const files = [0, 1].map((index) => `  - path: /etc/part${index}\n    encoding: gz+b64\n    content: ${nine}\n`).join('');
    expect(problems(`#cloud-config\nwrite_files:\n${files}`)).toEqual(['user-data: write_files[1].content: inflates past 16 MiB, the most a host config may be']);
  });

  it('refuses every key outside the subset, with its path and why', () => {
    expect(problems('#cloud-config\npackages: [nginx]\nruncmd: [reboot]\nusers:\n  - default\n  - name: bob\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    lock_passwd: true\n')).toEqual([
      'user-data: users[0]: slipway images have no default user: give each user by name',
      'user-data: users[1].sudo: not supported by slipway (give the user the sudo group instead)',
      'user-data: users[1].lock_passwd: not supported by slipway (accounts have no password to lock: logins are key-only)',
      'user-data: packages: not supported by slipway, which reads hostname, fqdn, users, ssh_authorized_keys, write_files and timezone of a cloud-config',
      'user-data: runcmd: not supported by slipway, which reads hostname, fqdn, users, ssh_authorized_keys, write_files and timezone of a cloud-config',
    ]);
  });

  it('refuses keys of a user or a file outside the subset, saying what it reads', () => {
    expect(problems('#cloud-config\nusers:\n  - name: bob\n    gecos: Bob\nwrite_files:\n  - path: /etc/a\n    defer: true\n    source: x\n')).toEqual([
      'user-data: users[0].gecos: not supported by slipway, which reads name, ssh_authorized_keys, groups and shell of a user',
      'user-data: write_files[0].defer: not supported by slipway (files are written before the host starts)',
      'user-data: write_files[0].source: not supported by slipway, which reads path, content, encoding, permissions and owner of a file',
    ]);
  });

  it('names the host by the first label of a hostname or fqdn with a domain, as cloud-init does', () => {
    expect(parseHostConfig('#cloud-config\nhostname: web-2.example.com\n', 'user-data', facts()).hostname).toBe('web-2');
    expect(parseHostConfig('#cloud-config\nfqdn: db-1.internal.example\n', 'user-data', facts()).hostname).toBe('db-1');
    expect(parseHostConfig('#cloud-config\nhostname: api\nfqdn: api-7.example.com\n', 'user-data', facts()).hostname).toBe('api');
    expect(problems('#cloud-config\nfqdn: DB_1.example.com\n')).toEqual(['user-data: fqdn: expected a host name: lower-case letters, digits and dashes, up to 63']);
  });

  it('reads a cloud-config that starts with a byte-order mark', () => {
    expect(parseHostConfig(`\uFEFF${CLOUD}`, 'user-data', facts()).hostname).toBe('web-1');
  });

  it('names problems found after conversion by their cloud-config path', () => {
    expect(problems('#cloud-config\nhostname: Web_1\nwrite_files:\n  - path: /usr/x\n    content: a\n    permissions: "9"\nssh_authorized_keys: ["not a key"]\n')).toEqual([
      'user-data: hostname: expected a host name: lower-case letters, digits and dashes, up to 63',
      'user-data: ssh_authorized_keys[0]: expected one OpenSSH public key line, such as "ssh-ed25519 AAAA... user@host"',
      'user-data: write_files[0].permissions: expected an octal mode such as "0644"',
    ]);
    expect(problems('#cloud-config\nwrite_files:\n  - path: /usr/x\n    content: a\n')).toEqual(['user-data: write_files[0].path: /usr/x is on the read-only root; files go under /etc or /var']);
  });

  it('refuses scripts and MIME archives as user data, saying what to give instead', () => {
    expect(problems('#!/bin/sh\necho hi\n')).toEqual(['user-data: (top level): a script, which slipway does not run as user data; give a host config, an Ignition config or a #cloud-config']);
    expect(problems('Content-Type: multipart/mixed; boundary="x"\nMIME-Version: 1.0\n')[0]).toMatch(/MIME multi-part archive/);
  });
});

describe('a platform\'s identity', () => {
  const data = (text: string) => decodeUserData(text, 'aws instance metadata');

  it('names the host and gives root the platform\'s keys when the config does not', () => {
    const config = hostConfigFrom(data('users: [{ name: alice }]\n'), 'md', facts(), { hostname: 'ip-10-0-0-1', sshKeys: [KEY] });
    expect(config.hostname).toBe('ip-10-0-0-1');
    expect(config.users).toEqual([{ name: 'alice', groups: [], sshAuthorizedKeys: [] }, { name: 'root', groups: [], sshAuthorizedKeys: [KEY] }]);
  });

  it('leaves the name an Ignition config writes to /etc/hostname', () => {
    const ignition = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/hostname', contents: { source: 'data:,mine' } }] } });
    expect(hostConfigFrom(decodeUserData(ignition, 'md'), 'md', facts(), { hostname: 'theirs', sshKeys: [] }).hostname).toBeUndefined();
  });

  it('leaves what the config sets', () => {
    const config = hostConfigFrom(data(`hostname: mine\nusers: [{ name: root, sshAuthorizedKeys: ["${OTHER}"] }]\n`), 'md', facts(), { hostname: 'theirs', sshKeys: [KEY] });
    expect(config.hostname).toBe('mine');
    expect(config.users).toEqual([{ name: 'root', groups: [], sshAuthorizedKeys: [OTHER] }]);
  });

  it('makes a host of the identity alone when there is no user data', () => {
    expect(hostConfigFrom(data(''), 'md', facts(), { sshKeys: [KEY] }).users).toEqual([{ name: 'root', groups: [], sshAuthorizedKeys: [KEY] }]);
  });
});
