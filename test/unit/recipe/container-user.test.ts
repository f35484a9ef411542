import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleOf, resolveUser, setContainerUser } from '../../../src/recipe/container-user.ts';
import { REPO_ROOT } from '../../helpers/cli.ts';
import { removeTempDirs, tempDir } from '../../helpers/archive.ts';

afterAll(removeTempDirs);

const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin', 'app:x:1000:1000::/home/app:/bin/sh', ''].join('\n');
const GROUP = ['root:x:0:', 'nogroup:x:65534:', 'app:x:1000:', 'audio:x:29:app', 'video:x:44:other,app', ''].join('\n');

describe('resolveUser', () => {
  it('looks a name up in passwd, with its group and the groups that list it', () => {
    expect(resolveUser('app', PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 44] });
    expect(resolveUser('nobody', PASSWD, GROUP)).toEqual({ uid: 65534, gid: 65534 });
  });

  it('takes a group by name or id in place of the account’s', () => {
    expect(resolveUser('nobody:app', PASSWD, GROUP)).toEqual({ uid: 65534, gid: 1000 });
    expect(resolveUser('app:4242', PASSWD, GROUP)).toEqual({ uid: 1000, gid: 4242, additionalGids: [29, 44] });
  });

  it('takes ids the files do not list, with root’s group when none is given (as Docker does)', () => {
    expect(resolveUser('1234', PASSWD, GROUP)).toEqual({ uid: 1234, gid: 0 });
    expect(resolveUser('1234:5678', undefined, undefined)).toEqual({ uid: 1234, gid: 5678 });
    expect(resolveUser('1000', PASSWD, GROUP)).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 44] });
  });

  it('refuses names the container does not have', () => {
    expect(() => resolveUser('ghost', PASSWD, GROUP)).toThrow('no user "ghost" in the container\'s /etc/passwd');
    expect(() => resolveUser('app:ghosts', PASSWD, GROUP)).toThrow('no group "ghosts" in the container\'s /etc/group');
    expect(() => resolveUser('nobody', undefined, undefined)).toThrow('no user "nobody"');
    expect(() => resolveUser('4294967295', PASSWD, GROUP)).toThrow('past 4294967294');
  });
});

/** A bundle as containerd's shim hands runc one: config.json and the container's root. */
function bundle(annotations: Record<string, string> | undefined, rootPath = 'rootfs'): string {
  const dir = tempDir('bundle');
  const spec = {
    ociVersion: '1.0.2',
    root: { path: rootPath },
    annotations,
    process: {
      user: { uid: 0, gid: 0 },
      args: ['/bin/sh'],
      capabilities: { bounding: ['CAP_CHOWN', 'CAP_KILL'], effective: ['CAP_CHOWN', 'CAP_KILL'], permitted: ['CAP_CHOWN', 'CAP_KILL'], inheritable: ['CAP_CHOWN'] },
    },
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
  mkdirSync(join(dir, 'rootfs/etc'), { recursive: true });
  writeFileSync(join(dir, 'rootfs/etc/passwd'), PASSWD);
  writeFileSync(join(dir, 'rootfs/etc/group'), GROUP);
  return dir;
}

const specOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));

describe('setContainerUser', () => {
  it('sets the process user from the annotation, and leaves a non-root process only its bounding set', () => {
    const dir = bundle({ 'org.slipway.user': 'app' });
    setContainerUser(dir);
    const { process } = specOf(dir);
    expect(process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [29, 44] });
    expect(process.capabilities).toEqual({ bounding: ['CAP_CHOWN', 'CAP_KILL'] });
  });

  it('keeps root’s capabilities for a user that is root, and leaves a spec without the annotation as it was', () => {
    const root = bundle({ 'org.slipway.user': 'root:app' });
    setContainerUser(root);
    expect(specOf(root).process.user).toEqual({ uid: 0, gid: 1000 });
    expect(specOf(root).process.capabilities.effective).toEqual(['CAP_CHOWN', 'CAP_KILL']);
    const plain = bundle(undefined);
    const before = readFileSync(join(plain, 'config.json'), 'utf8');
    expect(setContainerUser(plain)).toBeUndefined();
    expect(readFileSync(join(plain, 'config.json'), 'utf8')).toBe(before);
  });

  it('reads an absolute root path, and never follows the container’s links out of its root', () => {
    const outside = tempDir('outside');
    writeFileSync(join(outside, 'passwd'), 'ghost:x:4242:4242::/:/bin/sh\n');
    const dir = bundle({ 'org.slipway.user': 'ghost' });
    const absolute = bundle({ 'org.slipway.user': 'ghost' }, join(dir, 'rootfs'));
    rmSync(join(dir, 'rootfs/etc/passwd'));
    symlinkSync(join(outside, 'passwd'), join(dir, 'rootfs/etc/passwd'));
    expect(() => setContainerUser(absolute)).toThrow('no user "ghost"');
  });
});

describe('bundleOf', () => {
  it('finds the bundle of runc create, in each form, or runc’s own default', () => {
    expect(bundleOf(['--root', '/run/containerd/runc/slipway', '--log', 'log.json', 'create', '--bundle', '/b', '--pid-file', 'p', 'web'])).toBe('/b');
    expect(bundleOf(['create', '-b', '/c', 'web'])).toBe('/c');
    expect(bundleOf(['create', '--bundle=/d', 'web'])).toBe('/d');
    expect(bundleOf(['create', 'web'])).toBe('.');
  });
});

describe('runc-as-user', () => {
  const wrapper = join(REPO_ROOT, 'runtime/rootfs/usr/lib/slipway/runc-as-user');

  /** The wrapper with node and runc replaced by programs that log how they were called. */
  async function run(args: string[]): Promise<string[]> {
    const dir = tempDir('wrapper');
    const log = join(dir, 'log');
    for (const name of ['node', 'runc']) {
      writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n`);
      chmodSync(join(dir, name), 0o755);
    }
    const script = readFileSync(wrapper, 'utf8').replace('/usr/bin/node', join(dir, 'node')).replace('/usr/sbin/runc', join(dir, 'runc'));
    writeFileSync(join(dir, 'wrapper'), script);
    await execa('sh', [join(dir, 'wrapper'), ...args]);
    return readFileSync(log, 'utf8').trimEnd().split('\n');
  }

  it('sets the user before runc create, and passes every command on to runc unchanged', async () => {
    expect(await run(['--root', '/r', '--log', 'create', 'create', '--bundle', '/b', 'web'])).toEqual([
      'node /usr/lib/slipway/container-user.cjs --root /r --log create create --bundle /b web',
      'runc --root /r --log create create --bundle /b web',
    ]);
    expect(await run(['--root', '/r', 'state', 'create'])).toEqual(['runc --root /r state create']);
    expect(await run(['--systemd-cgroup', 'delete', '--force', 'web'])).toEqual(['runc --systemd-cgroup delete --force web']);
  });
});
