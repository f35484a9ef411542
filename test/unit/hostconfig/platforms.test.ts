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
    expect(gceKeys(Buffer.from(`alice:${KEY}\n\nbob:ecdsa-sha2-nistp256 AAAA bob\n`))).toEqual([KEY, 'ecdsa-sha2-nistp256 AAAA bob']);
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
