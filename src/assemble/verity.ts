/** The dm-verity hash tree of the root filesystem, made by veritysetup on plain files. */
import { createHash } from 'node:crypto';
import { BuildError } from '../errors.ts';
import { runTool } from '../tools.ts';

export interface VerityResult {
  rootHash: string;
  salt: string;
  uuid: string;
}

/** Salt and superblock UUID come from the image's identity, so equal inputs give equal bytes. */
export function veritySalt(name: string, version: string): string {
  return createHash('sha256').update(`slipway-verity\0${name}\0${version}`).digest('hex');
}

export async function formatVerity(dataImage: string, hashImage: string, salt: string, uuid: string): Promise<VerityResult> {
  const { stdout } = await runTool('veritysetup', [
    'format', dataImage, hashImage,
    '--hash=sha256', '--data-block-size=4096', '--hash-block-size=4096',
    `--salt=${salt}`, `--uuid=${uuid}`,
  ]);
  const rootHash = /Root hash:\s+([0-9a-f]{64})/.exec(stdout)?.[1];
  if (!rootHash) throw new BuildError(`veritysetup printed no root hash:\n${stdout}`, 'check the veritysetup version (cryptsetup-bin)');
  return { rootHash, salt, uuid };
}

export async function verifyVerity(dataImage: string, hashImage: string, rootHash: string): Promise<void> {
  await runTool('veritysetup', ['verify', dataImage, hashImage, rootHash]);
}
