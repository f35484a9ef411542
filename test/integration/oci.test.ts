/** The OCI archives tests push and bake in are read by skopeo; slipway reads their tag. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { ociArchiveTag } from '../../src/assemble/oci.ts';
import { tempDir } from '../helpers/archive.ts';
import { ociArchiveOf } from '../helpers/oci-image.ts';

function sampleDir(): string {
  const dir = tempDir('oci-dir');
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/hello'), '#!/bin/sh\necho hello\n', { mode: 0o755 });
  return dir;
}

describe('OCI archives', () => {
  it('name their tag, which slipway reads, and are read by skopeo with their layer', async () => {
    const archive = await ociArchiveOf(sampleDir(), '1.2');
    expect(await ociArchiveTag(archive)).toBe('1.2');
    const file = join(tempDir('oci'), 'hello.oci.tar');
    writeFileSync(file, archive);
    const dir = tempDir('oci-copy');
    await execa('skopeo', ['copy', `oci-archive:${file}`, `dir:${dir}`]);
    const manifest = JSON.parse((await execa('skopeo', ['inspect', '--raw', `dir:${dir}`])).stdout) as { layers: Array<{ digest: string }> };
    const listing = (await execa('tar', ['-tvzf', join(dir, manifest.layers[0]!.digest.replace('sha256:', ''))])).stdout;
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* \.\/usr\/bin\/hello$/m);
  });

  it('without a usable tag name give none', async () => {
    expect(await ociArchiveTag(await ociArchiveOf(sampleDir(), 'bad tag'))).toBeUndefined();
  });
});
