import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyWrites, hostPath, type ProvisionTarget } from '../../../src/hostconfig/apply.ts';
import { baseFacts } from '../../../src/hostconfig/facts.ts';
import { planProvision, type Write } from '../../../src/hostconfig/plan.ts';
import { HostConfigSchema } from '../../../src/hostconfig/schema.ts';
import { tempDir } from '../../helpers/archive.ts';

function target(): ProvisionTarget {
  const root = tempDir('apply');
  return { etc: join(root, 'etc-upper'), var: join(root, 'var') };
}

function file(path: string, content: string | Buffer, mode = 0o644, uid = 0, gid = 0): Write {
  return { kind: 'file', path, content: Buffer.from(content), mode, uid, gid };
}

/** Every path below `dir`, relative to it. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((p) => relative(dir, join(dir, p))).sort();
}

const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe('hostPath', () => {
  const into = { etc: '/var/lib/slipway/etc/upper', var: '/sysroot/var' };

  it('puts /etc paths into the /etc folder and /var paths into the /var folder', () => {
    expect(hostPath(into, '/etc/hostname')).toBe('/var/lib/slipway/etc/upper/hostname');
    expect(hostPath(into, '/etc/systemd/system/a.service')).toBe('/var/lib/slipway/etc/upper/systemd/system/a.service');
    expect(hostPath(into, '/var/home/alice')).toBe('/sysroot/var/home/alice');
  });

  it.each(['/usr/bin/app', '/etc', '/var', '/etcetera/a', '/variable/a', 'etc/a', '/home/alice'])('refuses %s', (path) => {
    expect(() => hostPath(into, path)).toThrow(`${path} is neither under /etc nor under /var`);
  });
});

describe('applyWrites', () => {
  it('writes files with their content, mode and owner, making their folders', () => {
    const to = target();
    applyWrites([
      file('/etc/app/conf.d/env', 'MODE=prod\n', 0o640, 1234, 5678),
      file('/var/lib/app/blob', Buffer.from([0, 1, 2, 255]), 0o600, 0, 0),
    ], to);
    const env = join(to.etc, 'app/conf.d/env');
    expect(readFileSync(env, 'utf8')).toBe('MODE=prod\n');
    expect(modeOf(env)).toBe(0o640);
    expect(statSync(env)).toMatchObject({ uid: 1234, gid: 5678 });
    expect(readFileSync(join(to.var, 'lib/app/blob'))).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(modeOf(join(to.var, 'lib/app/blob'))).toBe(0o600);
    expect(modeOf(join(to.etc, 'app/conf.d'))).toBe(0o755);
  });

  it('gives a file a mode the umask would take bits from', () => {
    const to = target();
    applyWrites([file('/etc/shared', 'x', 0o666)], to);
    expect(modeOf(join(to.etc, 'shared'))).toBe(0o666);
  });

  it('keeps setuid and setgid bits on a file given to another owner', () => {
    const to = target();
    applyWrites([file('/var/lib/app/tool', '#!/bin/sh\n', 0o6755, 1000, 1000)], to);
    expect(modeOf(join(to.var, 'lib/app/tool'))).toBe(0o6755);
  });

  it('replaces an existing file, leaving no temporary file behind', () => {
    const to = target();
    mkdirSync(to.etc, { recursive: true });
    writeFileSync(join(to.etc, 'motd'), 'old and much longer\n');
    applyWrites([file('/etc/motd', 'new\n', 0o644, 1000, 1000)], to);
    expect(readFileSync(join(to.etc, 'motd'), 'utf8')).toBe('new\n');
    expect(statSync(join(to.etc, 'motd'))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(tree(to.etc)).toEqual(['motd']);
  });

  it('writes a file over a symlink instead of through it', () => {
    const to = target();
    mkdirSync(join(to.etc, 'systemd/system'), { recursive: true });
    writeFileSync(join(to.etc, 'elsewhere'), 'keep\n');
    symlinkSync(join(to.etc, 'elsewhere'), join(to.etc, 'systemd/system/app.service'));
    applyWrites([file('/etc/systemd/system/app.service', '[Service]\n')], to);
    expect(lstatSync(join(to.etc, 'systemd/system/app.service')).isFile()).toBe(true);
    expect(readFileSync(join(to.etc, 'elsewhere'), 'utf8')).toBe('keep\n');
  });

  it('makes directories with their mode and owner, also when they exist', () => {
    const to = target();
    mkdirSync(join(to.var, 'home/bob'), { recursive: true, mode: 0o755 });
    applyWrites([
      { kind: 'dir', path: '/var/home/alice/.ssh', mode: 0o700, uid: 1001, gid: 1002 },
      { kind: 'dir', path: '/var/home/bob', mode: 0o750, uid: 1003, gid: 1004 },
    ], to);
    const ssh = join(to.var, 'home/alice/.ssh');
    expect(statSync(ssh).isDirectory()).toBe(true);
    expect(modeOf(ssh)).toBe(0o700);
    expect(statSync(ssh)).toMatchObject({ uid: 1001, gid: 1002 });
    expect(modeOf(join(to.var, 'home/bob'))).toBe(0o750);
    expect(statSync(join(to.var, 'home/bob'))).toMatchObject({ uid: 1003, gid: 1004 });
  });

  it('makes symlinks, replacing an existing one or a file', () => {
    const to = target();
    mkdirSync(to.etc, { recursive: true });
    symlinkSync('/usr/share/zoneinfo/UTC', join(to.etc, 'localtime'));
    writeFileSync(join(to.etc, 'masked.service'), '[Service]\n');
    applyWrites([
      { kind: 'symlink', path: '/etc/localtime', target: '/usr/share/zoneinfo/Europe/Berlin' },
      { kind: 'symlink', path: '/etc/masked.service', target: '/dev/null' },
      { kind: 'symlink', path: '/etc/systemd/system/multi-user.target.wants/app.service', target: '/etc/systemd/system/app.service' },
    ], to);
    expect(readlinkSync(join(to.etc, 'localtime'))).toBe('/usr/share/zoneinfo/Europe/Berlin');
    expect(readlinkSync(join(to.etc, 'masked.service'))).toBe('/dev/null');
    expect(readlinkSync(join(to.etc, 'systemd/system/multi-user.target.wants/app.service'))).toBe('/etc/systemd/system/app.service');
  });

  it('refuses a path outside /etc and /var before writing it', () => {
    const to = target();
    expect(() => applyWrites([file('/usr/bin/app', 'x')], to)).toThrow('/usr/bin/app is neither under /etc nor under /var');
    expect(tree(to.etc)).toEqual([]);
    expect(tree(to.var)).toEqual([]);
  });

  it('carries out a whole plan, leaving no .slipway-new files', () => {
    const to = target();
    const config = HostConfigSchema.parse({
      hostname: 'web',
      users: [{ name: 'alice', sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop'] }],
      files: [{ path: '/etc/app/env', content: 'A=1\n', owner: 'alice', mode: '0600' }],
      units: [{ name: 'app.service', content: '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n', enabled: true }],
      timezone: 'UTC',
    });
    applyWrites(planProvision(config, baseFacts(), () => undefined), to);
    expect(tree(to.etc)).toEqual([
      'app', 'app/env', 'hostname', 'localtime', 'systemd', 'systemd/system', 'systemd/system/app.service',
      'systemd/system/multi-user.target.wants', 'systemd/system/multi-user.target.wants/app.service', 'timezone',
    ]);
    expect(tree(to.var)).toEqual([
      'home', 'home/alice', 'home/alice/.ssh', 'home/alice/.ssh/authorized_keys',
      'lib', 'lib/slipway', 'lib/slipway/accounts', 'lib/slipway/accounts/group', 'lib/slipway/accounts/gshadow',
      'lib/slipway/accounts/members', 'lib/slipway/accounts/passwd', 'lib/slipway/accounts/shadow',
    ]);
    const keys = join(to.var, 'home/alice/.ssh/authorized_keys');
    expect(statSync(keys)).toMatchObject({ uid: 1000, gid: 1000 });
    expect(modeOf(keys)).toBe(0o600);
    expect(statSync(join(to.etc, 'app/env'))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(readFileSync(join(to.etc, 'hostname'), 'utf8')).toBe('web\n');
  });
});
