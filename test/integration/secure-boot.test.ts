/**
 * Secure Boot keys and signed images, checked with the tools that define them: openssl for the
 * certificates, sbverify for the signatures, mtools for what the ESP carries. Booting one with
 * Secure Boot enforced is test/e2e/secure-boot.test.ts.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { peSection } from '../../src/shared/pe.ts';
import { SHARED_CACHE, tempDir } from '../helpers/archive.ts';
import { errorLines, slipway } from '../helpers/cli.ts';
import { secureBootKeys, signedHost } from '../helpers/secure-boot.ts';

const ROLES = ['PK', 'KEK', 'db'] as const;

/** A file on the image's ESP, read with mtools at the ESP's offset. */
async function espFile(image: string, manifest: { disk: { partitions: Array<{ role: string; offset: number }> } }, path: string): Promise<Buffer> {
  const esp = manifest.disk.partitions.find((p) => p.role === 'esp')!;
  const { stdout } = await execa('mtype', ['-i', `${image}@@${esp.offset}`, `::/${path}`], { encoding: 'buffer', env: { MTOOLS_SKIP_CHECK: '1' } });
  return Buffer.from(stdout);
}

async function derOf(cert: string): Promise<Buffer> {
  const { stdout } = await execa('openssl', ['x509', '-in', cert, '-outform', 'DER'], { encoding: 'buffer' });
  return Buffer.from(stdout);
}

async function verifies(cert: string, file: string): Promise<boolean> {
  return (await execa('sbverify', ['--cert', cert, file], { reject: false })).exitCode === 0;
}

describe('slipway keygen --secure-boot', () => {
  it('makes PK, KEK and db with certificates and signed lists, keys private, and replaces none', async () => {
    const dir = join(tempDir('sb'), 'keys');
    const made = await slipway(['keygen', '--secure-boot', dir, '--json']);
    expect(made.exitCode, made.stderr).toBe(0);
    const { owner } = JSON.parse(made.stdout) as { owner: string };
    expect(readFileSync(join(dir, 'owner.guid'), 'utf8').trim()).toBe(owner);
    for (const role of ROLES) {
      expect(statSync(join(dir, `${role}.key`)).mode & 0o777, role).toBe(0o600);
      expect(statSync(join(dir, `${role}.auth`)).mode & 0o077, role).not.toBe(0);
      const { stdout } = await execa('openssl', ['x509', '-in', join(dir, `${role}.crt`), '-noout', '-subject']);
      expect(stdout).toMatch(/CN ?= ?slipway /);
      // The signed list holds the role's certificate, owned by the owner GUID.
      const auth = readFileSync(join(dir, `${role}.auth`));
      expect(auth.includes(await derOf(join(dir, `${role}.crt`))), role).toBe(true);
    }
    // The PCR policy key: private like the others, its public half beside it.
    expect(statSync(join(dir, 'tpm2-pcr.key')).mode & 0o777).toBe(0o600);
    const { stdout: publicHalf } = await execa('openssl', ['pkey', '-in', join(dir, 'tpm2-pcr.key'), '-pubout']);
    expect(readFileSync(join(dir, 'tpm2-pcr.pem'), 'utf8').trim()).toBe(publicHalf.trim());
    // The KEK's list is signed by the PK, the db's by the KEK: their certificates are in the signatures.
    expect(readFileSync(join(dir, 'KEK.auth')).includes(await derOf(join(dir, 'PK.crt')))).toBe(true);
    expect(readFileSync(join(dir, 'db.auth')).includes(await derOf(join(dir, 'KEK.crt')))).toBe(true);

    const before = readFileSync(join(dir, 'db.key'));
    const again = await slipway(['keygen', '--secure-boot', dir]);
    expect(again.exitCode).toBe(10);
    expect(errorLines(again).message).toMatch(/already holds Secure Boot keys \(PK\.key, PK\.crt, PK\.auth, KEK\.key/);
    expect(readFileSync(join(dir, 'db.key'))).toEqual(before);
  });
});

describe('a build signed for Secure Boot', () => {
  let keys: string;
  let build: { image: string; dir: string };
  let manifest: { artifacts: Record<string, { file: string }>; disk: { partitions: Array<{ role: string; offset: number }> } };

  beforeAll(async () => {
    keys = await secureBootKeys();
    build = await signedHost(keys);
    manifest = JSON.parse(readFileSync(join(build.dir, 'out', 'host_1.0.0.manifest.json'), 'utf8')) as typeof manifest;
  });

  it('has systemd-boot and the UKI signed by the db key, and by no other', async () => {
    const uki = join(build.dir, 'out', manifest.artifacts.uki!.file);
    const loader = join(tempDir('sb'), 'BOOTX64.EFI');
    writeFileSync(loader, await espFile(build.image, manifest, 'EFI/BOOT/BOOTX64.EFI'));
    const onEsp = join(tempDir('sb'), 'uki.efi');
    writeFileSync(onEsp, await espFile(build.image, manifest, 'EFI/Linux/host_1.0.0+3.efi'));
    // Buffer.equals: vitest's deep equality walks a 12 MB buffer byte by byte for a minute and a half.
    expect(readFileSync(onEsp).equals(readFileSync(uki))).toBe(true);
    const other = join(tempDir('sb'), 'other');
    expect((await slipway(['keygen', '--secure-boot', other])).exitCode).toBe(0);
    for (const file of [uki, loader]) {
      expect(await verifies(join(keys, 'db.crt'), file), file).toBe(true);
      expect(await verifies(join(other, 'db.crt'), file), file).toBe(false);
      expect(await verifies(join(keys, 'KEK.crt'), file), file).toBe(false);
    }
  });

  it('gives the UKI SBAT entries of its own after the stub’s', () => {
    const sbat = peSection(readFileSync(join(build.dir, 'out', manifest.artifacts.uki!.file)), '.sbat')!.toString('utf8').replace(/\0+$/, '');
    const lines = sbat.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^sbat,1,SBAT Version,sbat,1,/);
    expect(lines).toContainEqual(expect.stringMatching(/^systemd,\d+,The systemd Developers,systemd,/));
    expect(lines.slice(-2)).toEqual([
      'uki,1,UKI,uki,1,https://uapi-group.org/specifications/specs/unified_kernel_image/',
      'uki.slipway,1,slipway,host,1.0.0,https://uapi-group.org/specifications/specs/unified_kernel_image/',
    ]);
  });

  it('carries the signed lists for systemd-boot to enroll on a machine in setup mode', async () => {
    const conf = (await espFile(build.image, manifest, 'loader/loader.conf')).toString('utf8');
    expect(conf.split('\n')).toContain('secure-boot-enroll force');
    expect(conf.split('\n')).toContain('editor no');
    for (const role of ROLES) expect(await espFile(build.image, manifest, `loader/keys/auto/${role}.auth`), role).toEqual(readFileSync(join(keys, `${role}.auth`)));
  });

  it('is reproducible: the same lockfile and keys build the same bytes', async () => {
    const out = join(tempDir('sb'), 'out');
    const result = await slipway(['build', join(build.dir, 'host.yaml'), '--out', out, '--cache', SHARED_CACHE, '--format', 'raw', '--secure-boot-keys', keys]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(join(out, 'SHA256SUMS'), 'utf8')).toBe(readFileSync(join(build.dir, 'out', 'SHA256SUMS'), 'utf8'));
  });

  it('is refused before anything is downloaded when the keys are not all there', async () => {
    const dir = join(tempDir('sb'), 'partial');
    mkdirSync(dir);
    writeFileSync(join(dir, 'db.key'), 'x');
    chmodSync(join(dir, 'db.key'), 0o600);
    const cache = tempDir('cache');
    const result = await slipway(['build', join(build.dir, 'host.yaml'), '--out', join(dir, 'out'), '--cache', cache, '--secure-boot-keys', dir]);
    expect(result.exitCode, result.stderr).toBe(3);
    expect(errorLines(result)).toMatchObject({
      message: `slipway: --secure-boot-keys: ${dir} has no readable db.crt, PK.auth, KEK.auth, db.auth`,
      hint: `hint: make the keys with 'slipway keygen --secure-boot ${dir}'`,
    });
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(existsSync(join(cache, 'debs'))).toBe(false);
  });
});
