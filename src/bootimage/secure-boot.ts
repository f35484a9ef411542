/**
 * Secure Boot with the user's own keys: a platform key (PK), a key exchange key (KEK) and a
 * signature database key (db), each an RSA key with its certificate, and the signed EFI signature
 * lists that put them into a machine in setup mode (systemd-boot enrolls them from the ESP). The
 * db key signs systemd-boot and every UKI. Beside them, a key of its own signs the PCR 11 policy
 * that a sealed /var is bound to (tpm2-pcr.key, its public half tpm2-pcr.pem), so that it can be
 * handed to whoever signs images without the db key, and every UKI it signs unlocks the same /var.
 */
import { randomUUID } from 'node:crypto';
import { accessSync, chmodSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputError, RecipeError, errorMessage } from '../errors.ts';
import { runTool } from '../tools.ts';

/** What a build that signs needs besides the build's own tools. */
export const SIGNING_TOOLS = ['faketime', 'sbsign'] as const;

export const SECURE_BOOT_ROLES = ['PK', 'KEK', 'db'] as const;
export type SecureBootRole = (typeof SECURE_BOOT_ROLES)[number];

const SUBJECTS: Record<SecureBootRole, string> = {
  PK: 'slipway platform key',
  KEK: 'slipway key exchange key',
  db: 'slipway signature database key',
};

/** Who signs each role's signature list: the PK itself, the KEK by the PK, the db by the KEK. */
const SIGNED_BY: Record<SecureBootRole, SecureBootRole> = { PK: 'PK', KEK: 'PK', db: 'KEK' };

/** The owner GUID every signature list carries, kept beside the keys. */
const OWNER_FILE = 'owner.guid';

/** The PCR policy signing key and its public half, which the UKI carries as .pcrpkey. */
export const PCR_KEY_FILE = 'tpm2-pcr.key';
export const PCR_PUBLIC_KEY_FILE = 'tpm2-pcr.pem';

/** Twenty years: firmware does not check a certificate's dates, but other tools read them. */
const VALID_DAYS = 7305;

export interface SecureBootKeys {
  dir: string;
  /** The db key and certificate, which sign what the firmware and systemd-boot load. */
  dbKey: string;
  dbCert: string;
  /** The signed signature lists to enroll, by variable. */
  auth: Record<SecureBootRole, string>;
  /** The PCR policy key, when the build seals /var (disk.encryption: tpm2). */
  pcr?: { privateKey: string; publicKey: string };
}

const paths = (dir: string) => ({
  key: (role: SecureBootRole) => join(dir, `${role}.key`),
  cert: (role: SecureBootRole) => join(dir, `${role}.crt`),
  esl: (role: SecureBootRole) => join(dir, `${role}.esl`),
  auth: (role: SecureBootRole) => join(dir, `${role}.auth`),
});

/** "YYYY-MM-DD HH:MM:SS" in UTC, as sign-efi-sig-list and faketime read a moment. */
export function utcMoment(date: Date): string {
  return date.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
}

/**
 * Makes PK, KEK and db in `dir` (keys 0600, certificates and signed lists readable), in a folder
 * of its own first: an interrupted keygen leaves nothing, and existing keys are never replaced.
 */
export async function makeSecureBootKeys(dir: string, now = new Date()): Promise<{ owner: string; files: string[] }> {
  const existing = [...SECURE_BOOT_ROLES.flatMap((role) => [`${role}.key`, `${role}.crt`, `${role}.auth`]), PCR_KEY_FILE].filter((file) => existsSync(join(dir, file)));
  if (existing.length > 0) throw new OutputError(`${dir} already holds Secure Boot keys (${existing.join(', ')})`, 'keys are never replaced: give a new folder, or remove these first');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new OutputError(`cannot make ${dir}: ${errorMessage(cause)}`, 'give a folder you can write', { cause });
  }
  const scratch = mkdtempSync(join(dir, '.keygen-'));
  try {
    const at = paths(scratch);
    const owner = randomUUID();
    writeFileSync(join(scratch, OWNER_FILE), `${owner}\n`);
    for (const role of SECURE_BOOT_ROLES) {
      // The owner GUID in the name tells one user's keys from another's where only names are shown.
      await runTool('openssl', ['req', '-new', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(VALID_DAYS), '-subj', `/CN=${SUBJECTS[role]} ${owner.slice(0, 8)}/`, '-keyout', at.key(role), '-out', at.cert(role)]);
      chmodSync(at.key(role), 0o600);
      await runTool('cert-to-efi-sig-list', ['-g', owner, at.cert(role), at.esl(role)]);
    }
    for (const role of SECURE_BOOT_ROLES) {
      const signer = SIGNED_BY[role];
      await runTool('sign-efi-sig-list', ['-g', owner, '-t', utcMoment(now), '-k', at.key(signer), '-c', at.cert(signer), role, at.esl(role), at.auth(role)]);
      chmodSync(at.auth(role), 0o644);
    }
    await makePcrKey(join(scratch, PCR_KEY_FILE), join(scratch, PCR_PUBLIC_KEY_FILE));
    const files = [OWNER_FILE, ...SECURE_BOOT_ROLES.flatMap((role) => [`${role}.key`, `${role}.crt`, `${role}.esl`, `${role}.auth`]), PCR_KEY_FILE, PCR_PUBLIC_KEY_FILE];
    for (const file of files) renameSync(join(scratch, file), join(dir, file));
    return { owner, files };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** An RSA key for systemd-measure's PCR signatures (0600), and its public half in PEM. */
async function makePcrKey(privateKey: string, publicKey: string): Promise<void> {
  await runTool('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', privateKey]);
  chmodSync(privateKey, 0o600);
  await runTool('openssl', ['pkey', '-in', privateKey, '-pubout', '-out', publicKey]);
  chmodSync(publicKey, 0o644);
}

/**
 * The keys a build signs with, each checked readable before anything is downloaded; `where` names
 * the setting in errors. `pcr`: the build seals /var, so the PCR policy key is needed too.
 */
export function readSecureBootKeys(dir: string, where: string, pcr = false): SecureBootKeys {
  const at = paths(dir);
  const pcrKeys = { privateKey: join(dir, PCR_KEY_FILE), publicKey: join(dir, PCR_PUBLIC_KEY_FILE) };
  const needed = [at.key('db'), at.cert('db'), ...SECURE_BOOT_ROLES.map((role) => at.auth(role)), ...(pcr ? [pcrKeys.privateKey, pcrKeys.publicKey] : [])];
  const missing = needed.filter((file) => {
    try {
      accessSync(file, constants.R_OK);
      return !statSync(file).isFile();
    } catch {
      return true;
    }
  });
  if (missing.length > 0) {
    const onlyPcr = missing.every((file) => file === pcrKeys.privateKey || file === pcrKeys.publicKey);
    throw new RecipeError(
      `${where}: ${dir} has no readable ${missing.map((file) => file.slice(dir.length + 1)).join(', ')}${onlyPcr ? ' (disk.encryption: tpm2 seals /var to a PCR policy that key signs)' : ''}`,
      onlyPcr
        ? `keys made by an older slipway lack it: 'openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ${pcrKeys.privateKey}', then 'openssl pkey -in ${pcrKeys.privateKey} -pubout -out ${pcrKeys.publicKey}'`
        : `make the keys with 'slipway keygen --secure-boot ${dir}'`,
    );
  }
  return { dir, dbKey: at.key('db'), dbCert: at.cert('db'), auth: { PK: at.auth('PK'), KEK: at.auth('KEK'), db: at.auth('db') }, ...(pcr ? { pcr: pcrKeys } : {}) };
}

/**
 * Signs an EFI program with the db key. sbsign stamps its signature with the time it signs; run at
 * the build's SOURCE_DATE_EPOCH, the same keys sign the same bytes the same way every time.
 */
export async function signEfiProgram(keys: SecureBootKeys, input: string, output: string, epoch: number): Promise<void> {
  const moment = utcMoment(new Date(epoch * 1000));
  await runTool('faketime', ['-f', moment, 'sbsign', '--key', keys.dbKey, '--cert', keys.dbCert, '--output', output, input], { env: { TZ: 'UTC' } });
}
