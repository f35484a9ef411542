/** Secure Boot keys and the default host signed with them, made once per code version and shared. */
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { slipway } from './cli.ts';
import { buildVariant, sharedFolder, type RecipeChange } from './variant.ts';

/** Keys from `slipway keygen --secure-boot`, in a shared folder named `name`. */
export async function secureBootKeys(name = 'secure-boot-keys'): Promise<string> {
  const dir = await sharedFolder(name, async (staging) => {
    const result = await slipway(['keygen', '--secure-boot', join(staging, 'keys')]);
    if (result.exitCode !== 0) throw new Error(`keygen failed:\n${result.stderr}`);
  });
  return join(dir, 'keys');
}

/**
 * The keys of secureBootKeys() with another PCR policy key: what they sign boots under Secure
 * Boot, and unlocks no /var sealed under the first keys.
 */
export async function secureBootKeysWithOtherPcrKey(): Promise<string> {
  const keys = await secureBootKeys();
  const dir = await sharedFolder('secure-boot-keys-other-pcr', async (staging) => {
    const copy = join(staging, 'keys');
    cpSync(keys, copy, { recursive: true });
    rmSync(join(copy, 'tpm2-pcr.key'));
    await execa('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(copy, 'tpm2-pcr.key')]);
    await execa('openssl', ['pkey', '-in', join(copy, 'tpm2-pcr.key'), '-pubout', '-out', join(copy, 'tpm2-pcr.pem')]);
  });
  return join(dir, 'keys');
}

/** The default host (with the debug shell), changed, and signed with `keys`. */
export function signedHost(keys: string, format = 'raw', change: RecipeChange = () => undefined): Promise<{ image: string; dir: string }> {
  return buildVariant(change, format, ['--secure-boot-keys', keys]);
}
