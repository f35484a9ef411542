import { describe, expect, it } from 'vitest';
import { gceKeys, hostnameFrom, nocloudIdentity, openstackIdentity } from '../../../src/hostconfig/platforms.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';

describe('what platforms say of a machine', () => {
  it('takes the first label of a fully qualified name, if it is a valid host name', () => {
    expect(hostnameFrom('ip-172-31-1-2.eu-west-1.compute.internal')).toBe('ip-172-31-1-2');
    expect(hostnameFrom('Web-1.c.project.internal\n')).toBe('web-1');
    expect(hostnameFrom('under_score.example')).toBeUndefined();
    expect(hostnameFrom('')).toBeUndefined();
  });

  it('reads GCE ssh-keys lines without their user prefix', () => {
    expect(gceKeys(Buffer.from(`alice:${KEY}\n\nBob.1:ecdsa-sha2-nistp256 AAAA bob\n`))).toEqual([KEY, 'ecdsa-sha2-nistp256 AAAA bob']);
    expect(gceKeys(undefined)).toEqual([]);
  });

  it('reads OpenStack meta_data.json', () => {
    expect(openstackIdentity(Buffer.from(JSON.stringify({ hostname: 'vm-1.novalocal', public_keys: { mine: `${KEY}\n` } })), 'drive')).toEqual({ hostname: 'vm-1', sshKeys: [KEY] });
    expect(openstackIdentity(Buffer.from('{"name": "vm-2"}'), 'drive')).toEqual({ hostname: 'vm-2', sshKeys: [] });
    expect(() => openstackIdentity(Buffer.from('{'), 'drive')).toThrow('drive: meta_data.json is not JSON');
  });

  it('reads NoCloud meta-data, with public-keys as cloud-init takes them', () => {
    expect(nocloudIdentity(Buffer.from(`instance-id: i-1\nlocal-hostname: box\npublic-keys:\n  - ${KEY}\n`), 'cidata')).toEqual({ hostname: 'box', sshKeys: [KEY] });
    expect(nocloudIdentity(Buffer.from(`local-hostname: box.lan\npublic-keys: "${KEY}"\n`), 'cidata')).toEqual({ hostname: 'box', sshKeys: [KEY] });
    expect(nocloudIdentity(undefined, 'cidata')).toEqual({ sshKeys: [] });
  });
});

describe('the metal platform', () => {
  it('fetches the config at its URL and checks the sha256 it is pinned by', async () => {
    const { createServer } = await import('node:http');
    const { createHash } = await import('node:crypto');
    const { readPlatformConfig } = await import('../../../src/hostconfig/platforms.ts');
    const body = 'hostname: metal-1\n';
    const server = createServer((request, response) => {
      if (request.url === '/host.yaml') response.end(body);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const context = (configUrl: string, configSha256?: string) => ({ dir: '/nonexistent', configUrl, configSha256, retryForMs: 2000, log: () => {} });
    try {
      const good = await readPlatformConfig('metal', context(`${base}/host.yaml`, createHash('sha256').update(body).digest('hex')));
      expect(good.userData?.toString()).toBe(body);
      expect(good.label).toBe(`${base}/host.yaml`);
      await expect(readPlatformConfig('metal', context(`${base}/host.yaml`, '0'.repeat(64)))).rejects.toThrow(/its sha256 is [0-9a-f]{64}, not the 0{64} slipway\.config\.sha256 pins/);
      await expect(readPlatformConfig('metal', context(`${base}/missing.yaml`, '0'.repeat(64)))).rejects.toThrow(`no host config from the metal platform: ${base}/missing.yaml answered 404`);
      await expect(readPlatformConfig('metal', context(`${base}/host.yaml`))).rejects.toThrow(/a plain http:\/\/ config URL needs slipway\.config\.sha256=/);
      expect(await readPlatformConfig('metal', { dir: '/nonexistent', retryForMs: 1000, log: () => {} })).toEqual({ label: 'metal', identity: { sshKeys: [] } });
    } finally {
      server.close();
    }
  });
});
