import { describe, expect, it } from 'vitest';
import { formatIssues } from '../../../src/recipe/load.ts';
import { HostConfigSchema, HostFileSchema, HostUnitSchema, hostConfigJsonSchema, type HostConfig } from '../../../src/hostconfig/schema.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';

function valid(input: unknown): HostConfig {
  const parsed = HostConfigSchema.safeParse(input);
  if (!parsed.success) throw new Error(`expected a valid host config, got:\n${formatIssues(parsed.error.issues).join('\n')}`);
  return parsed.data;
}

/** The problem lines of an invalid host config, each `path: message`. */
function problems(input: unknown): string[] {
  const parsed = HostConfigSchema.safeParse(input);
  if (parsed.success) throw new Error('expected an invalid host config');
  return formatIssues(parsed.error.issues);
}

function file(extra: Record<string, unknown>): unknown {
  return { files: [{ path: '/etc/app.conf', content: 'x', ...extra }] };
}

describe('HostConfigSchema', () => {
  it('gives an empty config every default', () => {
    expect(valid({})).toEqual({ users: [], files: [], units: [], containers: [], network: { interfaces: [] }, sysctl: {} });
  });

  it('parses a full config and fills in the defaults of each part', () => {
    const config = valid({
      hostname: 'web-1',
      users: [{ name: 'alice', groups: ['sudo'], sshAuthorizedKeys: [KEY] }, { name: 'bob', uid: 2000, shell: '/bin/sh' }],
      files: [{ path: '/etc/app/env', content: 'MODE=prod\n', owner: 'alice', mode: '0640' }, { path: '/var/lib/app/blob', base64: 'AAEC' }],
      units: [
        { name: 'app.service', content: '[Service]\nExecStart=/bin/true\n', enabled: true },
        { name: 'ssh.service', dropins: [{ name: '10-env.conf', content: '[Service]\nEnvironment=A=1\n' }] },
        { name: 'cron.service', mask: true },
      ],
      containers: [{ name: 'web', image: { ref: 'registry.example/web:1' }, ports: [{ host: 80, container: 8080 }] }],
      network: { interfaces: [{ name: 'en*', addresses: ['192.0.2.10/24', '2001:db8::10/64'], gateway: '192.0.2.1', dns: ['192.0.2.53'], routes: [{ to: '198.51.100.0/24', via: '192.0.2.254' }] }] },
      sysctl: { 'net.core.somaxconn': 1024, 'vm.swappiness': '10' },
      timezone: 'Europe/Berlin',
      update: { channel: 'stable' },
    });
    expect(config.hostname).toBe('web-1');
    expect(config.users).toEqual([
      { name: 'alice', groups: ['sudo'], sshAuthorizedKeys: [KEY] },
      { name: 'bob', uid: 2000, groups: [], shell: '/bin/sh', sshAuthorizedKeys: [] },
    ]);
    expect(config.files).toEqual([
      { path: '/etc/app/env', content: 'MODE=prod\n', owner: 'alice', mode: 0o640 },
      { path: '/var/lib/app/blob', base64: 'AAEC', owner: 'root:root', mode: 0o644 },
    ]);
    expect(config.units).toEqual([
      { name: 'app.service', content: '[Service]\nExecStart=/bin/true\n', enabled: true, dropins: [], mask: false },
      { name: 'ssh.service', dropins: [{ name: '10-env.conf', content: '[Service]\nEnvironment=A=1\n' }], mask: false },
      { name: 'cron.service', dropins: [], mask: true },
    ]);
    expect(config.containers[0]).toEqual({
      name: 'web', image: { ref: 'registry.example/web:1', plainHttp: false }, env: {}, ports: [{ host: 80, container: 8080, protocol: 'tcp' }], mounts: [], restart: 'always', readOnly: false,
    });
    expect(config.network.interfaces).toEqual([{
      name: 'en*', dhcp: false, addresses: ['192.0.2.10/24', '2001:db8::10/64'], gateway: '192.0.2.1', dns: ['192.0.2.53'], routes: [{ to: '198.51.100.0/24', via: '192.0.2.254' }],
    }]);
    expect(config.sysctl).toEqual({ 'net.core.somaxconn': 1024, 'vm.swappiness': '10' });
    expect(config.timezone).toBe('Europe/Berlin');
    expect(config.update).toEqual({ channel: 'stable' });
  });

  it('names an unknown key and where it is', () => {
    expect(problems({ hostnme: 'a' })).toEqual(['(top level): unknown key "hostnme"']);
    expect(problems({ users: [{ name: 'alice', password: 'x' }] })).toEqual(['users[0]: unknown key "password"']);
    expect(problems({ units: [{ name: 'a.service', content: '', dropins: [{ name: 'a.conf', content: '', mode: 1 }] }] }))
      .toEqual(['units[0].dropins[0]: unknown key "mode"']);
    expect(problems({ network: { interfaces: [{ name: 'eth0', dhcp: true, mtu: 9000 }] } })).toEqual(['network.interfaces[0]: unknown key "mtu"']);
  });

  it.each(['web', 'web-1', 'a', '0node', 'a'.repeat(63)])('accepts the host name "%s"', (hostname) => {
    expect(valid({ hostname }).hostname).toBe(hostname);
  });

  it.each(['Web', 'web_1', '-web', 'web-', 'web.example.com', 'a'.repeat(64), ''])('refuses the host name "%s"', (hostname) => {
    expect(problems({ hostname })).toEqual(['hostname: expected a host name: lower-case letters, digits and dashes, up to 63']);
  });

  it.each([['0640', 0o640], ['0644', 0o644], ['644', 0o644], ['0755', 0o755], ['4755', 0o4755], ['0600', 0o600], ['0000', 0]])('reads the mode "%s" as octal', (mode, value) => {
    expect(valid(file({ mode })).files[0]!.mode).toBe(value);
  });

  it('refuses an unquoted mode, saying how to write it', () => {
    expect(problems(file({ mode: 644 }))).toEqual(['files[0].mode: expected a quoted octal mode such as "0644"']);
  });

  it.each(['0648', '64', 'rw-r--r--', '012345', ''])('refuses the mode "%s"', (mode) => {
    expect(problems(file({ mode }))).toEqual(['files[0].mode: expected an octal mode such as "0644"']);
  });

  it.each(['root', 'alice:sudo', 'www-data:www-data', '_apt', '1000', '1000:1000', 'alice:27', '0:adm'])('accepts the owner "%s"', (owner) => {
    expect(valid(file({ owner })).files[0]!.owner).toBe(owner);
  });

  it.each(['Alice', 'alice:', ':sudo', 'alice:sudo:x', 'alice bob', '1000a', '-x'])('refuses the owner "%s"', (owner) => {
    expect(problems(file({ owner }))).toEqual(['files[0].owner: expected "user" or "user:group", by name or numeric id']);
  });

  it('needs exactly one of content and base64 in a file', () => {
    expect(problems({ files: [{ path: '/etc/a' }] })).toEqual(['files[0]: give exactly one of content or base64']);
    expect(problems({ files: [{ path: '/etc/a', content: 'x', base64: 'eA==' }] })).toEqual(['files[0]: give exactly one of content or base64']);
    expect(valid({ files: [{ path: '/etc/a', content: '' }] }).files[0]!.content).toBe('');
  });

  it.each(['etc/a', '/etc/../usr/a', '/etc/./a', '/var/lib/..'])('refuses the file path "%s"', (path) => {
    expect(problems({ files: [{ path, content: 'x' }] })).toEqual(['files[0].path: expected an absolute path without . or .. parts']);
  });

  it('accepts hidden files, whose names only start with a dot', () => {
    expect(valid({ files: [{ path: '/etc/app/.env', content: 'x' }] }).files[0]!.path).toBe('/etc/app/.env');
  });

  it('needs content, dropins, enabled or mask in a unit', () => {
    expect(problems({ units: [{ name: 'app.service' }] })).toEqual(['units[0]: give content, dropins, enabled or mask']);
    expect(problems({ units: [{ name: 'app.service', dropins: [] }] })).toEqual(['units[0]: give content, dropins, enabled or mask']);
    expect(HostUnitSchema.safeParse({ name: 'app.service', enabled: false }).success).toBe(true);
    expect(HostUnitSchema.safeParse({ name: 'app.service', mask: true }).success).toBe(true);
    expect(HostUnitSchema.safeParse({ name: 'app.service', content: '' }).success).toBe(true);
  });

  it.each(['app.service', 'getty@tty1.service', 'sys-fs.mount', 'backup.timer', 'a_b.socket', 'x.path', 'app.target'])('accepts the unit name "%s"', (name) => {
    expect(HostUnitSchema.safeParse({ name, mask: true }).success).toBe(true);
  });

  it.each(['app', 'app.conf', 'a/b.service', '../x.service'])('refuses the unit name "%s"', (name) => {
    expect(problems({ units: [{ name, mask: true }] })).toEqual(['units[0].name: expected a unit file name such as app.service']);
  });

  it('refuses a drop-in whose name does not end in .conf', () => {
    expect(problems({ units: [{ name: 'app.service', dropins: [{ name: 'env', content: '' }] }] }))
      .toEqual(['units[0].dropins[0].name: expected a drop-in name such as 10-env.conf']);
  });

  it.each(['net.core.somaxconn', 'net.ipv4.conf.all.forwarding', 'net/ipv4/ip_forward', 'kernel.pid_max', 'net.ipv4.conf.eth-0.rp_filter'])('accepts the sysctl key %s', (key) => {
    expect(valid({ sysctl: { [key]: 1 } }).sysctl).toEqual({ [key]: 1 });
  });

  it.each(['Net.Core', 'net core', 'net.core=1', ''])('refuses the sysctl key "%s"', (key) => {
    expect(problems({ sysctl: { [key]: 1 } })).toEqual([`sysctl.${key}: expected a sysctl key such as net.core.somaxconn`]);
  });

  it('refuses a sysctl value that is neither a string nor a number', () => {
    expect(problems({ sysctl: { 'vm.swappiness': true } })).toHaveLength(1);
    expect(problems({ sysctl: { 'vm.swappiness': true } })[0]).toMatch(/^sysctl\.vm\.swappiness: /);
  });

  it.each(['192.0.2.10/24', '10.0.0.1/8', '2001:db8::1/64', 'fe80::1/10', '::1/128'])('accepts the interface address %s', (address) => {
    expect(valid({ network: { interfaces: [{ name: 'eth0', addresses: [address] }] } }).network.interfaces[0]!.addresses).toEqual([address]);
  });

  it.each(['192.0.2.10', '192.0.2/24', 'example.com/24', '2001:db8::1', '192.0.2.10/'])('refuses the interface address "%s"', (address) => {
    expect(problems({ network: { interfaces: [{ name: 'eth0', addresses: [address] }] } }))
      .toEqual(['network.interfaces[0].addresses[0]: expected an address with prefix length, such as 192.0.2.10/24']);
  });

  it('refuses a gateway, DNS server or route that is not an IP address, naming each', () => {
    expect(problems({ network: { interfaces: [{ name: 'eth0', dhcp: true, gateway: 'router', dns: ['dns.example'], routes: [{ to: '10.0.0.0', via: '10.0.0.1' }] }] } })).toEqual([
      'network.interfaces[0].gateway: expected an IP address',
      'network.interfaces[0].routes[0].to: expected an address with prefix length, such as 192.0.2.10/24',
      'network.interfaces[0].dns[0]: expected an IP address',
    ]);
  });

  it('refuses an interface name with a slash or space', () => {
    expect(problems({ network: { interfaces: [{ name: 'eth 0', dhcp: true }] } }))
      .toEqual(['network.interfaces[0].name: expected an interface name or glob such as enp0s1 or en*']);
  });

  it('refuses values that would add a line or a field to authorized_keys, passwd or sysctl.d', () => {
    const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice';
    expect(problems({
      users: [{ name: 'alice', shell: '/bin/sh:0:0', sshAuthorizedKeys: [key, `${key}\nssh-rsa AAAAB3NzaC1yc2E mallory`, 'ssh-rsa AAAA\tx'] }],
      sysctl: { 'net.core.somaxconn': '1024\nkernel.modules_disabled = 1' },
    })).toEqual([
      'users[0].shell: expected a path without ":" (it separates passwd fields)',
      'users[0].sshAuthorizedKeys[1]: expected one OpenSSH public key line, such as "ssh-ed25519 AAAA... user@host"',
      'users[0].sshAuthorizedKeys[2]: expected one OpenSSH public key line, such as "ssh-ed25519 AAAA... user@host"',
      'sysctl.net.core.somaxconn: expected a value on one line, without control characters',
    ]);
  });

  it('refuses bad user names, uids outside the regular range and lines that are not public keys', () => {
    expect(problems({ users: [{ name: 'Alice', uid: 999, shell: 'bash', sshAuthorizedKeys: ['AAAAC3Nz alice'] }] })).toEqual([
      'users[0].name: expected a user name (lower-case letters, digits, _ and -)',
      'users[0].uid: Too small: expected number to be >=1000',
      'users[0].shell: expected an absolute path without . or .. parts',
      'users[0].sshAuthorizedKeys[0]: expected one OpenSSH public key line, such as "ssh-ed25519 AAAA... user@host"',
    ]);
    expect(problems({ users: [{ name: 'alice', uid: 60000 }] })).toEqual(['users[0].uid: Too big: expected number to be <=59999']);
  });

  it.each(['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+1'])('accepts the time zone %s', (timezone) => {
    expect(valid({ timezone }).timezone).toBe(timezone);
  });

  it.each(['Europe/', '/UTC', 'Europe/../etc', 'Europe Berlin'])('refuses the time zone "%s"', (timezone) => {
    expect(problems({ timezone })).toEqual(['timezone: expected a time zone such as Europe/Berlin']);
  });

  it('refuses an update channel that is not a plain name', () => {
    expect(problems({ update: { channel: 'Stable Channel' } })).toEqual(['update.channel: expected a channel name such as stable']);
  });

  it('refuses a reboot window that is not HH:MM-HH:MM, or never opens', () => {
    expect(problems({ update: { rebootWindow: '2-4' } })).toEqual(['update.rebootWindow: expected a reboot window such as 02:00-04:00 (host local time)']);
    expect(problems({ update: { rebootWindow: '02:00-02:00' } })).toEqual(['update.rebootWindow: a reboot window must end at another time than it starts']);
    expect(HostConfigSchema.safeParse({ update: { rebootWindow: '23:00-01:00' } }).success).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(problems({ hostname: 'A', files: [{ path: '/etc/a', mode: 644, content: 'x' }], units: [{ name: 'x', mask: true }] })).toEqual([
      'hostname: expected a host name: lower-case letters, digits and dashes, up to 63',
      'files[0].mode: expected a quoted octal mode such as "0644"',
      'units[0].name: expected a unit file name such as app.service',
    ]);
  });
});

describe('HostFileSchema', () => {
  it('defaults to mode 0644 owned by root', () => {
    expect(HostFileSchema.parse({ path: '/etc/a', base64: '' })).toEqual({ path: '/etc/a', base64: '', mode: 0o644, owner: 'root:root' });
  });
});

describe('hostConfigJsonSchema', () => {
  it('describes the input format with every top-level key and no extra keys allowed', () => {
    const schema = hostConfigJsonSchema() as { properties: Record<string, unknown>; additionalProperties: unknown };
    expect(Object.keys(schema.properties).sort()).toEqual(['containers', 'files', 'hostname', 'install', 'network', 'sysctl', 'timezone', 'units', 'update', 'users']);
    expect(schema.additionalProperties).toBe(false);
  });
});
