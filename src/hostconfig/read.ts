/** Reading a host config file on the build host, the image facts to check it against, and compiling it for an image. */
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ConfigError, ImageError, errorMessage } from '../errors.ts';
import { compileHostConfig, type CompiledConfig } from './compile.ts';
import { baseFacts, factsFromManifest, type ImageFacts, type ManifestFacts } from './facts.ts';
import { CONFIG_HINT, parseHostConfig } from './load.ts';
import type { HostConfig } from './schema.ts';
import { readJsonFile } from '../shared/json.ts';
import { readDocumentFile } from '../shared/yaml.ts';

/** The name of a compiled plan beside a config: on the ESP (/slipway/plan.tar) and on a config drive. */
export const PLAN_FILE_NAME = 'plan.tar';

export function readConfigBytes(file: string): Buffer {
  try {
    return readDocumentFile(file);
  } catch (cause) {
    throw new ConfigError(`cannot read host config ${file}: ${errorMessage(cause)}`, 'give the path of a YAML, JSON or Ignition host config', { cause });
  }
}

/** The manifest beside a built image (NAME_VERSION.raw, .qcow2, .iso or .netboot.efi → NAME_VERSION.manifest.json), or the manifest itself. */
export function manifestFor(image: string): string {
  return image.endsWith('.manifest.json') ? image : image.replace(/\.(raw|qcow2|vhd|vmdk|tar\.gz|iso|netboot\.efi)$/, '') + '.manifest.json';
}

/** The facts a build recorded in the manifest of `image`. */
export function manifestFacts(image: string): ManifestFacts {
  const manifest = manifestFor(image);
  if (!existsSync(manifest)) throw new ImageError(`no manifest for ${image} (looked for ${manifest})`, 'name an image slipway built, with its manifest beside it');
  const value = readJsonFile(manifest, (reason) => new ImageError(`cannot read ${manifest}: ${reason}`, 'name an image slipway built, with its manifest as the build wrote it'));
  const facts = (value as { image?: ManifestFacts } | null)?.image;
  if (!facts) throw new ImageError(`${manifest} does not list the image's accounts and units`, 'rebuild the image with this slipway');
  return facts;
}

/** The facts of a built image, from its manifest; Debian's base accounts when no image is named. */
export function factsForImage(image: string | undefined): ImageFacts {
  return image === undefined ? baseFacts() : factsFromManifest(manifestFacts(image));
}

export function validateConfigFile(file: string, facts: ImageFacts): HostConfig {
  return parseHostConfig(readConfigBytes(file), file, facts);
}

/** Checks a config file against a built image and compiles it into the plan the image's first boot applies. */
export function compileConfigFile(file: string, image: string): Promise<CompiledConfig> {
  const facts = manifestFacts(image);
  if (!facts.install) throw new ImageError(`${manifestFor(image)} comes from a slipway that did not compile host configs`, 'rebuild the image with this slipway');
  return compileHostConfig(readConfigBytes(file), file, facts);
}

/** The name a baked-in config gets on the ESP: config.yaml, config.json or config.ign. */
export function espConfigName(file: string): string {
  const extension = extname(basename(file)).toLowerCase();
  return extension === '.json' ? 'config.json' : extension === '.ign' ? 'config.ign' : 'config.yaml';
}

export { CONFIG_HINT };
