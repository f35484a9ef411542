/**
 * How `slipway boot --config` hands a host config to a machine: by QEMU fw_cfg, the config itself and,
 * when the image's manifest allows, the plan compiled from it for that image. With the plan, the first
 * boot applies it without starting Node; without one, the first boot checks and compiles the config.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileHostConfig } from './compile.ts';
import { baseFacts, factsFromManifest } from './facts.ts';
import { manifestFacts, manifestFor, PLAN_FILE_NAME, readConfigBytes, validateConfigFile } from './read.ts';

export const FW_CFG_CONFIG = 'opt/slipway/config';
export const FW_CFG_PLAN = 'opt/slipway/plan';

/**
 * Checks `configFile` against `image` (a bad config would stop the boot) and returns the fw_cfg
 * entries for it; a compiled plan is written into `planDir`. An image without a manifest is checked
 * against Debian's base accounts, and an image from a slipway before compiled plans gets no plan.
 */
/** A file QEMU passes by fw_cfg under `name` (opt/slipway/config, say). */
export interface FwCfgFile {
  name: string;
  file: string;
}

export async function configFwCfg(configFile: string, image: string, planDir: string): Promise<FwCfgFile[]> {
  const config = { name: FW_CFG_CONFIG, file: resolve(configFile) };
  if (!existsSync(manifestFor(image))) {
    validateConfigFile(configFile, baseFacts());
    return [config];
  }
  const facts = manifestFacts(image);
  if (!facts.install) {
    validateConfigFile(configFile, factsFromManifest(facts));
    return [config];
  }
  const { plan } = await compileHostConfig(readConfigBytes(configFile), configFile, facts);
  // A config with remote sources is compiled by the first boot, once it has fetched them.
  if (!plan) return [config];
  const planFile = join(planDir, PLAN_FILE_NAME);
  writeFileSync(planFile, plan);
  return [config, { name: FW_CFG_PLAN, file: planFile }];
}
