/** What a build leaves behind: disk formats, manifest, SBOM, checksums, moved into place at the end. */
import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256File } from '../shared/hash.ts';
import { runTool } from '../tools.ts';
import type { BuildState } from './context.ts';
import { FORMATS, isDiskFormat } from './formats.ts';
import { artifactPath, kernelCommandLine } from './plan.ts';

const CHECKSUMS = 'SHA256SUMS';

/**
 * Each artifact is hashed once, for the manifest and SHA256SUMS alike. A step that finishes an
 * artifact may start its hash at once, so that reading it overlaps the steps that follow.
 */
export function sha256Of(ctx: Pick<BuildState, 'digests'>, path: string): Promise<string> {
  return ctx.digests.get(path) ?? startHashing(ctx, path);
}

/** Starts hashing a finished artifact. */
export function startHashing(ctx: Pick<BuildState, 'digests'>, path: string): Promise<string> {
  const digest = sha256File(path);
  digest.catch(() => undefined); // awaited, and reported, by whoever needs it
  ctx.digests.set(path, digest);
  return digest;
}

export async function convertFormats(ctx: Pick<BuildState, 'plan' | 'work' | 'staging' | 'digests'>): Promise<void> {
  let raw = join(ctx.work, 'disk.raw');
  // raw first, as a rename that keeps the hash the disk writer made: the other formats are
  // converted from it.
  const formats = ctx.plan.formats.filter(isDiskFormat).sort((a, b) => (a === 'raw' ? -1 : b === 'raw' ? 1 : 0));
  for (const format of formats) {
    const output = artifactPath(ctx.plan, ctx.staging, format);
    await FORMATS[format]!.convert(raw, output, { sourceDateEpoch: ctx.plan.sourceDateEpoch });
    const known = ctx.digests.get(raw);
    if (format === 'raw' && known) ctx.digests.set(output, known);
    else startHashing(ctx, output);
    if (format === 'raw') raw = output;
  }
}

async function toolVersions(): Promise<Record<string, string>> {
  const first = (text: string) => text.split('\n').find((line) => line.trim())?.trim() ?? '';
  const [squashfs, verity, objcopy, qemuImg] = await Promise.all([
    runTool('mksquashfs', ['-version']),
    runTool('veritysetup', ['--version']),
    runTool('objcopy', ['--version']),
    runTool('qemu-img', ['--version']),
  ]);
  return { mksquashfs: first(squashfs.stdout), veritysetup: first(verity.stdout), objcopy: first(objcopy.stdout), 'qemu-img': first(qemuImg.stdout) };
}

export async function writeManifest(ctx: Pick<BuildState, 'plan' | 'staging' | 'digests' | 'layout' | 'verity' | 'kernel' | 'modules' | 'imageFacts'>): Promise<void> {
  const { plan, layout, verity, kernel } = ctx;
  const artifacts: Record<string, { file: string; size: number; sha256: string }> = {};
  for (const [name, file] of Object.entries(plan.artifacts)) {
    if (name === 'manifest' || name === 'sbom') continue;
    const path = join(ctx.staging, file);
    artifacts[name] = { file, size: statSync(path).size, sha256: await sha256Of(ctx, path) };
  }
  const manifest = {
    manifestVersion: 1,
    name: plan.name,
    version: plan.version,
    architecture: 'amd64',
    sourceDateEpoch: plan.sourceDateEpoch,
    rootHash: verity.rootHash,
    verity: { salt: verity.salt, uuid: verity.uuid, hashAlgorithm: 'sha256', dataBlockSize: 4096, hashBlockSize: 4096 },
    rootfs: plan.rootfs,
    kernel: { package: plan.kernel.package, version: kernel.version, cmdline: kernelCommandLine(plan, verity.rootHash), modules: ctx.modules },
    // GPT attributes as the hex the specifications write them in (JSON has no 64-bit integers).
    disk: { size: layout.size, guid: layout.diskGuid, encryption: plan.disk.encryption, partitions: layout.partitions.map((p) => ({ ...p, attributes: `0x${p.attributes.toString(16).padStart(16, '0')}` })) },
    artifacts,
    // installedSize and neededBy only when the lockfile recorded them (JSON leaves out what is undefined).
    packages: plan.packages.host.map(({ name, version, architecture, sha256: hash, source, sourceVersion, installedSize, neededBy }) => ({ name, version, architecture, sha256: hash, source, sourceVersion, installedSize, neededBy })),
    initrdPackages: plan.packages.initrd.map(({ name, version }) => ({ name, version })),
    image: ctx.imageFacts,
    tools: await toolVersions(),
  };
  writeFileSync(artifactPath(plan, ctx.staging, 'manifest'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** SHA256SUMS in the output folder lists every build in it; this build's lines replace its old ones. */
export async function writeChecksums(ctx: Pick<BuildState, 'plan' | 'staging' | 'digests'>): Promise<void> {
  const ours = new Map<string, string>();
  for (const file of Object.values(ctx.plan.artifacts).sort()) ours.set(file, await sha256Of(ctx, join(ctx.staging, file)));
  const previous = join(ctx.plan.outDir, CHECKSUMS);
  const lines = new Map<string, string>();
  if (existsSync(previous)) {
    for (const line of readFileSync(previous, 'utf8').split('\n')) {
      const match = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
      if (match && !ours.has(match[2]!) && existsSync(join(ctx.plan.outDir, match[2]!))) lines.set(match[2]!, match[1]!);
    }
  }
  for (const [file, hash] of ours) lines.set(file, hash);
  const text = [...lines].sort(([a], [b]) => (a < b ? -1 : 1)).map(([file, hash]) => `${hash}  ${file}\n`).join('');
  writeFileSync(join(ctx.staging, CHECKSUMS), text);
}

/**
 * Moves the finished artifacts into the output folder (renames within one filesystem), checksums
 * last. Each is readable by anyone, whatever the tool that made it chose (veritysetup makes its
 * hash tree 0600, objcopy the UKI executable): a web server running as another user serves them.
 */
export function publishOutputs(ctx: Pick<BuildState, 'plan' | 'work' | 'staging'>): void {
  rmSync(ctx.work, { recursive: true, force: true });
  const files = readdirSync(ctx.staging).filter((f) => f !== CHECKSUMS);
  for (const file of [...files, CHECKSUMS]) chmodSync(join(ctx.staging, file), 0o644);
  for (const file of files) renameSync(join(ctx.staging, file), join(ctx.plan.outDir, file));
  renameSync(join(ctx.staging, CHECKSUMS), join(ctx.plan.outDir, CHECKSUMS));
  rmSync(ctx.staging, { recursive: true, force: true });
}
