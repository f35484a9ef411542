/**
 * The steps that make the image from the finished trees: the initrd, the verified root, the UKI,
 * the ESP and data filesystems, the disk. Each takes the part of the build's state it reads and
 * returns what it makes.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { compressInitrdArchive, initrdModulesArchive, initrdProgramsArchive } from '../assemble/initrd.ts';
import { moduleClosure } from '../assemble/kernel.ts';
import { makeSquashfs } from '../assemble/rootfs.ts';
import { formatVerity, veritySalt } from '../assemble/verity.ts';
import { makeDataFilesystem, makeUnsealedDataPartition } from '../bootimage/datafs.ts';
import { planLayout, writeDisk } from '../bootimage/disk.ts';
import { makeEsp } from '../bootimage/esp.ts';
import { writeInstallPayload } from '../bootimage/install-payload.ts';
import { makeIso } from '../bootimage/iso.ts';
import { signEfiProgram, type SecureBootKeys } from '../bootimage/secure-boot.ts';
import { makeUki, ukiSbat } from '../bootimage/uki.ts';
import { BuildError } from '../errors.ts';
import { PLAN_FILE_NAME } from '../hostconfig/read.ts';
import { sha256 } from '../shared/hash.ts';
import { stableUuid, ukiFileName, type PartitionRole } from '../shared/layout.ts';
import { transferRate } from '../shared/rate.ts';
import type { BuildState } from './context.ts';
import { sha256Of, startHashing } from './outputs.ts';
import { artifactPath, kernelCommandLine, liveCommandLine, netbootCommandLine } from './plan.ts';

type Report = (detail: string) => void;

export async function makeInitrd(ctx: Pick<BuildState, 'plan' | 'cache' | 'tree' | 'kernel' | 'initrdTree' | 'initrdPrograms'>): Promise<Pick<BuildState, 'initrd'>> {
  const { kernel, plan } = ctx;
  const bootModules = moduleClosure(kernel, plan.kernel.initrdModules, []);
  const provisionModules = moduleClosure(kernel, plan.kernel.provisionModules, []).filter((m) => !bootModules.includes(m));
  // Some (isofs) are provisioning's too: live, they are needed before it.
  const liveModules = moduleClosure(kernel, plan.kernel.liveModules, []).filter((m) => !bootModules.includes(m));
  const networkModules = moduleClosure(kernel, plan.kernel.networkModules, []).filter((m) => !bootModules.includes(m));
  const modules = initrdModulesArchive(ctx.tree, kernel, { boot: bootModules, provision: provisionModules, network: networkModules, live: liveModules }, plan.sourceDateEpoch);
  const programs = ctx.initrdPrograms ?? compressInitrdArchive(initrdProgramsArchive(ctx.initrdTree, plan.sourceDateEpoch, plan.disk.encryption === 'tpm2'), ctx.cache, true);
  rmSync(ctx.initrdTree.root, { recursive: true, force: true });
  // Before the root filesystem, not beside it: mksquashfs and two compressors at once took the
  // build's memory from 460 to 690 MiB.
  return { initrd: Buffer.concat(await Promise.all([programs, compressInitrdArchive(modules, ctx.cache)])) };
}

export async function makeRootFilesystem(ctx: Pick<BuildState, 'plan' | 'staging' | 'work' | 'tree'>): Promise<void> {
  const output = artifactPath(ctx.plan, ctx.staging, 'root');
  await makeSquashfs(ctx.tree, output, join(ctx.work, 'pseudo'), ctx.plan.sourceDateEpoch);
  const size = statSync(output).size;
  if (size > ctx.plan.disk.rootPartition) {
    throw new BuildError(
      `the root filesystem (${(size / 1048576).toFixed(1)} MiB) does not fit its slot (${(ctx.plan.disk.rootPartition / 1048576).toFixed(1)} MiB for the root after verity)`,
      'raise disk.slotSize in the recipe, or drop packages',
    );
  }
  rmSync(ctx.tree.root, { recursive: true, force: true });
}

export async function makeVerity(ctx: Pick<BuildState, 'plan' | 'staging' | 'digests'>): Promise<Pick<BuildState, 'verity'>> {
  const { name, version } = ctx.plan;
  const verity = await formatVerity(
    artifactPath(ctx.plan, ctx.staging, 'root'),
    artifactPath(ctx.plan, ctx.staging, 'verity'),
    veritySalt(name, version),
    stableUuid(name, version, 'verity'),
  );
  for (const artifact of ['root', 'verity']) startHashing(ctx, artifactPath(ctx.plan, ctx.staging, artifact));
  return { verity };
}

type UkiState = Pick<BuildState, 'plan' | 'staging' | 'work' | 'kernel' | 'initrd' | 'verity' | 'osRelease' | 'secureBoot'>;

/** The disk's UKI. The live and netboot ones come with the installers (makeInstallers). */
export async function makeBootImage(ctx: UkiState): Promise<void> {
  await makeSignedUki(ctx, kernelCommandLine(ctx.plan, ctx.verity.rootHash), artifactPath(ctx.plan, ctx.staging, 'uki'));
}

async function makeSignedUki(ctx: UkiState, cmdline: string, output: string): Promise<void> {
  const { plan, secureBoot } = ctx;
  const unsigned = secureBoot ? join(ctx.work, 'unsigned.efi') : output;
  await makeUki(
    {
      stub: join(ctx.work, 'boot', 'linuxx64.efi.stub'),
      kernel: ctx.kernel.vmlinuz,
      initrd: ctx.initrd,
      cmdline,
      osRelease: ctx.osRelease,
      epoch: plan.sourceDateEpoch,
      sbat: ukiSbat(plan.name, plan.version),
      // Present only when the image seals /var: the PCR key is read for it alone.
      pcrKey: secureBoot?.pcr,
    },
    ctx.work,
    unsigned,
  );
  if (secureBoot) {
    await signEfiProgram(secureBoot, unsigned, output, plan.sourceDateEpoch);
    rmSync(unsigned);
  }
}

/** systemd-boot, signed when the image is; and with keys, the lists it enrolls on a machine in setup mode. */
async function bootLoaderFiles(boot: string, secureBoot: SecureBootKeys | undefined, epoch: number): Promise<Array<{ path: string; source: string }>> {
  const loaderConf = join(boot, 'loader.conf');
  let loader = join(boot, 'systemd-bootx64.efi');
  const enroll: Array<{ path: string; source: string }> = [];
  if (secureBoot) {
    const signed = join(boot, 'systemd-bootx64.signed.efi');
    await signEfiProgram(secureBoot, loader, signed, epoch);
    loader = signed;
    // systemd-boot enrolls by itself only from a folder named auto, and only in setup mode.
    for (const [role, source] of Object.entries(secureBoot.auth)) enroll.push({ path: `loader/keys/auto/${role}.auth`, source });
  }
  writeFileSync(loaderConf, `timeout 0\nconsole-mode keep\neditor no\n${secureBoot ? 'secure-boot-enroll force\n' : ''}`);
  return [
    { path: 'EFI/BOOT/BOOTX64.EFI', source: loader },
    { path: 'EFI/systemd/systemd-bootx64.efi', source: loader },
    { path: 'loader/loader.conf', source: loaderConf },
    ...enroll,
  ];
}

export async function makeFilesystems(
  ctx: Pick<BuildState, 'plan' | 'staging' | 'work' | 'verity' | 'hostConfig' | 'hostConfigPlan' | 'secureBoot'>,
): Promise<Pick<BuildState, 'layout'>> {
  const { plan } = ctx;
  const layout = planLayout({ name: plan.name, version: plan.version, rootHash: ctx.verity.rootHash, ...plan.disk });
  const uki = artifactPath(plan, ctx.staging, 'uki');
  await makeEsp(
    join(ctx.work, 'esp.img'),
    plan.disk.espSize,
    stableUuid(plan.name, 'esp-volume').replace(/-/g, '').slice(0, 8),
    [
      ...(await bootLoaderFiles(join(ctx.work, 'boot'), ctx.secureBoot, plan.sourceDateEpoch)),
      { path: `EFI/Linux/${ukiFileName(plan.name, plan.version)}`, source: uki },
      ...bakedConfig(ctx),
    ],
    plan.sourceDateEpoch,
  );
  if (plan.disk.encryption === 'tpm2') makeUnsealedDataPartition(join(ctx.work, 'var.img'), plan.disk.dataSize);
  else await makeDataFilesystem(join(ctx.work, 'var.img'), plan.disk.dataSize, stableUuid(plan.name, 'var-fs'), plan.sourceDateEpoch, ctx.work);
  return { layout };
}

/**
 * The baked-in config and the plan compiled from it, as files to copy onto the ESP. A config with
 * remote sources goes without a plan: its first boot fetches them and compiles it.
 */
function bakedConfig(ctx: Pick<BuildState, 'work' | 'hostConfig' | 'hostConfigPlan'>): Array<{ path: string; source: string }> {
  const { hostConfig, hostConfigPlan } = ctx;
  if (!hostConfig) return [];
  const files = [
    { name: hostConfig.fileName, bytes: hostConfig.bytes },
    ...(hostConfigPlan ? [{ name: PLAN_FILE_NAME, bytes: hostConfigPlan }] : []),
  ];
  return files.map(({ name, bytes }) => {
    const source = join(ctx.work, 'boot', name);
    writeFileSync(source, bytes);
    return { path: `slipway/${name}`, source };
  });
}

/** What the disk is made of: each partition's image, by role. */
function diskContents(ctx: Pick<BuildState, 'plan' | 'staging' | 'work'>): Partial<Record<PartitionRole, string>> {
  return {
    'esp': join(ctx.work, 'esp.img'),
    'root-a': artifactPath(ctx.plan, ctx.staging, 'root'),
    'verity-a': artifactPath(ctx.plan, ctx.staging, 'verity'),
    'data': join(ctx.work, 'var.img'),
  };
}

export async function writeDiskImage(ctx: Pick<BuildState, 'plan' | 'staging' | 'work' | 'layout' | 'digests'>, report: Report): Promise<void> {
  const raw = join(ctx.work, 'disk.raw');
  const started = performance.now();
  const { digest } = await writeDisk(raw, ctx.layout, diskContents(ctx), (bytes) => report(`copied ${transferRate(bytes, started)}`));
  digest.catch(() => undefined);
  ctx.digests.set(raw, digest);
}

/**
 * With `--format iso` or `netboot`: what the installer writes the disk from (the map, and the packed
 * ESP and /var; outputs beside the netboot UKI), then the UKIs that run the image live, which carry
 * the map's sha256 (so a signed UKI vouches for every byte an install writes), and with `iso` the
 * installer ISO. A baked-in host config is on the ISO for the live system and the installed one.
 */
export async function makeInstallers(ctx: UkiState & Pick<BuildState, 'layout' | 'hostConfig' | 'hostConfigPlan' | 'digests'>): Promise<void> {
  const { plan, verity } = ctx;
  if (!plan.artifacts.iso && !plan.artifacts.netboot) return;
  const payload = await writeInstallPayload(plan.artifacts.netboot ? ctx.staging : ctx.work, plan.basename, ctx.layout, diskContents(ctx), (file) => sha256Of(ctx, file));
  const mapDigest = sha256(readFileSync(payload.map));
  if (plan.artifacts.netboot) await makeSignedUki(ctx, netbootCommandLine(plan, verity.rootHash, mapDigest), artifactPath(plan, ctx.staging, 'netboot'));
  if (!plan.artifacts.iso) return;
  const liveUki = join(ctx.work, 'live.efi');
  await makeSignedUki(ctx, liveCommandLine(plan, verity.rootHash, mapDigest), liveUki);
  const onMedium = (source: string) => ({ name: basename(source), source });
  await makeIso(artifactPath(plan, ctx.staging, 'iso'), {
    efiProgram: liveUki,
    files: [
      onMedium(artifactPath(plan, ctx.staging, 'root')),
      onMedium(artifactPath(plan, ctx.staging, 'verity')),
      onMedium(payload.map),
      onMedium(payload.data),
      ...bakedConfig(ctx).map(({ path, source }) => ({ name: basename(path), source })),
    ],
    volumeSerial: stableUuid(plan.name, plan.version, 'iso-boot').replace(/-/g, '').slice(0, 8),
    epoch: plan.sourceDateEpoch,
    workDir: ctx.work,
  });
}
