/** OCI archives slipway builds are read by skopeo, and the same inputs give the same digest. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildOciImage, ociArchiveTag } from '../../src/assemble/oci.ts';
import { Tree } from '../../src/assemble/tree.ts';
import { tempDir } from '../helpers/archive.ts';

function sampleTree(): Tree {
  const tree = new Tree(join(tempDir('oci-tree'), 'root'));
  tree.mkdir('usr/bin');
  tree.writeFile('usr/bin/hello', '#!/bin/sh\necho hello\n', { mode: 0o755 });
  tree.symlink('bin', 'usr/bin');
  tree.writeFile('etc/motd', 'slipway\n', { mode: 0o644, uid: 0, gid: 0 });
  return tree;
}

describe('OCI images', () => {
  it('are reproducible: the same tree and settings give the same digest and bytes', async () => {
    const a = await buildOciImage(sampleTree(), 'hello', ['/usr/bin/hello'], { GREETING: 'hi' }, 1_700_000_000);
    const b = await buildOciImage(sampleTree(), 'hello', ['/usr/bin/hello'], { GREETING: 'hi' }, 1_700_000_000);
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.digest).toBe(a.digest);
    expect(b.archive.equals(a.archive)).toBe(true);
    const c = await buildOciImage(sampleTree(), 'hello', ['/usr/bin/hello'], { GREETING: 'hello' }, 1_700_000_000);
    expect(c.digest).not.toBe(a.digest);
  });

  it('are read by skopeo, with the command, environment and layer slipway wrote', async () => {
    const image = await buildOciImage(sampleTree(), 'hello', ['/usr/bin/hello'], { GREETING: 'hi' }, 1_700_000_000);
    const file = join(tempDir('oci'), 'hello.oci.tar');
    writeFileSync(file, image.archive);
    expect(await ociArchiveTag(image.archive)).toBe('latest');
    const config = JSON.parse((await execa('skopeo', ['inspect', '--config', `oci-archive:${file}`])).stdout) as {
      architecture: string;
      config: { Cmd: string[]; Env: string[] };
      rootfs: { diff_ids: string[] };
    };
    expect(config.architecture).toBe('amd64');
    expect(config.config.Cmd).toEqual(['/usr/bin/hello']);
    expect(config.config.Env).toContain('GREETING=hi');
    expect(config.rootfs.diff_ids).toHaveLength(1);
    const dir = tempDir('oci-copy');
    await execa('skopeo', ['copy', `oci-archive:${file}`, `dir:${dir}`]);
    const manifest = JSON.parse((await execa('skopeo', ['inspect', '--raw', `dir:${dir}`])).stdout) as { layers: Array<{ digest: string }> };
    const layer = join(dir, manifest.layers[0]!.digest.replace('sha256:', ''));
    const listing = (await execa('tar', ['-tvzf', layer])).stdout;
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* usr\/bin\/hello$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 .* bin -> usr\/bin$/m);
  });
});
