import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../../src/errors.ts';
import { baseFacts } from '../../../src/hostconfig/facts.ts';
import { decodeDataUrl, fromIgnition, IgnitionProblem, ignitionSchema, isIgnition } from '../../../src/hostconfig/ignition.ts';
import { parseHostConfig } from '../../../src/hostconfig/load.ts';
import { planProvision } from '../../../src/hostconfig/plan.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl core@laptop';
const APP_UNIT = '[Unit]\nDescription=App\n\n[Service]\nExecStart=/usr/bin/app\n\n[Install]\nWantedBy=multi-user.target\n';
const DROPIN = '[Service]\nEnvironment=LEVEL=debug\n';
const SETTINGS = '{"listen": ":8080", "workers": 4}\n';

function ignition(rest: Record<string, unknown>): Record<string, unknown> {
  return { ignition: { version: '3.4.0' }, ...rest };
}

function convert(config: Record<string, unknown>): ReturnType<typeof fromIgnition> {
  return fromIgnition(ignitionSchema().parse(config));
}

/** The problem lines `parseHostConfig` reports for a config, without the file label. */
function problems(config: unknown): string[] {
  try {
    parseHostConfig(JSON.stringify(config), 'c.ign', baseFacts());
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n').map((line) => line.replace(/^c\.ign: /, ''));
  }
  throw new Error('expected an invalid config');
}

function problem(run: () => unknown): IgnitionProblem {
  try {
    run();
  } catch (error) {
    if (error instanceof IgnitionProblem) return error;
    throw error;
  }
  throw new Error('expected an IgnitionProblem');
}

/** One config in both formats: what a Flatcar or Fedora CoreOS user has, and what they would write for slipway. */
const IGNITION = ignition({
  passwd: {
    users: [
      { name: 'core', groups: ['sudo'], sshAuthorizedKeys: [KEY] },
      { name: 'svc', uid: 1500, shell: '/bin/sh' },
    ],
  },
  storage: {
    files: [
      { path: '/etc/motd', mode: 420, contents: { source: 'data:,Hello%2C%20world%0A' } },
      { path: '/etc/app/env', mode: 416, user: { name: 'core' }, group: { name: 'core' }, contents: { source: 'data:text/plain;charset=utf-8;base64,TU9ERT1wcm9kCg==' } },
      { path: '/var/lib/app/settings.json', user: { id: 1500 }, group: { id: 27 }, overwrite: true, contents: { source: `data:;base64,${gzipSync(SETTINGS).toString('base64')}`, compression: 'gzip' } },
      { path: '/etc/app/empty', mode: 384 },
    ],
  },
  systemd: {
    units: [
      { name: 'app.service', enabled: true, contents: APP_UNIT },
      { name: 'ssh.service', dropins: [{ name: '10-debug.conf', contents: DROPIN }] },
      { name: 'apt-daily.timer', mask: true },
    ],
  },
});

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The same host in slipway's own format, with each file's bytes as base64 as the conversion gives them. */
const NATIVE_BASE64 = stringify({
  users: [
    { name: 'core', groups: ['sudo'], sshAuthorizedKeys: [KEY] },
    { name: 'svc', uid: 1500, shell: '/bin/sh' },
  ],
  files: [
    { path: '/etc/motd', mode: '0644', base64: b64('Hello, world\n') },
    { path: '/etc/app/env', mode: '0640', owner: 'core:core', base64: b64('MODE=prod\n') },
    { path: '/var/lib/app/settings.json', owner: '1500:27', base64: b64(SETTINGS) },
    { path: '/etc/app/empty', mode: '0600', base64: '' },
  ],
  units: [
    { name: 'app.service', enabled: true, content: APP_UNIT },
    { name: 'ssh.service', dropins: [{ name: '10-debug.conf', content: DROPIN }] },
    { name: 'apt-daily.timer', mask: true },
  ],
});

/** The same host as a person would write it, with text contents. */
const NATIVE_TEXT = `
users:
  - name: core
    groups: [sudo]
    sshAuthorizedKeys: ["${KEY}"]
  - name: svc
    uid: 1500
    shell: /bin/sh
files:
  - path: /etc/motd
    content: "Hello, world\\n"
  - path: /etc/app/env
    mode: "0640"
    owner: core:core
    content: "MODE=prod\\n"
  - path: /var/lib/app/settings.json
    owner: "1500:27"
    content: |
      ${SETTINGS.trim()}
  - path: /etc/app/empty
    mode: "0600"
    content: ""
units:
  - name: app.service
    enabled: true
    content: ${JSON.stringify(APP_UNIT)}
  - name: ssh.service
    dropins:
      - name: 10-debug.conf
        content: ${JSON.stringify(DROPIN)}
  - name: apt-daily.timer
    mask: true
`;


describe('an Ignition config', () => {
  it('gives the same host config as the equivalent native YAML', () => {
    const fromIgn = parseHostConfig(JSON.stringify(IGNITION), 'config.ign', baseFacts());
    const native = parseHostConfig(NATIVE_BASE64, 'config.yaml', baseFacts());
    expect(fromIgn).toEqual(native);
    expect(fromIgn.files.map((f) => f.mode)).toEqual([0o644, 0o640, 0o644, 0o600]);
  });

  it('plans the same writes as the native YAML with text contents', () => {
    const facts = baseFacts();
    facts.install.set('ssh.service', [{ target: 'multi-user.target', kind: 'wants' }]);
    const fromIgn = planProvision(parseHostConfig(JSON.stringify(IGNITION), 'config.ign', facts), facts);
    const native = planProvision(parseHostConfig(NATIVE_TEXT, 'config.yaml', facts), facts);
    expect(fromIgn).toEqual(native);
    const settings = fromIgn.find((w) => w.path === '/var/lib/app/settings.json');
    expect(settings).toMatchObject({ kind: 'file', content: Buffer.from(SETTINGS), uid: 1500, gid: 27, mode: 0o644 });
  });

  it('can be YAML as well as JSON', () => {
    expect(parseHostConfig(stringify(IGNITION), 'config.yaml', baseFacts())).toEqual(parseHostConfig(JSON.stringify(IGNITION), 'config.ign', baseFacts()));
  });
});

describe('isIgnition', () => {
  it('tells an Ignition config by its ignition key', () => {
    expect(isIgnition({ ignition: { version: '3.4.0' } })).toBe(true);
    expect(isIgnition({ hostname: 'web' })).toBe(false);
    expect(isIgnition(null)).toBe(false);
    expect(isIgnition('ignition')).toBe(false);
    expect(isIgnition(['ignition'])).toBe(false);
  });
});

describe('decodeDataUrl', () => {
  it('reads plain and %-escaped text', () => {
    expect(decodeDataUrl('data:,plain', 'at').toString()).toBe('plain');
    expect(decodeDataUrl('data:text/plain;charset=utf-8,a%20b%0A%C3%A4', 'at').toString()).toBe('a b\nä');
    expect(decodeDataUrl('data:,', 'at')).toEqual(Buffer.alloc(0));
  });

  it('reads base64, with or without a media type, ignoring white space', () => {
    expect(decodeDataUrl('data:;base64,AAEC/w==', 'at')).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(decodeDataUrl('data:application/octet-stream;base64,aGVs\nbG8=', 'at').toString()).toBe('hello');
  });

  it('keeps commas after the first as part of the data', () => {
    expect(decodeDataUrl('data:,a,b', 'at').toString()).toBe('a,b');
  });

  it('refuses other sources, naming the place and the source', () => {
    const error = problem(() => decodeDataUrl('https://example.com/config', 'storage.files[2].contents.source'));
    expect(error.path).toBe('storage.files[2].contents.source');
    expect(error.message).toBe('expected a data: URL, got "https://example.com/config"');
  });

  it('refuses base64 that does not decode', () => {
    expect(problem(() => decodeDataUrl('data:;base64,@@@@', 'p')).message).toBe('the data: URL is not valid base64');
    expect(problem(() => decodeDataUrl('data:;base64,AAECA', 'p')).message).toBe('the data: URL is not valid base64');
  });

  it('refuses a broken %-escape, saying where', () => {
    expect(problem(() => decodeDataUrl('data:,100%', 'p')).message).toBe('the data: URL has a broken %-escape at character 4');
    expect(problem(() => decodeDataUrl('data:,a%G0', 'p')).message).toBe('the data: URL has a broken %-escape at character 2');
  });

  it('reads %-escapes as bytes, UTF-8 or not (Ignition\'s own CreateFileFromCompressedDataURL fixture is gzip, %-escaped)', () => {
    expect(decodeDataUrl('data:,%FF%00a%e4', 'p')).toEqual(Buffer.from([0xff, 0x00, 0x61, 0xe4]));
    const gzipped = gzipSync(Buffer.from('compressed\n'));
    const url = `data:;,${[...gzipped].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`;
    const files = convert(ignition({ storage: { files: [{ path: '/etc/c', contents: { source: url, compression: 'gzip' } }] } })).files!;
    expect(Buffer.from(files[0]!.base64!, 'base64').toString()).toBe('compressed\n');
  });
});

describe('fromIgnition', () => {
  it('turns users into native users, leaving out what Ignition did not give', () => {
    expect(convert(ignition({ passwd: { users: [{ name: 'core' }, { name: 'svc', uid: 1500, groups: ['sudo'], shell: '/bin/sh', sshAuthorizedKeys: [KEY] }] } })).users).toEqual([
      { name: 'core', sshAuthorizedKeys: [] },
      { name: 'svc', uid: 1500, groups: ['sudo'], shell: '/bin/sh', sshAuthorizedKeys: [KEY] },
    ]);
  });

  it('turns Ignition\'s decimal modes into octal text', () => {
    const files = convert(ignition({ storage: { files: [420, 416, 384, 493, 2541, 0].map((mode, i) => ({ path: `/etc/f${i}`, mode })) } })).files!;
    expect(files.map((f) => f.mode)).toEqual(['0644', '0640', '0600', '0755', '4755', '0000']);
  });

  it('gives a mode of 0 or setuid bits that parse back to the same number', () => {
    const config = parseHostConfig(JSON.stringify(ignition({ storage: { files: [{ path: '/etc/a', mode: 0 }, { path: '/etc/b', mode: 2541 }] } })), 'c.ign', baseFacts());
    expect(config.files.map((f) => f.mode)).toEqual([0, 0o4755]);
  });

  it.each([
    [{ name: 'core' }, undefined, 'core'],
    [{ name: 'core' }, { name: 'sudo' }, 'core:sudo'],
    [{ id: 1500 }, undefined, '1500'],
    [{ id: 0 }, { id: 27 }, '0:27'],
    [undefined, { name: 'adm' }, 'root:adm'],
    [undefined, { id: 4 }, 'root:4'],
    [{ name: 'core', id: 1500 }, { id: 27 }, 'core:27'],
  ])('makes the owner of user %j and group %j "%s"', (user, group, owner) => {
    const file = convert(ignition({ storage: { files: [{ path: '/etc/a', user, group }] } })).files![0]!;
    expect(file.owner).toBe(owner);
  });

  it('leaves the owner out when Ignition gives neither user nor group', () => {
    expect(convert(ignition({ storage: { files: [{ path: '/etc/a', user: {}, group: {} }] } })).files![0]).toEqual({ path: '/etc/a', base64: '' });
  });

  it('gives an owner by id that the native format accepts and the plan resolves', () => {
    const facts = baseFacts();
    const config = parseHostConfig(JSON.stringify(ignition({ storage: { files: [{ path: '/etc/a', user: { id: 33 }, group: { id: 4 } }, { path: '/etc/b', user: { id: 1200 } }] } })), 'c.ign', facts);
    expect(config.files.map((f) => f.owner)).toEqual(['33:4', '1200']);
    expect(planProvision(config, facts).map((w) => (w.kind === 'file' ? [w.uid, w.gid] : undefined))).toEqual([[33, 4], [1200, 1200]]);
  });

  it('decodes each file\'s data: URL into base64 bytes, gunzipping when asked', () => {
    const gz = gzipSync(Buffer.from([0, 1, 2, 3]));
    const files = convert(ignition({ storage: { files: [
      { path: '/etc/a', contents: { source: 'data:,a%2Fb' } },
      { path: '/etc/b', contents: { source: `data:;base64,${gz.toString('base64')}`, compression: 'gzip' } },
      { path: '/etc/c', contents: { source: 'data:,x', compression: '' } },
      { path: '/etc/d' },
    ] } })).files!;
    expect(files.map((f) => Buffer.from(f.base64!, 'base64'))).toEqual([Buffer.from('a/b'), Buffer.from([0, 1, 2, 3]), Buffer.from('x'), Buffer.alloc(0)]);
  });

  it('refuses contents marked gzip that are not', () => {
    const error = problem(() => convert(ignition({ storage: { files: [{ path: '/etc/a' }, { path: '/etc/b', contents: { source: 'data:,plain', compression: 'gzip' } }] } })));
    expect(error.path).toBe('storage.files[1].contents');
    expect(error.message).toBe('the contents are not valid gzip');
  });

  it('refuses gzip contents that inflate past 16 MiB, at a bounded cost', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 ** 2));
    const error = problem(() => convert(ignition({ storage: { files: [{ path: '/etc/bomb', contents: { source: `data:;base64,${bomb.toString('base64')}`, compression: 'gzip' } }] } })));
    expect(error.path).toBe('storage.files[0].contents');
    expect(error.message).toBe('the contents inflate past 16 MiB, the most a host config carries');
  });

  it('bounds all the gzip contents of a config together, not each file alone', () => {
    const nine = `data:;base64,${gzipSync(Buffer.alloc(9 * 1024 ** 2)).toString('base64')}`;
    const files = [0, 1, 2].map((index) => ({ path: `/etc/part${index}`, contents: { source: nine, compression: 'gzip' } }));
    const error = problem(() => convert(ignition({ storage: { files } })));
    expect(error.path).toBe('storage.files[1].contents');
    expect(error.message).toBe('the contents inflate past 16 MiB, the most a host config carries');
  });

  it('checks verification.hash against the contents, after decompression', () => {
    const data = Buffer.from('verified\n');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const sha512 = createHash('sha512').update(data).digest('hex');
    const file = (hash: string, compressed = false) => ({
      path: '/etc/v',
      contents: compressed
        ? { source: `data:;base64,${gzipSync(data).toString('base64')}`, compression: 'gzip', verification: { hash } }
        : { source: 'data:,verified%0A', verification: { hash } },
    });
    for (const hash of [`sha256-${sha256}`, `sha512-${sha512}`]) {
      expect(Buffer.from(convert(ignition({ storage: { files: [file(hash), file(hash, true)] } })).files![1]!.base64!, 'base64')).toEqual(data);
    }
    const wrong = `sha256-${'0'.repeat(64)}`;
    const error = problem(() => convert(ignition({ storage: { files: [file(`sha256-${sha256}`), file(wrong, true)] } })));
    expect(error.path).toBe('storage.files[1].contents.verification.hash');
    expect(error.message).toBe(`the contents are sha256-${sha256}, not what the config says`);
    expect(problems(ignition({ storage: { files: [file('md5-abc')] } }))).toEqual(['storage.files[0].contents.verification.hash: expected sha256-HEX or sha512-HEX']);
  });

  it('takes httpHeaders, which only http(s) sources would send, and shouldExist: true; refuses removing a user', () => {
    const headers = [{ name: 'Authorization', value: 'Bearer x' }];
    expect(convert(ignition({ storage: { files: [{ path: '/etc/h', contents: { source: 'data:,h', httpHeaders: headers } }] } })).files).toHaveLength(1);
    expect(convert(ignition({ passwd: { users: [{ name: 'core', shouldExist: true }] } })).users).toHaveLength(1);
    expect(problems(ignition({ passwd: { users: [{ name: 'old', shouldExist: false }] } }))).toEqual(['passwd.users[0].shouldExist: not supported by slipway (removing a user of the image)']);
  });

  it('refuses a source it cannot fetch, naming the file', () => {
    expect(problems(ignition({ storage: { files: [{ path: '/etc/a', contents: { source: 'data:,ok' } }, { path: '/etc/b', contents: { source: 's3://bucket/b' } }] } })))
      .toEqual(['storage.files[1].contents.source: s3: URLs are not supported by slipway (it reads data:, http: and https: sources)']);
  });

  it('converts a config whose sources are remote without their contents, which the host fetches', () => {
    expect(convert(ignition({ storage: { files: [{ path: '/etc/b', mode: 0o600, contents: { source: 'https://example.com/b' } }] } })).files).toEqual([{ path: '/etc/b', mode: '0600', base64: '' }]);
  });

  it('turns units with contents, enabled, mask and drop-ins into native units', () => {
    expect(convert(ignition({ systemd: { units: [
      { name: 'a.service', contents: APP_UNIT, enabled: true },
      { name: 'b.service', enabled: false },
      { name: 'c.service', mask: true },
      { name: 'd.service', dropins: [{ name: '10-a.conf', contents: DROPIN }, { name: '20-empty.conf' }] },
    ] } })).units).toEqual([
      { name: 'a.service', content: APP_UNIT, enabled: true, dropins: [], mask: false },
      { name: 'b.service', enabled: false, dropins: [], mask: false },
      { name: 'c.service', dropins: [], mask: true },
      { name: 'd.service', dropins: [{ name: '10-a.conf', content: DROPIN }], mask: false },
    ]);
  });

  it('converts a config with only the ignition section to an empty native config', () => {
    expect(convert(ignition({}))).toEqual({ users: [], files: [], units: [] });
    expect(parseHostConfig(JSON.stringify(ignition({})), 'c.ign', baseFacts())).toEqual(parseHostConfig('{}', 'c.json', baseFacts()));
  });
});

describe('what slipway does not take from Ignition', () => {
  it.each([
    ['storage.disks', { storage: { disks: [{ device: '/dev/sda' }] } }, 'storage.disks: not supported by slipway'],
    ['storage.filesystems', { storage: { filesystems: [] } }, 'storage.filesystems: not supported by slipway'],
    ['storage.links', { storage: { links: [] } }, 'storage.links: not supported by slipway'],
    ['storage.directories', { storage: { directories: [] } }, 'storage.directories: not supported by slipway'],
    ['passwd.groups', { passwd: { groups: [] } }, 'passwd.groups: not supported by slipway'],
    ['kernelArguments', { kernelArguments: { shouldExist: ['quiet'] } }, 'kernelArguments: not supported by slipway (the kernel command line is part of the signed image)'],
    ['an appended file', { storage: { files: [{ path: '/etc/a', append: [] }] } }, 'storage.files[0].append: not supported by slipway'],
  ])('refuses %s, naming it', (_what, rest, message) => {
    expect(problems(ignition(rest))).toEqual([message]);
  });

  it('refuses a password hash, since hosts take keys only', () => {
    const [line] = problems(ignition({ passwd: { users: [{ name: 'core', passwordHash: '$6$abc' }] } }));
    expect(line).toMatch(/^passwd\.users\[0\]\.passwordHash: not supported by slipway \(slipway hosts allow key-only logins\)$/);
  });

  it('takes merged and replaced configs by https, and by http with a hash only', () => {
    expect(parseHostConfig(JSON.stringify({ ignition: { version: '3.4.0', config: { merge: [{ source: 'https://example.com/c.ign' }] } } }), 'c.ign', baseFacts()).users).toEqual([]);
    expect(problems({ ignition: { version: '3.4.0', config: { replace: { source: 'http://192.0.2.1/c.ign' } } } }))
      .toEqual(['ignition.config.replace.verification.hash: a plain http:// source needs verification.hash: what it serves can be changed on the way']);
  });

  it('refuses an http source without a hash, naming the file', () => {
    expect(problems(ignition({ storage: { files: [{ path: '/etc/a', contents: { source: 'http://192.0.2.1/a' } }] } })))
      .toEqual(['storage.files[0].contents.verification.hash: a plain http:// source needs verification.hash: what it serves can be changed on the way']);
  });

  it('refuses Ignition spec 2 configs', () => {
    expect(problems({ ignition: { version: '2.3.0' } })).toEqual(['ignition.version: slipway reads Ignition spec 3 configs (version "3.x.0")']);
  });

  it('refuses keys Ignition does not have, naming them', () => {
    expect(problems(ignition({ systemd: { units: [{ name: 'a.service', contents: '', enable: true }] } }))).toEqual(['systemd.units[0]: unknown key "enable"']);
  });

  it('reports every unsupported part at once', () => {
    expect(problems(ignition({ storage: { disks: [], raid: [] }, kernelArguments: {} }))).toHaveLength(3);
  });
});
