import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { compileHostConfig, packPlan, planPath, PLAN_RECORD } from '../../../src/hostconfig/compile.ts';
import { ConfigError } from '../../../src/errors.ts';
import type { ManifestFacts } from '../../../src/hostconfig/facts.ts';

const FACTS: ManifestFacts = {
  users: [{ name: 'root', uid: 0, gid: 0, home: '/root' }],
  groups: [{ name: 'root', gid: 0 }, { name: 'sudo', gid: 27 }],
  units: ['ssh.service'],
  containers: [],
  timezones: ['UTC'],
  install: { 'ssh.service': [{ target: 'multi-user.target', kind: 'wants' }] },
};

async function entries(tar: Buffer): Promise<Array<{ name: string; type: string; mode: number; uid: number; gid: number; linkname?: string | null; body: string }>> {
  const found: Array<{ name: string; type: string; mode: number; uid: number; gid: number; linkname?: string | null; body: string }> = [];
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      found.push({ name: header.name, type: header.type!, mode: header.mode!, uid: header.uid!, gid: header.gid!, linkname: header.linkname, body: Buffer.concat(chunks).toString() });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    reader.on('finish', () => resolve());
    reader.on('error', reject);
    Readable.from([tar]).pipe(reader);
  });
  return found;
}

describe('planPath', () => {
  it('puts /etc paths into the /etc overlay\'s upper folder and /var paths on /var', () => {
    expect(planPath('/etc/hostname')).toBe('var/lib/slipway/etc/upper/hostname');
    expect(planPath('/etc/systemd/system/a.service')).toBe('var/lib/slipway/etc/upper/systemd/system/a.service');
    expect(planPath('/var/home/alice')).toBe('var/home/alice');
  });

  it.each(['/usr/bin/app', '/etc', '/var', '/etc/', '/etcetera/a', '/variable/a', 'etc/a', '/home/alice', '/var/../usr/bin/x', '/etc//x'])('refuses %s', (path) => {
    expect(() => planPath(path)).toThrow(`${path} is neither under /etc nor under /var`);
  });
});

describe('packPlan', () => {
  it('records its source first, then each write with its mode, owner and content, in order', async () => {
    const tar = await packPlan([
      { kind: 'dir', path: '/var/home/alice', mode: 0o700, uid: 1000, gid: 1000 },
      { kind: 'file', path: '/etc/app/env', content: Buffer.from('A=1\n'), mode: 0o4750, uid: 1000, gid: 27 },
      { kind: 'symlink', path: '/etc/localtime', target: '/usr/share/zoneinfo/UTC' },
    ], { config: 'a'.repeat(64), image: 'b'.repeat(64) });
    expect(await entries(tar)).toEqual([
      { name: PLAN_RECORD, type: 'file', mode: 0o644, uid: 0, gid: 0, linkname: null, body: `config ${'a'.repeat(64)}\nimage ${'b'.repeat(64)}\n` },
      { name: 'var/home/alice', type: 'directory', mode: 0o700, uid: 1000, gid: 1000, linkname: null, body: '' },
      { name: 'var/lib/slipway/etc/upper/app/env', type: 'file', mode: 0o4750, uid: 1000, gid: 27, linkname: null, body: 'A=1\n' },
      { name: 'var/lib/slipway/etc/upper/localtime', type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: '/usr/share/zoneinfo/UTC', body: '' },
    ]);
  });
});

describe('compileHostConfig', () => {
  it('gives the same plan for the same config and image, so builds stay reproducible', async () => {
    const config = Buffer.from('hostname: web\nunits: [{ name: ssh.service, enabled: true }]\n');
    const first = await compileHostConfig(config, 'a.yaml', FACTS);
    expect((await compileHostConfig(config, 'b.yaml', FACTS)).plan).toEqual(first.plan);
    expect((await entries(first.plan!)).map((e) => [e.name, e.linkname])).toContainEqual([
      'var/lib/slipway/etc/upper/systemd/system/multi-user.target.wants/ssh.service', '/usr/lib/systemd/system/ssh.service',
    ]);
  });

  it('gives an Ignition config the same writes as its native twin', async () => {
    const ignition = Buffer.from(JSON.stringify({
      ignition: { version: '3.4.0' },
      passwd: { users: [{ name: 'carol', sshAuthorizedKeys: ['ssh-ed25519 AAAA carol'] }] },
      storage: { files: [{ path: '/etc/motd', mode: 384, user: { name: 'carol' }, contents: { source: 'data:,hi%0A' } }] },
    }));
    const native = Buffer.from('users: [{ name: carol, sshAuthorizedKeys: ["ssh-ed25519 AAAA carol"] }]\nfiles: [{ path: /etc/motd, content: "hi\\n", owner: carol, mode: "0600" }]\n');
    const writes = async (bytes: Buffer, label: string) => (await entries((await compileHostConfig(bytes, label, FACTS)).plan!)).slice(1);
    expect(await writes(ignition, 'c.ign')).toEqual(await writes(native, 'c.yaml'));
  });

  it('refuses a config that does not fit the image, naming every problem', async () => {
    const error = await compileHostConfig(Buffer.from('files: [{ path: /etc/a, content: x, owner: nobody-here }]\ntimezone: Mars/Olympus\n'), 'c.yaml', FACTS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message.split('\n')).toEqual([
      'c.yaml: files[0].owner: unknown user "nobody-here" (neither in users nor in the image)',
      expect.stringMatching(/^c\.yaml: timezone: /),
    ]);
  });
});
