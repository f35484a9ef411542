/** Secure Boot keys and the default host signed with them, made once per code version and shared. */
import { join } from 'node:path';
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

/** The default host (with the debug shell), changed, and signed with `keys`. */
export function signedHost(keys: string, format = 'raw', change: RecipeChange = () => undefined): Promise<{ image: string; dir: string }> {
  return buildVariant(change, format, ['--secure-boot-keys', keys]);
}
