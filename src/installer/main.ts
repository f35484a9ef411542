/**
 * `slipway-install`, bundled into the image as /usr/lib/slipway/install.cjs. slipway-install.service
 * runs it when the host runs live: from the installer ISO (slipway.live= on the command line), or
 * netbooted (slipway.netboot=URL), when it reads the image from that URL's folder. With
 * a disk named (install.device in the host config the live system was provisioned from, or
 * slipway.install.device= on the command line), it writes the image onto that disk, reads it all
 * back, writes the partition table for the disk's size, puts the host config on the new ESP so the
 * installed host provisions itself at its first boot, and powers off (or reboots). Without one, the
 * host simply runs live.
 *
 * Prints `slipway-install: ...` lines, progress among them; on a problem, `error:` and `hint:`
 * lines, writes nothing more and exits with the install error's code (15).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeError } from '../error-report.ts';
import { InstallError } from '../errors.ts';
import { FACTS_PATH, factsFromManifest, type ManifestFacts } from '../hostconfig/facts.ts';
import { decodeUserData, hostConfigFrom } from '../hostconfig/load.ts';
import { InstallSchema, type InstallSettings } from '../hostconfig/schema.ts';
import { installMapName, parseInstallMap, type InstallMap } from '../shared/install-map.ts';
import { sha256 } from '../shared/hash.ts';
import { PARTITION_TYPES } from '../shared/layout.ts';
import { transferRate } from '../shared/rate.ts';
import { chooseDisk, diskContents, diskTitle, isEmpty, LIVE_SYSTEM, readDisk, type Disk } from './disks.ts';
import { folderMedium, httpMedium, readWhole, type Medium } from './medium.ts';
import { verifyImage, writeImage, writePartitionTable, type Progress } from './write.ts';

/** What the live system's first boot kept of its host config (runtime/initrd/provision.sh), and the medium's device (live.sh). */
const STATE = '/var/lib/slipway';
/** Where the installer mounts the medium. */
const LIVE_MEDIUM = '/run/slipway/live-medium';

function say(text: string): void {
  process.stdout.write(`slipway-install: ${text}\n`);
}

/** Runs a system tool; a failure is an install error that names the tool and what it said. */
function run(program: string, args: string[], doing: string, hint = 'see the lines above'): void {
  try {
    execFileSync(program, args, { stdio: 'pipe' });
  } catch (error) {
    const said = String((error as { stderr?: Buffer }).stderr ?? '').trim().split('\n').pop() || (error as Error).message;
    throw new InstallError(`cannot ${doing}: ${program} ${args.join(' ')}: ${said}`, hint);
  }
}

/** Unmounts, saying so if it cannot: never in place of the error that brought us here. */
function unmount(mountPoint: string): void {
  try {
    execFileSync('umount', [mountPoint], { stdio: 'pipe' });
  } catch {
    say(`warning: cannot unmount ${mountPoint}`);
  }
}

function commandLineArgument(cmdline: string, name: string): string | undefined {
  for (const word of cmdline.trim().split(/\s+/)) {
    if (word === name) return '';
    if (word.startsWith(`${name}=`)) return word.slice(name.length + 1);
  }
  return undefined;
}

interface HostConfigFile {
  file: string;
  ignition: boolean;
}

/** The install settings: the command line's, else the host config's. */
function installSettings(cmdline: string): { settings?: InstallSettings; config?: HostConfigFile } {
  const configFile = join(STATE, 'provision', 'config');
  let config: HostConfigFile | undefined;
  let settings: InstallSettings | undefined;
  if (existsSync(configFile)) {
    const bytes = readFileSync(configFile);
    const provisioned = join(STATE, 'provisioned');
    const source = existsSync(provisioned) ? readFileSync(provisioned, 'utf8').trim() : 'the host config';
    const facts = factsFromManifest(JSON.parse(readFileSync(FACTS_PATH, 'utf8')) as ManifestFacts);
    const data = decodeUserData(bytes, source);
    settings = hostConfigFrom(data, source, facts).install;
    config = { file: configFile, ignition: data.kind === 'ignition' };
  }
  const device = commandLineArgument(cmdline, 'slipway.install.device');
  if (device !== undefined) {
    const wipe = commandLineArgument(cmdline, 'slipway.install.wipe');
    if (wipe !== undefined && !['', '1', 'true', 'yes'].includes(wipe)) {
      throw new InstallError(`slipway.install.wipe=${wipe}: expected the word alone (or =1, =true, =yes)`, 'leave it out to keep a disk that holds partitions from being written');
    }
    const parsed = InstallSchema.safeParse({ device, wipe: wipe !== undefined });
    if (!parsed.success) throw new InstallError(`slipway.install.device=${device}: ${parsed.error.issues[0]!.message}`, 'fix the kernel command line');
    settings = parsed.data;
  }
  return { settings, config };
}

/** A map is a few KiB; one this big is no map. */
const MAP_LIMIT = 1024 * 1024;

/**
 * The install map, checked against the sha256 the UKI carries (slipway.install.map=): the map
 * holds the sha256 of every byte the install writes, so the chain goes from the signed UKI to the
 * disk, whatever the medium or the HTTP server hands over. The network may be coming up still
 * (netboot): a failed read is tried again for 30 s.
 */
async function loadMap(medium: Medium, image: string, expected: string): Promise<InstallMap> {
  const name = installMapName(image);
  let bytes: Buffer | undefined;
  for (let attempt = 1; !bytes; attempt++) {
    try {
      bytes = await readWhole(medium, name, MAP_LIMIT);
    } catch (error) {
      if (attempt >= 10) {
        throw error instanceof InstallError ? error : new InstallError(`cannot read ${name} from ${medium.name}: ${(error as Error).message}`, 'boot the ISO (or serve the build folder) slipway built for this image');
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  }
  if (sha256(bytes) !== expected) {
    throw new InstallError(`${name} from ${medium.name} is not the one this UKI was built with (its sha256 differs from slipway.install.map=)`, 'boot the ISO (or serve the build folder) that came out of the same build');
  }
  const text = bytes.toString('utf8');
  const result = parseInstallMap(text);
  if ('problem' in result) throw new InstallError(`${name} from ${medium.name} is not an install map: ${result.problem}`, 'the ISO (or the served folder) is damaged, or from another slipway: build it again');
  return result.map;
}

/** The device the live system runs from, a CD drive or the USB stick the ISO was written to, as the initrd found it. */
function mediumDevice(): string {
  const file = join(STATE, 'live-medium');
  if (!existsSync(file)) throw new InstallError('the initrd did not say which device the installer medium is', 'boot the ISO `slipway build --format iso` made');
  return readFileSync(file, 'utf8').trim();
}

/** Mounts the medium read-only at LIVE_MEDIUM for as long as `use` runs. */
async function withMedium<T>(device: string, use: () => Promise<T>): Promise<T> {
  mkdirSync(LIVE_MEDIUM, { recursive: true });
  run('mount', ['-t', 'iso9660', '-o', 'ro,nodev,nosuid,noexec', device, LIVE_MEDIUM], `mount the installer medium ${device}`);
  try {
    return await use();
  } finally {
    unmount(LIVE_MEDIUM);
  }
}

/** The whole disk a device is on. */
function wholeDisk(device: string): string {
  const name = device.replace(/^\/dev\//, '');
  const sysfs = `/sys/class/block/${name}`;
  return `/dev/${existsSync(join(sysfs, 'partition')) ? basename(dirname(realpathSync(sysfs))) : name}`;
}

function refuseIfMounted(disk: Disk): void {
  const devices = new Set([disk.device, ...disk.partitions.map((p) => `/dev/${p.name}`)]);
  const mounted = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' ')).filter(([source]) => devices.has(source!));
  if (mounted.length > 0) {
    throw new InstallError(`${diskTitle(disk)} is in use: ${mounted.map(([source, target]) => `${source} is mounted at ${target}`).join(', ')}`, 'unmount it, or name another disk');
  }
}

/** Progress lines at every tenth of the way, and the rate. */
function progressPrinter(started: number): Progress {
  let shown = { phase: '', tenth: -1 };
  return (phase, done, total) => {
    const tenth = Math.floor((done / total) * 10);
    if (phase === shown.phase && tenth === shown.tenth) return;
    shown = { phase, tenth };
    const verb = phase === 'write' ? 'written' : 'read back';
    say(`${verb} ${(done / 1048576).toFixed(0)} of ${(total / 1048576).toFixed(0)} MiB (${tenth * 10}%), ${transferRate(done, started).replace(/^.* at /, '')}`);
  };
}

/**
 * The kernel's view of the new partitions. udev, which watches disks, reads the table again itself
 * when the installer closes the disk (and holds it while it does, so BLKRRPART then fails with
 * EBUSY): wait for it, and ask the kernel only if the partition has not appeared.
 */
function partitionDevice(disk: Disk, number: number): string {
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      execFileSync('udevadm', ['settle', '--timeout=10'], { stdio: 'pipe' });
    } catch {
      // Events still queued after 10 s: look anyway.
    }
    const partition = readDisk(LIVE_SYSTEM, disk.name).partitions[number - 1];
    if (partition && existsSync(`/dev/${partition.name}`)) return `/dev/${partition.name}`;
    try {
      execFileSync('blockdev', ['--rereadpt', disk.device], { stdio: 'pipe' });
    } catch {
      execFileSync('sleep', ['0.5']);
    }
  }
  throw new InstallError(`the kernel does not show partition ${number} of ${disk.device} after the install`, 'the installed disk is complete but holds no host config: give it one on a config drive');
}

/** The host config (and the plan compiled from it) onto the installed ESP, where its first boot looks. */
function handOverConfig(disk: Disk, map: InstallMap, config: HostConfigFile): string {
  const esp = map.partitions.findIndex((p) => p.type === PARTITION_TYPES.esp);
  if (esp < 0) throw new InstallError('the install map has no ESP to put the host config on', 'the installed disk is complete; give it a host config on a config drive');
  const device = partitionDevice(disk, esp + 1);
  const mountPoint = '/run/slipway/install-esp';
  mkdirSync(mountPoint, { recursive: true });
  const noConfig = 'the installed disk is complete but holds no host config: give it one on a config drive';
  run('mount', ['-t', 'vfat', '-o', 'nodev,nosuid,noexec', device, mountPoint], `mount the installed ESP ${device}`, noConfig);
  try {
    const folder = join(mountPoint, 'slipway');
    mkdirSync(folder, { recursive: true });
    // A config baked in at build time would come first at the installed host's first boot.
    for (const old of readdirSync(folder).filter((file) => /^config\./.test(file) || file === 'plan.tar')) rmSync(join(folder, old));
    const name = config.ignition ? 'config.ign' : 'config.yaml';
    copyFileSync(config.file, join(mountPoint, 'slipway', name));
    const plan = join(STATE, 'provision', 'plan.tar');
    if (existsSync(plan)) copyFileSync(plan, join(mountPoint, 'slipway', 'plan.tar'));
    run('sync', ['-f', mountPoint], 'write the host config to the installed ESP', noConfig);
    return `${device}:/slipway/${name}`;
  } finally {
    unmount(mountPoint);
  }
}

/** Where this host's image comes from: the ISO it runs live from, or the folder URL it was netbooted from. */
interface Source {
  image: string;
  /** The installer medium's disk, which is never installed on (none when netbooted). */
  mediumDisk?: string;
  /** Runs `use` with the medium readable. */
  open<T>(use: (medium: Medium) => Promise<T>): Promise<T>;
}

function sourceOf(cmdline: string): Source {
  const live = commandLineArgument(cmdline, 'slipway.live');
  if (live) {
    const device = mediumDevice();
    return { image: live, mediumDisk: wholeDisk(device), open: (use) => withMedium(device, () => use(folderMedium(join(LIVE_MEDIUM, 'slipway')))) };
  }
  const url = commandLineArgument(cmdline, 'slipway.netboot');
  if (url) {
    const cut = url.lastIndexOf('/');
    return { image: url.slice(cut + 1), open: (use) => use(httpMedium(url.slice(0, cut + 1))) };
  }
  throw new InstallError('this host is not running live from the installer ISO or over the network', 'boot the ISO `slipway build --format iso` made, or its netboot UKI');
}

async function install(cmdline: string): Promise<void> {
  const source = sourceOf(cmdline);
  const { settings, config } = installSettings(cmdline);
  if (!settings) {
    say('no disk to install on (install.device in the host config, or slipway.install.device= on the kernel command line): running live');
    return;
  }
  const mapDigest = commandLineArgument(cmdline, 'slipway.install.map');
  if (!mapDigest || !/^[0-9a-f]{64}$/.test(mapDigest)) {
    throw new InstallError('this UKI names no install map (slipway.install.map=SHA256 on its command line)', 'boot an ISO or netboot UKI from a slipway that installs');
  }
  // Disks whose drivers load late (NVMe, RAID HBAs, USB) are there, with their /dev/disk/by-id names.
  try {
    execFileSync('udevadm', ['settle', '--timeout=30'], { stdio: 'pipe' });
  } catch {
    say('warning: udev still had events queued after 30 s');
  }
  await source.open((medium) => installFrom(source, medium, mapDigest, settings, config));
}

/** Whether the disk holds this very image already: its root partition, by the UUID its root hash gives. */
function holdsImage(disk: Disk, map: InstallMap): boolean {
  const root = map.partitions.find((p) => p.type === PARTITION_TYPES.root);
  return root !== undefined && disk.partitions.some((p) => p.uuid === root.uuid);
}

async function installFrom(source: Source, medium: Medium, mapDigest: string, settings: InstallSettings, config: HostConfigFile | undefined): Promise<void> {
  const { image } = source;
  const map = await loadMap(medium, image, mapDigest);
  const disk = chooseDisk(LIVE_SYSTEM, settings, { medium: source.mediumDisk, minimumSize: map.minimumSize, holdsImage: (d) => holdsImage(d, map) });
  refuseIfMounted(disk);
  if (!isEmpty(disk)) {
    say(`wiping ${diskTitle(disk)}, which held ${diskContents(disk)} (install.wipe is set)`);
    for (const device of [...disk.partitions.map((p) => `/dev/${p.name}`), disk.device]) run('wipefs', ['-a', '-q', device], `wipe ${device}`, 'nothing of the image was written yet; look at the disk with wipefs');
  }
  const started = performance.now();
  say(`installing ${image} from ${medium.name} on ${diskTitle(disk)}`);
  const written = await writeImage(disk.device, disk.size, map, medium, progressPrinter(started));
  const verifyStarted = performance.now();
  verifyImage(disk.device, map, progressPrinter(verifyStarted));
  writePartitionTable(disk.device, disk.size, map);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  say(`${image} is on ${disk.device}: ${transferRate(written, started, verifyStarted)} written, all of it read back and matched, in ${seconds} s; partition table written for ${(disk.size / 1073741824).toFixed(1)} GiB`);
  if (config) say(`the host config is on the installed ESP (${handOverConfig(disk, map, config)}): the installed host provisions itself from it`);
  say(settings.then === 'reboot' ? 'rebooting into the installed host' : 'powering off: remove the installer medium, then power on');
  run('systemctl', ['--no-block', settings.then], settings.then);
}

/** A system call's failure (EIO from a scratched CD, EBUSY on the disk) as an install error, not as a bug. */
function asInstallError(error: unknown): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (error instanceof Error && typeof errno.code === 'string' && !(error instanceof InstallError)) {
    return new InstallError(`the install stopped: ${error.message}`, 'see the lines above; a disk written in part has no partition table and boots nothing', { cause: error });
  }
  return error;
}

install(readFileSync('/proc/cmdline', 'utf8')).catch((caught: unknown) => {
  const error = asInstallError(caught);
  const { text, exitCode } = describeError('slipway-install', error, { everyLine: true });
  process.stdout.write(text);
  process.exitCode = exitCode;
});
