/**
 * OCI archives for tests: a directory's files as one layer, with the config, manifest and index
 * that skopeo and `ctr images import` read. Tests push them to a registry and bake them into
 * recipes as `image: { archive }`; slipway itself runs the containers it builds from their files.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { containerRootPath } from '../../src/recipe/container-units.ts';
import { packTar } from '../../src/shared/tar.ts';
import { sha256 } from '../../src/shared/hash.ts';
import { tempDir } from './archive.ts';

const EPOCH = 1_700_000_000;

export async function ociArchiveOf(dir: string, tag = 'latest'): Promise<Buffer> {
  const { stdout: layerTar } = await execa('tar', ['--sort=name', '--numeric-owner', `--mtime=@${EPOCH}`, '-C', dir, '-cf', '-', '.'], { encoding: 'buffer' });
  const layer = gzipSync(layerTar);
  const created = new Date(EPOCH * 1000);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    created: created.toISOString(),
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(Buffer.from(layerTar))}`] },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
  }));
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256(manifest)}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }));
  const file = (name: string, body: Buffer) => ({ header: { name, mode: 0o644, uid: 0, gid: 0, mtime: created, type: 'file' as const }, body });
  const folder = (name: string) => ({ header: { name, mode: 0o755, uid: 0, gid: 0, mtime: created, type: 'directory' as const } });
  return packTar([
    file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
    file('index.json', index),
    folder('blobs/'),
    folder('blobs/sha256/'),
    ...[config, layer, manifest].map((blob) => file(`blobs/sha256/${sha256(blob)}`, blob)),
  ]);
}

/** The files of a container slipway built into a root squashfs, as an OCI archive file. */
export async function builtContainerArchive(rootSquashfs: string, container: string): Promise<string> {
  const dir = tempDir('oci-from-root');
  const path = containerRootPath(container);
  await execa('unsquashfs', ['-no-progress', '-d', join(dir, 'root'), rootSquashfs, path]);
  const archive = join(dir, `${container}.oci.tar`);
  writeFileSync(archive, await ociArchiveOf(join(dir, 'root', path)));
  return archive;
}
