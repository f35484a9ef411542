/**
 * OCI images from Debian packages: the container set's files as one layer (tar-stream, sorted,
 * every time SOURCE_DATE_EPOCH, owners from the tree's records), a config, a manifest and an
 * index, packed as an OCI archive that `ctr images import` reads. Equal inputs give equal digests.
 */
import { sha256 } from '../shared/hash.ts';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { packTar, readTarFiles, type TarEntry } from './tar.ts';
import { Readable } from 'node:stream';

import type { Tree } from './tree.ts';

export interface OciImage {
  /** The OCI archive (a tar of the image layout). */
  archive: Buffer;
  /** sha256:… of the manifest, the image's identity. */
  digest: string;
  name: string;
}

async function layerOf(tree: Tree, mtime: Date): Promise<Buffer> {
  const entries: TarEntry[] = [];
  for (const path of tree.walk('')) {
    const entry = tree.get(path)!;
    const base = { name: path, mode: entry.mode, uid: entry.uid, gid: entry.gid, mtime, uname: '', gname: '' };
    if (entry.type === 'directory') entries.push({ header: { ...base, name: `${path}/`, type: 'directory' } });
    else if (entry.type === 'symlink') entries.push({ header: { ...base, type: 'symlink', linkname: entry.target! } });
    else if (entry.type === 'file') entries.push({ header: { ...base, type: 'file' }, body: readFileSync(tree.hostPath(path)) });
    // Device nodes and fifos have no place in a container layer: the runtime makes /dev.
  }
  return packTar(entries);
}

export async function buildOciImage(tree: Tree, name: string, command: readonly string[] | undefined, env: Record<string, string>, epoch: number): Promise<OciImage> {
  const mtime = new Date(epoch * 1000);
  const layerTar = await layerOf(tree, mtime);
  const layer = gzipSync(layerTar, { level: 9 });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: mtime.toISOString(),
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
        ...(command ? { Cmd: command } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layerTar)}`] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
    }),
  );
  const reference = `slipway.local/${name}:latest`;
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${sha256(manifest)}`,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': reference, 'org.opencontainers.image.ref.name': 'latest' },
        },
      ],
    }),
  );
  const file = (path: string, body: Buffer) => ({ header: { name: path, mode: 0o644, uid: 0, gid: 0, mtime, type: 'file' as const }, body });
  const dir = (path: string) => ({ header: { name: path, mode: 0o755, uid: 0, gid: 0, mtime, type: 'directory' as const } });
  const blobs = [config, layer, manifest].map((blob) => ({ digest: sha256(blob), blob })).sort((a, b) => (a.digest < b.digest ? -1 : 1));
  const archive = await packTar([
    file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
    file('index.json', index),
    dir('blobs/'),
    dir('blobs/sha256/'),
    ...blobs.map(({ digest, blob }) => file(`blobs/sha256/${digest}`, blob)),
  ]);
  return { archive, digest: `sha256:${sha256(manifest)}`, name: reference };
}

/** The tag an OCI archive names its image with (index.json's org.opencontainers.image.ref.name), or undefined. */
export async function ociArchiveTag(archive: Buffer): Promise<string | undefined> {
  const index = (await readTarFiles(Readable.from([archive]), (name) => name === 'index.json')).get('index.json');
  if (!index) return undefined;
  const parsed = JSON.parse(index.toString('utf8')) as { manifests?: Array<{ annotations?: Record<string, string> }> };
  const ref = parsed.manifests?.[0]?.annotations?.['org.opencontainers.image.ref.name'];
  return ref && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(ref) ? ref : undefined;
}
