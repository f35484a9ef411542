import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { findKernel, HeldModules, moduleClosure, trimModules } from '../../src/assemble/kernel.ts';
import { Tree } from '../../src/assemble/tree.ts';
import { mergeUsr, unpackDataTar } from '../../src/assemble/unpack.ts';
import { tempDir } from '../helpers/archive.ts';

const VERSION = '6.1.0-test-amd64';
const MODULES = `./lib/modules/${VERSION}/kernel`;

/** A kernel package's data tar, as Debian 12 lays it out (under /lib, which merged /usr moves). */
async function kernelTar(dir: string): Promise<string> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  for (const folder of ['./boot', './lib', './lib/modules', `./lib/modules/${VERSION}`, MODULES, `${MODULES}/fs`, `${MODULES}/fs/ext4`, `${MODULES}/drivers`, `${MODULES}/drivers/gpu`]) {
    tar.entry({ name: `${folder}/`, type: 'directory', mode: 0o755 });
  }
  tar.entry({ name: `./boot/vmlinuz-${VERSION}`, mode: 0o644 }, 'kernel');
  tar.entry({ name: `./lib/modules/${VERSION}/modules.builtin`, mode: 0o644 }, 'kernel/fs/mbcache.ko\n');
  tar.entry({ name: `${MODULES}/fs/ext4/ext4.ko`, mode: 0o644 }, 'ext4 module');
  tar.entry({ name: `${MODULES}/fs/ext4/jbd2.ko`, mode: 0o644 }, 'jbd2 module');
  tar.entry({ name: `${MODULES}/drivers/gpu/i915.ko`, mode: 0o644 }, 'a large graphics module');
  tar.finalize();
  await done;
  const path = join(dir, 'kernel.tar');
  writeFileSync(path, Buffer.concat(chunks));
  return path;
}

describe('HeldModules', () => {
  it('keeps module files out of the tree while unpacking, then writes only the ones asked for', async () => {
    const dir = tempDir('held-modules');
    const tar = await kernelTar(dir);
    const tree = new Tree(join(dir, 'root'));
    mergeUsr(tree);
    const held = new HeldModules();
    await unpackDataTar(tree, tar, 'linux-image-test', () => true, held.divert(tar, 'linux-image-test'));
    const root = `usr/lib/modules/${VERSION}`;
    expect(held.paths().sort()).toEqual([`${root}/kernel/drivers/gpu/i915.ko`, `${root}/kernel/fs/ext4/ext4.ko`, `${root}/kernel/fs/ext4/jbd2.ko`]);
    expect(tree.walk(`${root}/kernel`).filter((path) => path.endsWith('.ko'))).toEqual([]);
    expect(tree.has(`${root}/modules.builtin`)).toBe(true);

    const kernel = findKernel(tree, 'linux-image-test', held);
    expect([...kernel.modules.keys()].sort()).toEqual(['ext4', 'i915', 'jbd2']);
    expect(kernel.dependsOn('ext4')).toEqual([]);

    await held.write(tree, new Set([`${root}/kernel/fs/ext4/ext4.ko`]));
    expect(readFileSync(tree.hostPath(`${root}/kernel/fs/ext4/ext4.ko`), 'utf8')).toBe('ext4 module');
    expect(tree.get(`${root}/kernel/fs/ext4/ext4.ko`)).toMatchObject({ type: 'file', mode: 0o644, origin: 'linux-image-test' });
    expect(tree.has(`${root}/kernel/fs/ext4/jbd2.ko`)).toBe(false);
    expect(tree.has(`${root}/kernel/drivers/gpu/i915.ko`)).toBe(false);
  });

  it('leaves a tree like the one unpacking every module and trimming makes', async () => {
    const dir = tempDir('held-modules');
    const tar = await kernelTar(dir);
    const trees = [];
    for (const name of ['all', 'held']) {
      const tree = new Tree(join(dir, name));
      mergeUsr(tree);
      const held = name === 'held' ? new HeldModules() : undefined;
      await unpackDataTar(tree, tar, 'linux-image-test', () => true, held?.divert(tar, 'linux-image-test'));
      const kernel = findKernel(tree, 'linux-image-test', held);
      // depmod is a real tool here; the fake modules are not ELF, and it says nothing of them.
      await trimModules(tree, kernel, moduleClosure(kernel, ['jbd2'], []), held);
      trees.push(tree.walk('usr/lib/modules').filter((path) => !/modules\.[a-z.]+$/.test(path) || path.endsWith('modules.builtin')));
    }
    expect(trees[1]).toEqual(trees[0]);
    expect(trees[1]).toContain(`usr/lib/modules/${VERSION}/kernel/fs/ext4/jbd2.ko`);
    expect(trees[1]!.some((path) => path.includes('/gpu'))).toBe(false);
  });
});
