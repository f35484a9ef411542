/**
 * The updater's Authenticode check against signatures made by sbsign (the tool that signs slipway's
 * images) on a real EFI program: what OVMF runs passes, what it refuses fails, for the same reason.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyAuthenticode } from '../../src/shared/authenticode.ts';
import { checkUkiTrust } from '../../src/updater/agent/uki-trust.ts';
import { tempDir } from '../helpers/archive.ts';

const PROGRAM = '/usr/lib/systemd/boot/efi/systemd-bootx64.efi';
let dir: string;

async function key(name: string, issuer?: string): Promise<X509Certificate> {
  const [keyFile, cert] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  if (issuer) {
    await execa('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}/`, '-keyout', keyFile, '-out', join(dir, `${name}.csr`)]);
    await execa('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, `${issuer}.crt`), '-CAkey', join(dir, `${issuer}.key`), '-CAcreateserial', '-days', '30', '-out', cert]);
  } else {
    await execa('openssl', ['req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}/`, '-keyout', keyFile, '-out', cert, '-days', '30']);
  }
  return new X509Certificate(readFileSync(cert));
}

async function signed(name: string): Promise<Buffer> {
  const output = join(dir, `by-${name}.efi`);
  await execa('sbsign', ['--key', join(dir, `${name}.key`), '--cert', join(dir, `${name}.crt`), '--output', output, PROGRAM]);
  return readFileSync(output);
}

let db: X509Certificate;
let other: X509Certificate;
let authority: X509Certificate;

beforeAll(async () => {
  dir = tempDir('authenticode');
  db = await key('db');
  other = await key('other');
  authority = await key('authority');
  await key('issued', 'authority');
});

describe('verifyAuthenticode', () => {
  it('passes a program signed by a trusted certificate, naming the signer', async () => {
    expect(verifyAuthenticode(await signed('db'), [other, db])).toEqual({ ok: true, signer: 'CN=db' });
  });

  it('passes a program signed by a certificate a trusted one issued', async () => {
    expect(verifyAuthenticode(await signed('issued'), [authority])).toEqual({ ok: true, signer: 'CN=issued' });
  });

  it('refuses a program signed by a certificate it does not trust', async () => {
    expect(verifyAuthenticode(await signed('other'), [db])).toEqual({ ok: false, reason: 'it is signed by CN=other, which this host does not trust' });
    expect(verifyAuthenticode(await signed('issued'), [db])).toMatchObject({ ok: false });
  });

  it('refuses an unsigned program', () => {
    expect(verifyAuthenticode(readFileSync(PROGRAM), [db])).toEqual({ ok: false, reason: 'it is not signed' });
  });

  it('refuses a program changed after it was signed, anywhere the digest covers', async () => {
    const good = await signed('db');
    for (const at of [0x80, Math.floor(good.length / 2), good.length - 3000]) {
      const changed = Buffer.from(good);
      changed[at] = changed[at]! ^ 0x01;
      expect(verifyAuthenticode(changed, [db]), `byte ${at}`).toMatchObject({ ok: false });
    }
    // sbverify agrees on the one in the middle.
    const changed = Buffer.from(good);
    changed[Math.floor(good.length / 2)] = changed[Math.floor(good.length / 2)]! ^ 0x01;
    writeFileSync(join(dir, 'changed.efi'), changed);
    expect((await execa('sbverify', ['--cert', join(dir, 'db.crt'), join(dir, 'changed.efi')], { reject: false })).exitCode).not.toBe(0);
    expect(verifyAuthenticode(changed, [db])).toEqual({ ok: false, reason: 'it was changed after it was signed (its digest differs from the signed one)' });
  });

  it('refuses, without throwing, a signature it cannot read and a file that is not PE', async () => {
    const good = await signed('db');
    const pe = good.readUInt32LE(0x3c);
    const table = good.readUInt32LE(pe + 24 + 112 + 32);
    const broken = Buffer.from(good);
    broken.fill(0xff, table + 8, table + 64);
    expect(verifyAuthenticode(broken, [db])).toMatchObject({ ok: false, reason: expect.stringMatching(/^its signature cannot be read: /) });
    expect(verifyAuthenticode(Buffer.from('not a program at all, just text'), [db])).toEqual({ ok: false, reason: 'it is not a PE file' });
  });

  it('is what the update agent refuses a UKI by, on a host that signs its UKIs, and only there', async () => {
    const certificate = join(dir, 'db.crt');
    expect(() => checkUkiTrust(PROGRAM, '3.0.0', join(dir, 'no-such.crt'))).not.toThrow();
    await signed('db');
    await signed('other');
    expect(() => checkUkiTrust(join(dir, 'by-db.efi'), '3.0.0', certificate)).not.toThrow();
    expect(() => checkUkiTrust(join(dir, 'by-other.efi'), '3.0.0', certificate)).toThrow('the UKI of 3.0.0 is refused: it is signed by CN=other, which this host does not trust');
    expect(() => checkUkiTrust(PROGRAM, '3.0.0', certificate)).toThrow('the UKI of 3.0.0 is refused: it is not signed');
  });
});
