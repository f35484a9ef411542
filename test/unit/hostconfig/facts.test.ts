import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { baseFacts, factsDigest, factsFileText, factsFromManifest, parseGroup, parsePasswd, type ManifestFacts } from '../../../src/hostconfig/facts.ts';

describe('parsePasswd', () => {
  it('reads each account\'s uid, gid and home', () => {
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\n');
    expect([...users]).toEqual([
      ['root', { uid: 0, gid: 0, home: '/root' }],
      ['www-data', { uid: 33, gid: 33, home: '/var/www' }],
      ['app', { uid: 1000, gid: 1000, home: '/home/app' }],
    ]);
  });

  it('skips blank lines and lines with too few fields', () => {
    expect([...parsePasswd('\nbroken:x:5\n:x:1:1::/:/bin/sh\nsync:x:4:65534:sync:/bin:/bin/sync')]).toEqual([
      ['sync', { uid: 4, gid: 65534, home: '/bin' }],
    ]);
  });
});

describe('parseGroup', () => {
  it('reads each group\'s gid, members or not', () => {
    expect([...parseGroup('root:x:0:\nsudo:x:27:alice,bob\nusers:x:100\n')]).toEqual([['root', 0], ['sudo', 27], ['users', 100]]);
  });

  it('skips blank lines and lines with too few fields', () => {
    expect([...parseGroup('\nbroken:x\nadm:x:4:\n')]).toEqual([['adm', 4]]);
  });
});

describe('baseFacts', () => {
  it('has Debian\'s base accounts and groups, sudo among them', () => {
    const facts = baseFacts();
    expect(facts.users.get('root')).toEqual({ uid: 0, gid: 0, home: '/root' });
    expect(facts.users.get('nobody')).toEqual({ uid: 65534, gid: 65534, home: '/nonexistent' });
    expect(facts.users.get('www-data')?.uid).toBe(33);
    expect(facts.groups.get('root')).toBe(0);
    expect(facts.groups.get('sudo')).toBe(27);
    expect(facts.groups.get('adm')).toBe(4);
    expect(facts.users.has('sudo')).toBe(false);
  });

  it('knows no units, containers or time zones', () => {
    const facts = baseFacts();
    expect(facts.units).toBeUndefined();
    expect(facts.hasTimezone).toBeUndefined();
    expect(facts.containers.size).toBe(0);
  });

  it('gives a fresh copy each time', () => {
    baseFacts().users.delete('root');
    expect(baseFacts().users.has('root')).toBe(true);
  });
});

describe('factsFromManifest', () => {
  const image: ManifestFacts = {
    users: [{ name: 'root', uid: 0, gid: 0, home: '/root' }, { name: 'app', uid: 1000, gid: 1000, home: '/home/app' }],
    groups: [{ name: 'root', gid: 0 }, { name: 'sudo', gid: 27 }, { name: 'app', gid: 1000 }],
    units: ['ssh.service', 'containerd.service'],
    containers: ['web'],
    timezones: ['UTC', 'Europe/Berlin'],
    install: { 'ssh.service': [{ target: 'multi-user.target', kind: 'wants' }] },
  };

  it('turns the manifest\'s lists into the facts a config is checked against', () => {
    const facts = factsFromManifest(image);
    expect([...facts.users]).toEqual([['root', { uid: 0, gid: 0, home: '/root' }], ['app', { uid: 1000, gid: 1000, home: '/home/app' }]]);
    expect([...facts.groups]).toEqual([['root', 0], ['sudo', 27], ['app', 1000]]);
    expect([...facts.units!]).toEqual(['ssh.service', 'containerd.service']);
    expect([...facts.containers]).toEqual(['web']);
    expect([...facts.install]).toEqual([['ssh.service', [{ target: 'multi-user.target', kind: 'wants' }]]]);
  });

  it('names the facts file by a sha256 that the file\'s text and a re-read manifest agree on', () => {
    const text = factsFileText(image);
    expect(text.endsWith('}\n')).toBe(true);
    expect(factsDigest(image)).toBe(createHash('sha256').update(text).digest('hex'));
    const reread = JSON.parse(JSON.stringify({ image }, null, 2)) as { image: ManifestFacts };
    expect(factsDigest(reread.image)).toBe(factsDigest(image));
    expect(factsDigest({ ...image, containers: [] })).not.toBe(factsDigest(image));
  });

  it('knows exactly the time zones the manifest lists', () => {
    const facts = factsFromManifest(image);
    expect(facts.hasTimezone!('Europe/Berlin')).toBe(true);
    expect(facts.hasTimezone!('UTC')).toBe(true);
    expect(facts.hasTimezone!('Europe/Paris')).toBe(false);
    expect(factsFromManifest({ ...image, timezones: [] }).hasTimezone!('UTC')).toBe(false);
  });
});
