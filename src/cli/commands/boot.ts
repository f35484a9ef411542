import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { OVMF_CODE, OVMF_CODE_SECURE_BOOT, VirtualMachine } from '../../../qemu/runner.ts';
import type { DiskBus, PortForward } from '../../../qemu/args.ts';
import { parseSize } from '../../recipe/size.ts';
import { registerCleanup } from '../../cleanup.ts';
import { ImageError, UsageError } from '../../errors.ts';
import { checkTools } from '../../tools.ts';
import { stringOption, type Command, type GlobalFlags, type OptionValues } from '../command.ts';
import { loadRecipeOrThrow } from '../../pipeline/sources.ts';
import { configFwCfg } from '../../hostconfig/deliver.ts';
import { manifestFor } from '../../hostconfig/read.ts';
import { readJsonFile } from '../../shared/json.ts';
import { IMAGE_OPTIONS, buildRequestFrom, buildWithProgress } from './build.ts';

const BUSES: readonly string[] = ['virtio', 'nvme', 'sata'] satisfies DiskBus[];
const isBus = (text: string): text is DiskBus => BUSES.includes(text);

function parseBus(text: string, flag: string): DiskBus {
  if (!isBus(text)) throw new UsageError(`${flag} ${text}: expected virtio, nvme or sata`, 'e.g. nvme');
  return text;
}

/** `--disk 20G,nvme` → an empty 20 GiB NVMe disk. */
/** `--disk 20G,nvme` (an empty disk made with the machine) or `--disk server.qcow2,nvme` (a disk file, written in place). */
export function parseDisk(text: string): { size: number; bus: DiskBus } | { file: string; bus: DiskBus } {
  const [first = '', bus = 'virtio', ...rest] = text.split(',');
  const problem = () => new UsageError(`--disk ${text}: expected SIZE[,BUS] or FILE[,BUS], such as 20G,nvme`, 'give a size of at least 1M or a .raw, .qcow2 or .vhd disk file, and a bus of virtio, nvme or sata');
  if (rest.length > 0 || !isBus(bus)) throw problem();
  // Not a .vmdk: QEMU cannot write a streamOptimized VMDK in place.
  if (/\.(raw|qcow2|vhd)$/.test(first)) {
    if (!existsSync(first)) throw new UsageError(`--disk ${text}: no disk file ${first}`, `make it first, such as: qemu-img create -f qcow2 ${first} 20G`);
    return { file: first, bus };
  }
  const size = parseSize(first);
  if (size === undefined || size < 1024 ** 2) throw problem();
  return { size, bus };
}

/** `--forward 8080:80` → host 8080 to guest 80. */
export function parseForward(text: string): PortForward {
  const match = /^(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text);
  const [host, guest] = [Number(match?.[1]), Number(match?.[2])];
  if (!match || host < 1 || host > 65535 || guest < 1 || guest > 65535) {
    throw new UsageError(`--forward ${text}: expected HOST:GUEST, e.g. 8080:80`, 'give ports between 1 and 65535');
  }
  return match[3] ? { host, guest, protocol: match[3] as 'tcp' | 'udp' } : { host, guest };
}

/**
 * A recipe's published container ports, reachable on localhost: ports below 1024 move up by 8000,
 * and a port already taken by another forward moves up until it is free.
 */
export function defaultForwards(file: string): PortForward[] {
  const { recipe } = loadRecipeOrThrow(file);
  const taken = new Set<string>();
  return recipe.containers.flatMap((c) =>
    c.ports.map((p) => {
      let host = p.host < 1024 ? p.host + 8000 : p.host;
      while (taken.has(`${p.protocol}:${host}`)) host++;
      taken.add(`${p.protocol}:${host}`);
      return { host, guest: p.host, protocol: p.protocol };
    }),
  );
}

function isRecipe(path: string): boolean {
  return /\.ya?ml$/.test(path);
}

/** Whether the image's manifest says it seals /var (disk.encryption: tpm2), which opens only under Secure Boot with a TPM. */
export function sealsVar(image: string): boolean {
  const manifest = manifestFor(image);
  if (!existsSync(manifest)) return false;
  const value = readJsonFile(manifest, (reason) => new ImageError(`cannot read ${manifest}: ${reason}`, 'boot an image slipway built, with its manifest as the build wrote it'));
  return (value as { disk?: { encryption?: string } } | null)?.disk?.encryption === 'tpm2';
}

/** The disk formats QEMU boots (a VHD as vpc), in the order `boot RECIPE` prefers them. */
const BOOTABLE_DISKS = ['qcow2', 'raw', 'vhd', 'vmdk'];

/** Refuses what QEMU cannot boot as a disk: GCE's NAME_VERSION.tar.gz is an archive that holds one. */
export function checkBootable(image: string): void {
  if (image.endsWith('.tar.gz')) {
    throw new ImageError(
      `${image} is a disk for Google Compute Engine, a gzipped tar of disk.raw, which QEMU cannot boot`,
      `boot the build's .raw or .qcow2 (build --format raw,gce), or unpack it first: tar -xSzf ${image} disk.raw`,
    );
  }
}

async function imageFor(target: string, values: OptionValues, global: GlobalFlags, out: (t: string) => void): Promise<string> {
  if (!isRecipe(target)) {
    if (!existsSync(target)) throw new ImageError(`no image ${target}`, 'give a .raw, .qcow2, .vhd or .vmdk that slipway built, or a recipe to build first');
    checkBootable(target);
    return resolve(target);
  }
  const asked = buildRequestFrom(target, values);
  // A machine boots one disk, qcow2 unless asked otherwise; --config goes to fw_cfg, not into its ESP.
  const formats = stringOption(values, 'format') === undefined ? ['qcow2'] : asked.formats;
  const disk = BOOTABLE_DISKS.find((f) => formats.includes(f));
  if (!disk) throw new UsageError(`--format ${formats.join(',')}: none of these is a disk QEMU boots`, `add one of ${BOOTABLE_DISKS.join(', ')}`);
  const { plan } = await buildWithProgress({ ...asked, formats, configFile: undefined, dryRun: false }, global, out);
  return resolve(plan.outDir, plan.artifacts[disk]!);
}

/** The one NAME_VERSION.netboot.efi in `dir`, which `--netboot DIR` boots when no image is named. */
function onlyNetbootUki(dir: string): string {
  if (!existsSync(dir)) throw new UsageError(`--netboot ${dir}: no such folder`, 'name the folder a `build --format netboot` wrote');
  const ukis = readdirSync(dir).filter((name) => name.endsWith('.netboot.efi'));
  if (ukis.length !== 1) {
    throw new UsageError(`--netboot ${dir}: ${ukis.length === 0 ? 'holds no NAME_VERSION.netboot.efi' : `holds ${ukis.length} netboot UKIs (${ukis.join(', ')})`}`, 'name the one to boot: slipway boot DIR/NAME_VERSION.netboot.efi --netboot DIR');
  }
  return join(dir, ukis[0]!);
}

/** QEMU's TFTP server: `--netboot DIR` (which must hold the UKI), else the UKI's own folder. */
export function tftpFor(uki: string, dir: string | undefined): { dir: string; bootFile: string } {
  const root = resolve(dir ?? dirname(uki));
  const bootFile = relative(root, resolve(uki));
  if (bootFile.startsWith('..') || isAbsolute(bootFile)) throw new UsageError(`--netboot ${dir}: ${uki} is not in it`, 'put the netboot UKI in the folder QEMU serves by TFTP');
  return { dir: root, bootFile };
}

export const bootCommand: Command = {
  name: 'boot',
  summary: 'boot an image (or build a recipe, then boot it) under QEMU with the console here',
  usage: 'IMAGE|RECIPE [--netboot DIR] [--forward HOST:GUEST]... [--config FILE] [--accel kvm|tcg] [--secure-boot] [--tpm] [--bus virtio|nvme|sata] [--disk SIZE|FILE,BUS]... [--nic virtio|e1000e]',
  details: [
    'A RECIPE is built first, into --out; the machine boots the qcow2, or the raw disk without one.',
    'A NAME_VERSION.netboot.efi boots a diskless machine by PXE from QEMU\'s TFTP server (or',
    '--netboot DIR alone, the one in DIR); serve',
    'the build\'s folder at the recipe\'s netboot.url (10.0.2.2:PORT is the host\'s loopback).',
    'A NAME_VERSION.iso boots from a CD drive: give it a disk to install on (--disk) and a',
    '--config with install.device.',
    'Ctrl-C (or Ctrl-A x) stops the machine; the image is never modified (a temporary overlay',
    'takes the writes).',
  ],
  options: {
    forward: {
      type: 'string',
      multiple: true,
      value: 'HOST:GUEST',
      help: ['forward localhost:HOST to the guest’s GUEST port (repeatable);', 'for a recipe, each container port P is forwarded from P', '(P+8000 below 1024)'],
    },
    config: {
      type: 'string',
      value: 'FILE',
      help: ['a host config, checked against the image and passed by fw_cfg', '(opt/slipway/config), with the plan compiled from it (opt/slipway/plan)', 'so the first boot need not start Node'],
    },
    accel: { type: 'string', value: 'kvm|tcg', help: 'default: KVM when a quick probe shows it works, else TCG' },
    'secure-boot': {
      type: 'boolean',
      help: ['firmware that enforces Secure Boot (OVMF with SMM), in setup mode on a new', 'machine: an image signed with your keys enrolls them at its first boot'],
    },
    tpm: {
      type: 'boolean',
      help: ['a software TPM 2.0 (swtpm), new with the machine: an image with', 'disk.encryption: tpm2 seals /var to it at its first boot (such an image', 'gets --secure-boot --tpm without asking)'],
    },
    bus: { type: 'string', value: 'virtio|nvme|sata', help: ['how the image’s disk is attached (default virtio); NVMe and', 'SATA as on a server'] },
    disk: {
      type: 'string',
      multiple: true,
      value: 'SIZE[,BUS]',
      help: ['an empty disk after the image’s, such as 20G,nvme (repeatable;', 'BUS virtio, nvme or sata, default virtio), gone when the machine stops;', 'or a disk file such as server.qcow2,nvme, written in place'],
    },
    nic: { type: 'string', value: 'virtio|e1000e', help: ['the network card (default virtio); e1000e is an Intel 82574. With', 'neither a virtio disk nor a virtio NIC, the machine has no virtio device'] },
    memory: { type: 'string', value: 'MIB', help: 'guest memory (default 1024)' },
    cpus: { type: 'string', value: 'N', help: 'guest CPUs (default 2)' },
    format: { type: 'string', value: 'LIST', help: ['for a RECIPE, the formats to build (default: qcow2); the machine boots', 'the first of qcow2, raw, vhd, vmdk among them'] },
    netboot: { type: 'string', value: 'DIR', help: ['the folder QEMU\'s TFTP server offers a diskless machine (default: the', 'netboot UKI\'s own); without an IMAGE, its one NAME_VERSION.netboot.efi'] },
    ...IMAGE_OPTIONS,
  },
  positionals: { min: 0, max: 1 },
  async run({ positionals, values, global, out }) {
    const tftpDir = stringOption(values, 'netboot');
    const target = positionals[0] ?? (tftpDir === undefined ? undefined : onlyNetbootUki(tftpDir));
    if (target === undefined) throw new UsageError(`boot: expected ${bootCommand.usage}`, "see 'slipway boot --help'");
    const accel = stringOption(values, 'accel');
    if (accel !== undefined && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel ${accel}: expected kvm or tcg`, 'leave it out to probe KVM');
    const memory = Number(stringOption(values, 'memory') ?? 1024);
    const cpus = Number(stringOption(values, 'cpus') ?? 2);
    if (!Number.isInteger(memory) || memory < 256) throw new UsageError('--memory: expected MiB, at least 256', 'e.g. --memory 2048');
    if (!Number.isInteger(cpus) || cpus < 1) throw new UsageError('--cpus: expected a whole number', 'e.g. --cpus 2');
    const bus = parseBus(stringOption(values, 'bus') ?? 'virtio', '--bus');
    const disks = ((values.disk as string[] | undefined) ?? []).map(parseDisk);
    const nic = stringOption(values, 'nic') ?? 'virtio';
    if (nic !== 'virtio' && nic !== 'e1000e') throw new UsageError(`--nic ${nic}: expected virtio or e1000e`, 'e.g. --nic e1000e');
    const config = stringOption(values, 'config');
    const given = ((values.forward as string[] | undefined) ?? []).map(parseForward);
    const forwards = given.length > 0 || !isRecipe(target) ? given : defaultForwards(target);
    const image = await imageFor(target, values, global, out);
    const sealed = sealsVar(image);
    if (sealed && (values['secure-boot'] !== true || values.tpm !== true)) {
      process.stderr.write('slipway: this image seals /var to a TPM under Secure Boot: booting with --secure-boot --tpm\n');
    }
    const secureBoot = values['secure-boot'] === true || sealed;
    const tpm = values.tpm === true || sealed;
    checkTools(['qemu-system-x86_64', 'qemu-img', ...(tpm ? (['swtpm'] as const) : [])], [secureBoot ? OVMF_CODE_SECURE_BOOT : OVMF_CODE]);
    // The plan compiled from --config lives as long as the machine.
    const planDir = mkdtempSync(join(tmpdir(), 'slipway-plan-'));
    const removePlanDir = () => rmSync(planDir, { recursive: true, force: true });
    const unregisterPlanDir = registerCleanup(removePlanDir);
    try {
      // A netboot UKI boots a diskless machine by PXE from QEMU's TFTP server (its folder).
      // The installer ISO goes into a CD drive, booted before the disks.
      const netboot = image.endsWith('.netboot.efi') ? tftpFor(image, tftpDir) : undefined;
      const machine = await VirtualMachine.start({
        ...(netboot ? { netboot } : image.endsWith('.iso') ? { cdrom: image } : { image }),
        accel: accel as 'kvm' | 'tcg' | undefined,
        memoryMiB: memory,
        cpus,
        forwards,
        fwCfg: config === undefined ? [] : await configFwCfg(config, image, planDir),
        terminal: true,
        secureBoot,
        tpm,
        diskBus: bus,
        emptyDisks: disks.filter((d) => 'size' in d),
        disks: disks.filter((d) => 'file' in d),
        nic,
      });
      const unregister = registerCleanup(() => machine.disposeNow());
      process.stderr.write(`slipway: booting ${image}\n`);
      for (const f of forwards) process.stderr.write(`slipway: localhost:${f.host} → guest port ${f.guest}${f.protocol === 'udp' ? '/udp' : ''}\n`);
      process.stderr.write('slipway: Ctrl-C or Ctrl-A x stops the machine\n');
      try {
        await machine.exit();
      } finally {
        await machine.dispose();
        unregister();
      }
    } finally {
      removePlanDir();
      unregisterPlanDir();
    }
  },
};
