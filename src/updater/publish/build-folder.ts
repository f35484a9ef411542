/**
 * The build publish signs, as 'slipway build' left it in its --out folder: one manifest, and the
 * artifacts it names, checked against it before anything is signed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UpdateError } from '../../errors.ts';
import { sha256File } from '../../shared/hash.ts';
import { readJsonFile } from '../../shared/json.ts';
import { runTool } from '../../tools.ts';
import { folderOrAbsent } from './folders.ts';

export interface BuildManifest {
  name: string;
  version: string;
  rootHash: string;
  artifacts: Record<string, { file: string; size: number; sha256: string }>;
}

/** The build's manifest, once every artifact publish signs matches it, and the root hash verifies the root. */
export async function readBuild(buildDir: string): Promise<{ manifest: BuildManifest; dir: string }> {
  folderOrAbsent(buildDir, 'the build');
  const manifests = existsSync(buildDir) ? readdirSync(buildDir).filter((f) => f.endsWith('.manifest.json')) : [];
  if (manifests.length !== 1) {
    throw new UpdateError(
      manifests.length === 0 ? `no build in ${buildDir} (no *.manifest.json)` : `${buildDir} holds ${manifests.length} builds; publish one folder per build`,
      "give the --out folder of one 'slipway build'",
    );
  }
  const path = join(buildDir, manifests[0]!);
  const asBuilt = "build again: publish takes a build's folder as 'slipway build' left it";
  const manifest = readJsonFile(path, (reason) => new UpdateError(`cannot read ${path}: ${reason}`, asBuilt)) as BuildManifest;
  if (typeof manifest?.artifacts !== 'object' || manifest.artifacts === null || typeof manifest.rootHash !== 'string') {
    throw new UpdateError(`${path} is not a build manifest (no artifacts or root hash)`, asBuilt);
  }
  const damaged = "the build is damaged or incomplete (cut short, or changed after it was built): build again";
  for (const artifact of ['root', 'verity', 'uki'] as const) {
    const file = manifest.artifacts[artifact];
    if (!file || !existsSync(join(buildDir, file.file))) throw new UpdateError(`the build in ${buildDir} has no ${artifact} artifact`, 'build again; publish needs the .root.squashfs, .root.verity and .efi');
    const at = join(buildDir, file.file);
    const size = statSync(at).size;
    if (size !== file.size) throw new UpdateError(`${at} is ${size} bytes where the build's manifest says ${file.size}`, damaged);
    const sha256 = await sha256File(at);
    if (sha256 !== file.sha256) throw new UpdateError(`${at} has sha256 ${sha256} where the build's manifest says ${file.sha256}`, damaged);
  }
  const [root, verity] = [manifest.artifacts.root!, manifest.artifacts.verity!].map((a) => join(buildDir, a.file)) as [string, string];
  try {
    await runTool('veritysetup', ['verify', root, verity, manifest.rootHash]);
  } catch (cause) {
    throw new UpdateError(`the root hash ${manifest.rootHash} of the build's manifest does not verify ${root} with ${verity}`, damaged, { cause });
  }
  return { manifest, dir: buildDir };
}
