/**
 * TUF role keys: one ed25519 key per role (root, targets, snapshot, timestamp). A key folder holds
 * ROLE.key (PKCS#8 PEM, mode 0600) and ROLE.pub.json (the public key as TUF writes it, hex).
 * Key IDs are the sha256 of the public key's canonical JSON, as the TUF specification says.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Signature } from '@tufjs/models';
import { OutputError, UpdateError, errorMessage } from '../errors.ts';

export const ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type Role = (typeof ROLES)[number];

export interface RoleKey {
  key: Key;
  privateKey?: KeyObject;
}

/** The raw 32-byte ed25519 public key, hex, from a key object. */
function publicHex(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return der.subarray(der.length - 32).toString('hex');
}

export function tufKey(publicKey: KeyObject): Key {
  const body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex(publicKey) } };
  const keyID = createHash('sha256').update(canonicalize(body)).digest('hex');
  return new Key({ keyID, keyType: body.keytype, scheme: body.scheme, keyVal: body.keyval });
}

/** Writes a new key pair for `role` into `dir`; refuses to replace one. */
export function generateRoleKey(dir: string, role: string): RoleKey {
  const privatePath = join(dir, `${role}.key`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new OutputError(`${dir} is not a folder`, 'give a new folder for the keys');
  if (existsSync(privatePath)) throw new OutputError(`${privatePath} exists`, 'keys are never overwritten; use another folder');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = tufKey(publicKey);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(privatePath, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  writeFileSync(join(dir, `${role}.pub.json`), `${JSON.stringify({ keyid: key.keyID, ...key.toJSON() }, null, 2)}\n`);
  return { key, privateKey };
}

export function generateKeys(dir: string): Record<Role, RoleKey> {
  for (const role of ROLES) {
    if (existsSync(join(dir, `${role}.key`))) throw new OutputError(`${join(dir, `${role}.key`)} exists`, 'keys are never overwritten; use an empty folder');
  }
  return Object.fromEntries(ROLES.map((role) => [role, generateRoleKey(dir, role)])) as Record<Role, RoleKey>;
}

/** A role's key from a key folder; the private half only when it is there (and needed). */
export function loadRoleKey(dir: string, role: string, needPrivate: boolean): RoleKey {
  const privatePath = join(dir, `${role}.key`);
  try {
    if (existsSync(privatePath)) {
      const privateKey = createPrivateKey(readFileSync(privatePath));
      return { key: tufKey(createPublicKey(privateKey)), privateKey };
    }
    if (needPrivate) throw new UpdateError(`no private key ${privatePath}`, `make keys with 'slipway keygen ${dir}'`);
    const json = JSON.parse(readFileSync(join(dir, `${role}.pub.json`), 'utf8')) as { keyid: string };
    return { key: Key.fromJSON(json.keyid, json as never) };
  } catch (cause) {
    if (cause instanceof UpdateError) throw cause;
    throw new UpdateError(`cannot read the ${role} key in ${dir}: ${errorMessage(cause)}`, `make keys with 'slipway keygen ${dir}'`, { cause });
  }
}

/** A signer for Metadata.sign: ed25519 over the canonical bytes it is given. */
export function signerFor(roleKey: RoleKey): (data: Buffer) => Signature {
  if (!roleKey.privateKey) throw new UpdateError(`no private key for ${roleKey.key.keyID}`, 'sign with the key folder that holds the private keys');
  return (data) => new Signature({ keyID: roleKey.key.keyID, sig: sign(null, data, roleKey.privateKey!).toString('hex') });
}
