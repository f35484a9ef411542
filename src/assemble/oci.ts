/** What slipway reads of the OCI archives a recipe bakes in (`image: { archive }`). */
import { Readable } from 'node:stream';
import { readTarFiles } from '../shared/tar.ts';

/** The tag an OCI archive names its image with (index.json's org.opencontainers.image.ref.name), or undefined. */
export async function ociArchiveTag(archive: Buffer): Promise<string | undefined> {
  const index = (await readTarFiles(Readable.from([archive]), (name) => name === 'index.json')).get('index.json');
  if (!index) return undefined;
  const parsed = JSON.parse(index.toString('utf8')) as { manifests?: Array<{ annotations?: Record<string, string> }> };
  const ref = parsed.manifests?.[0]?.annotations?.['org.opencontainers.image.ref.name'];
  return ref && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(ref) ? ref : undefined;
}
