/** Reading a host config file on the build host, and the image facts to check it against. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { ConfigError, errorMessage } from '../errors.ts';
import { baseFacts, factsFromManifest, type ImageFacts, type ManifestFacts } from './facts.ts';
import { CONFIG_HINT, parseHostConfig } from './load.ts';
import type { HostConfig } from './schema.ts';

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read host config ${file}: ${errorMessage(cause)}`, 'give the path of a YAML, JSON or Ignition host config', { cause });
  }
}

/** The manifest beside a built image (NAME_VERSION.raw → NAME_VERSION.manifest.json), or the manifest itself. */
export function manifestFor(image: string): string {
  return image.endsWith('.manifest.json') ? image : image.replace(/\.(raw|qcow2)$/, '') + '.manifest.json';
}

/** The facts of a built image, from its manifest; Debian's base accounts when there is none. */
export function factsForImage(image: string | undefined): ImageFacts {
  if (image === undefined) return baseFacts();
  const manifest = manifestFor(image);
  if (!existsSync(manifest)) throw new ConfigError(`no manifest for ${image} (looked for ${manifest})`, 'name an image slipway built, with its manifest beside it');
  const facts = (JSON.parse(readFileSync(manifest, 'utf8')) as { image?: ManifestFacts }).image;
  if (!facts) throw new ConfigError(`${manifest} does not list the image's accounts and units`, 'rebuild the image with this slipway');
  return factsFromManifest(facts);
}

export function validateConfigFile(file: string, facts: ImageFacts): HostConfig {
  return parseHostConfig(readConfigText(file), file, facts);
}

/** The name a baked-in config gets on the ESP: config.yaml, config.json or config.ign. */
export function espConfigName(file: string): string {
  const extension = extname(basename(file)).toLowerCase();
  return extension === '.json' ? 'config.json' : extension === '.ign' ? 'config.ign' : 'config.yaml';
}

export { CONFIG_HINT };
