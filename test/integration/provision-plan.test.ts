/**
 * A compiled plan applied the way the initrd applies it: runtime/initrd/provision.sh's functions in
 * busybox sh, with busybox's own applets (tar, sha256sum) from Debian's busybox-static, the package
 * the initrd is made from. Run as root, as the initrd is: owners are set.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileHostConfig, ETC_UPPER, packPlan, PLAN_RECORD } from '../../src/hostconfig/compile.ts';
import { factsDigest, factsFileText, FACTS_PATH, type ManifestFacts } from '../../src/hostconfig/facts.ts';
import type { Write } from '../../src/hostconfig/plan.ts';
import { checkTools } from '../../src/tools.ts';
import { tempDir } from '../helpers/archive.ts';
import { errorLines, REPO_ROOT, slipway } from '../helpers/cli.ts';

const PROVISION_SH = join(REPO_ROOT, 'runtime/initrd/provision.sh');
const SOURCE = { config: 'c'.repeat(64), image: 'f'.repeat(64) };
let applets: string;

beforeAll(async () => {
  checkTools(['busybox']);
  applets = tempDir('busybox');
  await execa('busybox', ['--install', '-s', applets]);
});

/** Runs `script` in busybox sh with provision.sh sourced and only busybox's applets on PATH. */
function initrdShell(script: string, ...args: string[]) {
  return execa('busybox', ['sh', '-c', `. "$0"; ${script}`, PROVISION_SH, ...args], { env: { PATH: applets }, extendEnv: false, reject: false });
}

/** A fresh root with the plan written into it as the initrd would; returns the root. */
async function applied(writes: readonly Write[], root = tempDir('root')): Promise<string> {
  const plan = join(tempDir('plan'), 'plan.tar');
  writeFileSync(plan, await packPlan(writes, SOURCE));
  const result = await initrdShell('apply_plan "$1" "$2"', plan, root);
  expect(result.exitCode, result.stderr).toBe(0);
  return root;
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
const etc = (root: string, path = '') => join(root, ETC_UPPER, path);

describe('applying a plan', () => {
  it('writes files with their content, mode and owner, making their folders 0755', async () => {
    const root = await applied([
      file('/etc/app/conf.d/env', 'MODE=prod\n', 0o640, 1234, 5678),
      file('/var/lib/app/blob', Buffer.from([0, 1, 2, 255]), 0o600, 0, 0),
      file('/etc/shared', 'x', 0o666),
    ]);
    const env = etc(root, 'app/conf.d/env');
    expect(readFileSync(env, 'utf8')).toBe('MODE=prod\n');
    expect(modeOf(env)).toBe(0o640);
    expect(statSync(env)).toMatchObject({ uid: 1234, gid: 5678 });
    expect(modeOf(etc(root, 'app/conf.d'))).toBe(0o755);
    expect(readFileSync(join(root, 'var/lib/app/blob'))).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(modeOf(etc(root, 'shared'))).toBe(0o666);
  });

  it('keeps setuid and setgid bits on a file given to another owner', async () => {
    const root = await applied([file('/var/lib/app/tool', '#!/bin/sh\n', 0o6755, 1000, 1000)]);
    expect(modeOf(join(root, 'var/lib/app/tool'))).toBe(0o6755);
  });

  it('replaces an existing file, and writes a file over a symlink instead of through it', async () => {
    const root = tempDir('root');
    mkdirSync(etc(root, 'systemd/system'), { recursive: true });
    writeFileSync(etc(root, 'motd'), 'old and much longer\n');
    writeFileSync(etc(root, 'elsewhere'), 'keep\n');
    symlinkSync(etc(root, 'elsewhere'), etc(root, 'systemd/system/app.service'));
    await applied([file('/etc/motd', 'new\n', 0o644, 1000, 1000), file('/etc/systemd/system/app.service', '[Service]\n')], root);
    expect(readFileSync(etc(root, 'motd'), 'utf8')).toBe('new\n');
    expect(statSync(etc(root, 'motd'))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(lstatSync(etc(root, 'systemd/system/app.service')).isFile()).toBe(true);
    expect(readFileSync(etc(root, 'elsewhere'), 'utf8')).toBe('keep\n');
  });

  it('makes directories with their mode and owner, also when they exist', async () => {
    const root = tempDir('root');
    mkdirSync(join(root, 'var/home/bob'), { recursive: true, mode: 0o755 });
    await applied([
      { kind: 'dir', path: '/var/home/alice/.ssh', mode: 0o700, uid: 1001, gid: 1002 },
      { kind: 'dir', path: '/var/home/bob', mode: 0o750, uid: 1003, gid: 1004 },
    ], root);
    const ssh = join(root, 'var/home/alice/.ssh');
    expect(statSync(ssh).isDirectory()).toBe(true);
    expect(modeOf(ssh)).toBe(0o700);
    expect(statSync(ssh)).toMatchObject({ uid: 1001, gid: 1002 });
    expect(modeOf(join(root, 'var/home/bob'))).toBe(0o750);
    expect(statSync(join(root, 'var/home/bob'))).toMatchObject({ uid: 1003, gid: 1004 });
  });

  it('makes symlinks, replacing an existing one or a file', async () => {
    const root = tempDir('root');
    mkdirSync(etc(root), { recursive: true });
    symlinkSync('/usr/share/zoneinfo/UTC', etc(root, 'localtime'));
    writeFileSync(etc(root, 'masked.service'), '[Service]\n');
    await applied([
      { kind: 'symlink', path: '/etc/localtime', target: '/usr/share/zoneinfo/Europe/Berlin' },
      { kind: 'symlink', path: '/etc/masked.service', target: '/dev/null' },
      { kind: 'symlink', path: '/etc/systemd/system/multi-user.target.wants/app.service', target: '/etc/systemd/system/app.service' },
    ], root);
    expect(readlinkSync(etc(root, 'localtime'))).toBe('/usr/share/zoneinfo/Europe/Berlin');
    expect(readlinkSync(etc(root, 'masked.service'))).toBe('/dev/null');
    expect(readlinkSync(etc(root, 'systemd/system/multi-user.target.wants/app.service'))).toBe('/etc/systemd/system/app.service');
  });

  it('gives the same result when applied again over an attempt a power cut interrupted', async () => {
    const writes: Write[] = [
      { kind: 'dir', path: '/var/home/alice', mode: 0o700, uid: 1000, gid: 1000 },
      file('/etc/hostname', 'web\n'),
      { kind: 'symlink', path: '/etc/localtime', target: '/usr/share/zoneinfo/Europe/Berlin' },
      file('/var/home/alice/.profile', 'umask 027\n', 0o640, 1000, 1000),
    ];
    const once = await applied(writes);
    const twice = await applied(writes, await applied(writes.slice(0, 3)));
    expect(tree(twice)).toEqual(tree(once));
    expect(readlinkSync(etc(twice, 'localtime'))).toBe('/usr/share/zoneinfo/Europe/Berlin');
    expect(statSync(join(twice, 'var/home/alice/.profile'))).toMatchObject({ uid: 1000, gid: 1000, size: 10 });
  });

  it('carries out a compiled config, leaving its record of what it came from on /var', async () => {
    const facts: ManifestFacts = {
      users: [{ name: 'root', uid: 0, gid: 0, home: '/root' }], groups: [{ name: 'root', gid: 0 }],
      units: [], containers: [], timezones: ['UTC'], install: {},
    };
    const config = Buffer.from([
      'hostname: web',
      'users: [{ name: alice, sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop"] }]',
      'files: [{ path: /etc/app/env, content: "A=1\\n", owner: alice, mode: "0600" }]',
      'units: [{ name: app.service, content: "[Service]\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n", enabled: true }]',
      'timezone: UTC',
    ].join('\n'));
    const root = tempDir('root');
    const plan = join(tempDir('plan'), 'plan.tar');
    writeFileSync(plan, (await compileHostConfig(config, 'config.yaml', facts)).plan!);
    expect((await initrdShell('apply_plan "$1" "$2"', plan, root)).exitCode).toBe(0);
    expect(tree(etc(root))).toEqual([
      'app', 'app/env', 'hostname', 'localtime', 'systemd', 'systemd/system', 'systemd/system/app.service',
      'systemd/system/multi-user.target.wants', 'systemd/system/multi-user.target.wants/app.service', 'timezone',
    ]);
    expect(tree(join(root, 'var/home'))).toEqual(['alice', 'alice/.ssh', 'alice/.ssh/authorized_keys']);
    expect(tree(join(root, 'var/lib/slipway/accounts'))).toEqual(['group', 'gshadow', 'members', 'passwd', 'shadow']);
    const keys = join(root, 'var/home/alice/.ssh/authorized_keys');
    expect(statSync(keys)).toMatchObject({ uid: 1000, gid: 1000 });
    expect(modeOf(keys)).toBe(0o600);
    expect(statSync(etc(root, 'app/env'))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(readFileSync(etc(root, 'hostname'), 'utf8')).toBe('web\n');
    const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
    expect(readFileSync(join(root, PLAN_RECORD), 'utf8')).toBe(`config ${sha256(config)}\nimage ${sha256(factsFileText(facts))}\n`);
  });
});

describe('whether a plan fits', () => {
  const facts: ManifestFacts = { users: [], groups: [], units: [], containers: ['web'], timezones: [], install: {} };
  const config = Buffer.from('hostname: web\n');

  /** An image root carrying `facts`, a config, and a plan compiled from `compiledFrom` for `compiledFor`. */
  async function setup(compiledFrom: Buffer, compiledFor: ManifestFacts) {
    const dir = tempDir('fits');
    mkdirSync(join(dir, 'root', 'usr/lib/slipway'), { recursive: true });
    writeFileSync(join(dir, 'root', FACTS_PATH), factsFileText(facts));
    writeFileSync(join(dir, 'config'), config);
    writeFileSync(join(dir, 'plan.tar'), (await compileHostConfig(compiledFrom, 'c.yaml', compiledFor)).plan!);
    return dir;
  }

  const fits = async (dir: string, plan = join(dir, 'plan.tar')) =>
    (await initrdShell('plan_fits "$1" "$2" "$3"', plan, join(dir, 'config'), join(dir, 'root'))).exitCode === 0;

  it('fits when compiled from this config for this image', async () => {
    expect(await fits(await setup(config, facts))).toBe(true);
  });

  it('does not fit a config changed after it was compiled', async () => {
    expect(await fits(await setup(Buffer.from('hostname: other\n'), facts))).toBe(false);
  });

  it('does not fit an image with other facts', async () => {
    const other = { ...facts, containers: [] };
    expect(factsDigest(other)).not.toBe(factsDigest(facts));
    expect(await fits(await setup(config, other))).toBe(false);
  });

  it('does not fit when missing or not a plan', async () => {
    const dir = await setup(config, facts);
    expect(await fits(dir, join(dir, 'none.tar'))).toBe(false);
    writeFileSync(join(dir, 'junk.tar'), 'not a tar archive');
    expect(await fits(dir, join(dir, 'junk.tar'))).toBe(false);
  });
});

describe('slipway config compile', () => {
  const facts: ManifestFacts = { users: [{ name: 'root', uid: 0, gid: 0, home: '/root' }], groups: [{ name: 'root', gid: 0 }], units: [], containers: [], timezones: [], install: {} };

  function builtImage(image: Partial<ManifestFacts>): string {
    const dir = tempDir('image');
    writeFileSync(join(dir, 'host_1.0.0.manifest.json'), JSON.stringify({ name: 'host', version: '1.0.0', image }, null, 2));
    writeFileSync(join(dir, 'config.yaml'), 'hostname: web\n');
    return dir;
  }

  it('writes the plan for the image that the first boot would compile itself', async () => {
    const dir = builtImage(facts);
    const result = await slipway(['config', 'compile', join(dir, 'config.yaml'), '--image', join(dir, 'host_1.0.0.raw'), '--out', join(dir, 'plan.tar')]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${join(dir, 'config.yaml')}: valid (host web); plan for ${join(dir, 'host_1.0.0.raw')} written to ${join(dir, 'plan.tar')}`);
    expect(readFileSync(join(dir, 'plan.tar'))).toEqual((await compileHostConfig(Buffer.from('hostname: web\n'), 'config.yaml', facts)).plan);
  });

  it('needs an image and a place for the plan', async () => {
    const dir = builtImage(facts);
    const result = await slipway(['config', 'compile', join(dir, 'config.yaml'), '--out', join(dir, 'plan.tar')]);
    expect(result.exitCode).toBe(2);
    expect(errorLines(result)).toMatchObject({ message: 'slipway: config compile: needs --image IMAGE and --out PLAN' });
    expect(existsSync(join(dir, 'plan.tar'))).toBe(false);
  });

  it('says to rebuild an image whose manifest predates compiled plans, and to fix a folder that is not there', async () => {
    const { install: _, ...older } = facts;
    const old = builtImage(older);
    const result = await slipway(['config', 'compile', join(old, 'config.yaml'), '--image', join(old, 'host_1.0.0.raw'), '--out', join(old, 'plan.tar')]);
    expect(errorLines(result)).toMatchObject({ message: `slipway: ${join(old, 'host_1.0.0.manifest.json')} comes from a slipway that did not compile host configs`, hint: 'hint: rebuild the image with this slipway' });
    const dir = builtImage(facts);
    const missing = await slipway(['config', 'compile', join(dir, 'config.yaml'), '--image', join(dir, 'host_1.0.0.raw'), '--out', join(dir, 'no/plan.tar')]);
    expect(missing.exitCode).toBe(10);
    expect(errorLines(missing).message).toMatch(/^slipway: cannot write the plan to .*no\/plan\.tar: ENOENT/);
  });

  it('never replaces what --out names unless it is a regular file: not a symlink, a device or a folder', async () => {
    const dir = builtImage(facts);
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me\n');
    symlinkSync(victim, join(dir, 'link.tar'));
    for (const [out, what] of [[join(dir, 'link.tar'), 'a symlink'], ['/dev/null', 'not a regular file'], [dir, 'a folder']] as const) {
      const result = await slipway(['config', 'compile', join(dir, 'config.yaml'), '--image', join(dir, 'host_1.0.0.raw'), '--out', out]);
      expect(result.exitCode).toBe(10);
      expect(errorLines(result).message).toBe(`slipway: config compile: --out ${out} is ${what}, which a plan does not replace`);
    }
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(lstatSync(join(dir, 'link.tar')).isSymbolicLink()).toBe(true);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
  });
});
