import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { baseFacts } from '../../../src/hostconfig/facts.ts';
import { fromIgnition, IgnitionProblem, ignitionSchema, type IgnitionConfig } from '../../../src/hostconfig/ignition.ts';
import { ignitionRemoteSources, resolveIgnitionRemotes } from '../../../src/hostconfig/ignition-remote.ts';
import { parseHostConfig } from '../../../src/hostconfig/load.ts';

const V = { version: '3.4.0' };
const sha256 = (bytes: string | Buffer) => `sha256-${createHash('sha256').update(bytes).digest('hex')}`;
const config = (document: unknown): IgnitionConfig => ignitionSchema().parse(document);

/** A fetch that serves these URLs and records what it was asked, with which headers. */
function served(files: Record<string, string | Buffer>) {
  const asked: Array<{ url: string; headers: Record<string, string> }> = [];
  const fetch = async (url: string, headers: Record<string, string>) => {
    asked.push({ url, headers });
    const body = files[url];
    if (body === undefined) throw new Error('HTTP 404 Not Found');
    return Buffer.from(body);
  };
  return { fetch, asked };
}

async function failure(run: Promise<unknown>): Promise<IgnitionProblem> {
  try {
    await run;
  } catch (error) {
    if (error instanceof IgnitionProblem) return error;
    throw error;
  }
  throw new Error('expected an IgnitionProblem');
}

describe('Ignition remote sources', () => {
  it('lists the URLs a config still needs, once each', () => {
    expect(ignitionRemoteSources(config({ ignition: { ...V, config: { merge: [{ source: 'https://a/m.ign' }] } }, storage: { files: [
      { path: '/etc/a', contents: { source: 'https://a/f' } }, { path: '/etc/b', contents: { source: 'data:,x' } }, { path: '/etc/c', contents: { source: 'https://a/f' } },
    ] } }))).toEqual(['https://a/m.ign', 'https://a/f']);
    expect(ignitionRemoteSources(config({ ignition: V }))).toEqual([]);
  });

  it('fetches file contents with their headers, and keeps compression and hash for fromIgnition to check', async () => {
    const zipped = gzipSync('hello\n');
    const { fetch, asked } = served({ 'https://a/f.gz': zipped });
    const resolved = await resolveIgnitionRemotes(config({ ignition: V, storage: { files: [{ path: '/etc/f', contents: { source: 'https://a/f.gz', compression: 'gzip', httpHeaders: [{ name: 'Authorization', value: 'Bearer t' }], verification: { hash: sha256('hello\n') } } }] } }), fetch);
    expect(asked).toEqual([{ url: 'https://a/f.gz', headers: { Authorization: 'Bearer t' } }]);
    expect(ignitionRemoteSources(resolved)).toEqual([]);
    expect(fromIgnition(resolved).files).toEqual([{ path: '/etc/f', base64: Buffer.from('hello\n').toString('base64') }]);
  });

  it('refuses fetched contents that do not match their hash', async () => {
    const { fetch } = served({ 'http://a/f': 'changed\n' });
    const resolved = await resolveIgnitionRemotes(config({ ignition: V, storage: { files: [{ path: '/etc/f', contents: { source: 'http://a/f', verification: { hash: sha256('original\n') } } }] } }), fetch);
    const error = (() => { try { fromIgnition(resolved); } catch (e) { return e as IgnitionProblem; } throw new Error('expected a problem'); })();
    expect(error.path).toBe('storage.files[0].contents.verification.hash');
  });

  it('merges configs over the parent as Ignition does: keyed lists by key, other lists appended, values the child\'s', async () => {
    const child = { ignition: V, passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 BBBB b'], shell: '/bin/sh' }] }, storage: { files: [{ path: '/etc/a', mode: 384 }, { path: '/etc/new', contents: { source: 'data:,n' } }] }, systemd: { units: [{ name: 'x.service', enabled: true }] } };
    const { fetch } = served({ 'https://a/child.ign': JSON.stringify(child) });
    const parent = config({
      ignition: { ...V, config: { merge: [{ source: 'https://a/child.ign', verification: { hash: sha256(JSON.stringify(child)) } }] } },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAA a'] }] },
      storage: { files: [{ path: '/etc/a', mode: 420, contents: { source: 'data:,a' } }] },
      systemd: { units: [{ name: 'x.service', mask: false }] },
    });
    const resolved = await resolveIgnitionRemotes(parent, fetch);
    expect(resolved.ignition.config).toBeUndefined();
    expect(resolved.passwd?.users).toEqual([{ name: 'core', sshAuthorizedKeys: ['ssh-ed25519 AAAA a', 'ssh-ed25519 BBBB b'], shell: '/bin/sh' }]);
    expect(resolved.storage?.files.map((f) => [f.path, f.mode, f.contents?.source])).toEqual([['/etc/a', 384, 'data:,a'], ['/etc/new', undefined, 'data:,n']]);
    expect(resolved.systemd?.units).toEqual([{ name: 'x.service', mask: false, enabled: true }]);
  });

  it('replaces the config with the one at the URL', async () => {
    const other = { ignition: V, storage: { files: [{ path: '/etc/other', contents: { source: 'data:,o' } }] } };
    const { fetch } = served({ 'https://a/other.ign': JSON.stringify(other) });
    const resolved = await resolveIgnitionRemotes(config({ ignition: { ...V, config: { replace: { source: 'https://a/other.ign' } } }, storage: { files: [{ path: '/etc/mine', contents: { source: 'data:,m' } }] } }), fetch);
    expect(resolved.storage?.files.map((f) => f.path)).toEqual(['/etc/other']);
  });

  it('names where a fetched config went wrong, and bounds how many and how deep', async () => {
    const { fetch } = served({ 'https://a/bad.ign': JSON.stringify({ ignition: V, storage: { disks: [] } }), 'https://a/loop.ign': JSON.stringify({ ignition: { ...V, config: { merge: [{ source: 'https://a/loop.ign' }] } } }) });
    const bad = await failure(resolveIgnitionRemotes(config({ ignition: { ...V, config: { merge: [{ source: 'https://a/bad.ign' }] } } }), fetch));
    expect(`${bad.path}: ${bad.message}`).toBe('ignition.config.merge[0] (https://a/bad.ign): storage.disks: not supported by slipway');
    const loop = await failure(resolveIgnitionRemotes(config({ ignition: { ...V, config: { merge: [{ source: 'https://a/loop.ign' }] } } }), fetch));
    expect(loop.message).toBe('configs nested more than 5 deep');
    const missing = await failure(resolveIgnitionRemotes(config({ ignition: V, storage: { files: [{ path: '/etc/x', contents: { source: 'https://a/none' } }] } }), fetch));
    expect(`${missing.path}: ${missing.message}`).toBe('storage.files[0].contents.source: cannot fetch https://a/none: HTTP 404 Not Found');
  });
});

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a@laptop';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb b@laptop';
const KEY_C = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICcccccccccccccccccccccccccccccccccccccccccc c@laptop';
const dataUrl = (document: unknown) => `data:;base64,${Buffer.from(JSON.stringify(document)).toString('base64')}`;

/** The problem lines `parseHostConfig` reports for a config, without the file label. */
function problems(document: unknown): string[] {
  try {
    parseHostConfig(JSON.stringify(document), 'c.ign', baseFacts());
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.split('\n').map((line) => line.replace(/^c\.ign: /, ''));
  }
  throw new Error('expected an invalid config');
}

describe('merging and replacing as Ignition does', () => {
  it('applies data: merges on the build host too, so a plan compiled ahead has them (Butane\'s local: and inline: merges)', () => {
    const child = { ignition: V, passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY_B] }] }, storage: { files: [{ path: '/etc/from-child', contents: { source: 'data:,c' } }] } };
    const parent = { ignition: { ...V, config: { merge: [{ source: dataUrl(child) }] } }, passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY_A] }] } };
    const host = parseHostConfig(JSON.stringify(parent), 'c.ign', baseFacts());
    expect(host.users.find((user) => user.name === 'core')?.sshAuthorizedKeys).toEqual([KEY_A, KEY_B]);
    expect(host.files.map((file) => [file.path, Buffer.from(file.base64!, 'base64').toString()])).toEqual([['/etc/from-child', 'c']]);
    expect(ignitionRemoteSources(config(parent))).toEqual([]);
  });

  it('lists what a data: merge names by URL, and nothing a replaced config would have fetched', () => {
    const child = { ignition: V, storage: { files: [{ path: '/etc/x', contents: { source: 'https://a/x' } }] } };
    expect(ignitionRemoteSources(config({ ignition: { ...V, config: { merge: [{ source: dataUrl(child) }, { source: 'https://a/m.ign' }] } } }))).toEqual(['https://a/m.ign', 'https://a/x']);
    expect(ignitionRemoteSources(config({ ignition: { ...V, config: { replace: { source: 'https://a/r.ign' } } }, storage: { files: [{ path: '/etc/y', contents: { source: 'https://a/y' } }] } }))).toEqual(['https://a/r.ign']);
  });

  it('keeps each ssh key and group once, and lets later merges win', async () => {
    const first = { ignition: V, passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY_B, KEY_C], groups: ['sudo', 'adm'] }] }, systemd: { units: [{ name: 'a.service', enabled: true, dropins: [{ name: '10.conf', contents: 'one' }] }] } };
    const second = { ignition: V, systemd: { units: [{ name: 'a.service', enabled: false, dropins: [{ name: '10.conf', contents: 'two' }, { name: '20.conf', contents: 'new' }] }] } };
    const { fetch } = served({ 'https://a/1.ign': JSON.stringify(first), 'https://a/2.ign': JSON.stringify(second) });
    const resolved = await resolveIgnitionRemotes(config({
      ignition: { ...V, config: { merge: [{ source: 'https://a/1.ign' }, { source: 'https://a/2.ign' }] } },
      passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY_A, KEY_B], groups: ['sudo'] }, { name: 'svc' }] },
    }), fetch);
    expect(resolved.passwd?.users).toEqual([{ name: 'core', sshAuthorizedKeys: [KEY_A, KEY_B, KEY_C], groups: ['sudo', 'adm'] }, { name: 'svc' }]);
    expect(resolved.systemd?.units).toEqual([{ name: 'a.service', enabled: false, dropins: [{ name: '10.conf', contents: 'two' }, { name: '20.conf', contents: 'new' }] }]);
  });

  it('merges a file\'s HTTP headers by name, a header without a value taking the parent\'s away', async () => {
    const child = { ignition: V, storage: { files: [{ path: '/etc/f', contents: { httpHeaders: [{ name: 'A', value: null }, { name: 'B', value: 'child' }, { name: 'C', value: 'new' }] } }] } };
    const { fetch, asked } = served({ 'https://a/c.ign': JSON.stringify(child), 'https://a/f': 'f' });
    await resolveIgnitionRemotes(config({
      ignition: { ...V, config: { merge: [{ source: 'https://a/c.ign' }] } },
      storage: { files: [{ path: '/etc/f', contents: { source: 'https://a/f', httpHeaders: [{ name: 'A', value: 'parent' }, { name: 'B', value: 'parent' }] } }] },
    }), fetch);
    expect(asked.map((a) => a.url)).toEqual(['https://a/c.ign', 'https://a/f']);
    expect(asked[1]!.headers).toEqual({ B: 'child', C: 'new' });
  });

  it('checks a referenced config\'s hash on its decompressed bytes (spec v3: "the hash describes the decompressed config")', async () => {
    const child = JSON.stringify({ ignition: V, passwd: { users: [{ name: 'zipped' }] } });
    const { fetch } = served({ 'https://a/c.ign.gz': gzipSync(child) });
    const reference = (hash: string) => config({ ignition: { ...V, config: { merge: [{ source: 'https://a/c.ign.gz', compression: 'gzip', verification: { hash } }] } } });
    expect((await resolveIgnitionRemotes(reference(sha256(child)), fetch)).passwd?.users.map((u) => u.name)).toEqual(['zipped']);
    const error = await failure(resolveIgnitionRemotes(reference(sha256(gzipSync(child))), fetch));
    expect(error.path).toBe('ignition.config.merge[0].verification.hash');
  });

  it('reports every problem of a referenced config, each named by where it came from', () => {
    const child = { ignition: V, passwd: { users: [{ name: 7 }] }, storage: { disks: [] } };
    expect(problems({ ignition: { ...V, config: { merge: [{ source: dataUrl(child) }] } } })).toEqual([
      'ignition.config.merge[0] (a data: URL): passwd.users[0].name: Invalid input: expected string, received number',
      'ignition.config.merge[0] (a data: URL): storage.disks: not supported by slipway',
    ]);
    expect(problems({ ignition: { ...V, config: { merge: [{ source: 'data:,{}' }] } } })).toEqual(['ignition.config.merge[0] (a data: URL): not an Ignition config (it has no ignition.version)']);
  });

  it('renders at most 10 referenced configs in all', () => {
    const leaf = { source: dataUrl({ ignition: V }) };
    expect(parseHostConfig(JSON.stringify({ ignition: { ...V, config: { merge: Array(10).fill(leaf) } } }), 'c.ign', baseFacts()).users).toEqual([]);
    expect(problems({ ignition: { ...V, config: { merge: Array(11).fill(leaf) } } })).toEqual(['ignition.config.merge[10]: more than 10 configs merged or replaced in all, the most slipway renders']);
  });

  it('bounds what the fetches bring in to 16 MiB in all', async () => {
    const nine = Buffer.alloc(9 * 1024 ** 2);
    const { fetch } = served({ 'https://a/1': nine, 'https://a/2': nine });
    const error = await failure(resolveIgnitionRemotes(config({ ignition: V, storage: { files: [{ path: '/etc/1', contents: { source: 'https://a/1' } }, { path: '/etc/2', contents: { source: 'https://a/2' } }] } }), fetch));
    expect(`${error.path}: ${error.message}`).toBe('storage.files[1].contents.source: what the config fetches passes 16 MiB, the most a host config may be');
  });

  it('names the scheme it does not take, and needs a source for each merge', () => {
    expect(problems({ ignition: { ...V, config: { merge: [{ source: 'tftp://192.0.2.1/c.ign' }, {}] } } })).toEqual([
      'ignition.config.merge[0].source: tftp: URLs are not supported by slipway (it reads data:, http: and https: sources)',
      'ignition.config.merge[1].source: required: the URL of the config to merge',
    ]);
  });
});
