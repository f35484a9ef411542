/**
 * QEMU command lines as pure data: a boot request in, qemu-system-x86_64's arguments out. Tested
 * without QEMU; qemu/runner.ts runs them.
 */

export interface PortForward {
  host: number;
  guest: number;
  protocol?: 'tcp' | 'udp';
}

export interface FwCfgEntry {
  /** e.g. opt/slipway/config */
  name: string;
  file: string;
}

export type Firmware =
  /** With secureBoot, firmware built for it: its variables are kept from the guest by SMM. */
  | { kind: 'uefi'; code: string; vars: string; secureBoot?: boolean }
  | { kind: 'kernel'; kernel: string; initrd?: string; append: string };

/** How a disk is attached: virtio, or as a server's disks are, NVMe or SATA (q35's AHCI controller). */
export type DiskBus = 'virtio' | 'nvme' | 'sata';

/** A disk file's format as QEMU names it: a VHD is `vpc`. */
export type DiskFormat = 'raw' | 'qcow2' | 'vpc' | 'vmdk';

/** The format of a disk file, by its extension (a fixed VHD must be told: QEMU would probe it as raw). */
export function diskFormatOf(file: string): DiskFormat {
  return file.endsWith('.qcow2') ? 'qcow2' : file.endsWith('.vhd') ? 'vpc' : file.endsWith('.vmdk') ? 'vmdk' : 'raw';
}

/** The network card: virtio, or the Intel 82574 (e1000e) many servers and QEMU's q35 know. */
export type NicModel = 'virtio' | 'e1000e';

export interface BootRequest {
  firmware: Firmware;
  /** The disk QEMU writes to (an overlay or a copy, never the built image itself). */
  /**
   * `unsafe` (the default) ignores the guest's flushes: fast, and what a boot test wants.
   * `writeback` honours them, so data a guest fsynced survives QEMU being killed (power-cut tests).
   */
  disk?: { file: string; format: DiskFormat; cache?: 'unsafe' | 'writeback'; bus?: DiskBus };
  /** An ISO in a SATA CD drive (q35's AHCI), booted before any disk: the installer. */
  cdrom?: string;
  /** ISOs in SATA CD drives that are not booted (a config drive on a CD, as clouds attach them). */
  dataCdroms?: readonly string[];
  /** More disks, read-only raw images after the main one (a config drive, say). */
  extraDrives?: readonly string[];
  /** Writable disks after those, such as the empty disks of a machine to install on. */
  extraDisks?: ReadonlyArray<{ file: string; format: DiskFormat; bus: DiskBus; cache?: 'unsafe' | 'writeback' }>;
  /** virtio unless told otherwise. A machine with neither a virtio disk nor a virtio NIC gets no virtio RNG either: it looks like a server. */
  nic?: NicModel;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
  cpus: number;
  /** Where the serial console goes: a file QEMU appends to, or (undefined) the terminal. */
  consoleLog?: string;
  forwards: readonly PortForward[];
  /** No network card at all (and so no network boot for the firmware to try). */
  noNetwork?: boolean;
  /**
   * The user network on 169.254.0.0/16 (the guest gets 169.254.0.15, the host is 169.254.0.2), with
   * services at guest-visible addresses such as a cloud's metadata address: each connection the
   * guest opens runs `command` (by /bin/sh), which carries it on its standard input and output.
   */
  linkLocal?: ReadonlyArray<{ address: string; port: number; command: string }>;
  /** SMBIOS system strings (type 1), as a cloud's hypervisor sets them: what the guest reads as its DMI. */
  smbios?: { manufacturer?: string; product?: string; version?: string };
  /** QEMU's TFTP server on the user network, offering bootFile (a path in dir) to PXE. */
  tftp?: { dir: string; bootFile: string };
  fwCfg: readonly FwCfgEntry[];
  /** A unix socket for QMP (power button, status). */
  qmpSocket?: string;
  /** A unix socket carrying a virtio console (hvc0): the debug shell of test images. */
  shellSocket?: string;
  /** Exit when the guest resets (the runner starts QEMU again, or stops there). */
  noReboot?: boolean;
  /** The control socket of a software TPM (swtpm) that QEMU shows the guest as a TIS TPM 2.0. */
  tpmSocket?: string;
}

/** QEMU splits option values at commas: a comma in a file name is written twice. */
function path(file: string): string {
  return file.replace(/,/g, ',,');
}

/**
 * Disks in the order they are attached, each on its own bus: NVMe disks on a controller each (with
 * the serial NVMe requires), SATA disks on the AHCI ports q35 has built in (ide.0 to ide.5).
 */
class DiskSlots {
  private count = 0;
  private sataPorts = 0;

  /** A CD drive on the next SATA port; `boot`: first in the boot order. */
  attachCdrom(file: string, boot = true): string[] {
    const id = `cd${this.count++}`;
    return ['-drive', `if=none,id=${id},media=cdrom,readonly=on,format=raw,file=${path(file)}`, '-device', `ide-cd,drive=${id},bus=${this.sataPort()}${boot ? ',bootindex=0' : ''}`];
  }

  private sataPort(): string {
    if (this.sataPorts > 5) throw new Error('q35 has six SATA ports: attach more disks as NVMe');
    return `ide.${this.sataPorts++}`;
  }

  attach(drive: string, bus: DiskBus, boot: boolean): string[] {
    if (bus === 'virtio' && boot) return ['-drive', `if=virtio,${drive}`];
    const id = `disk${this.count++}`;
    const bootIndex = boot ? ',bootindex=0' : '';
    const args = ['-drive', `if=none,id=${id},${drive}`];
    if (bus === 'virtio') return [...args, '-device', `virtio-blk-pci,drive=${id}`];
    if (bus === 'nvme') return [...args, '-device', `nvme,drive=${id},serial=slipway-${id}${bootIndex}`];
    return [...args, '-device', `ide-hd,drive=${id},bus=${this.sataPort()}${bootIndex}`];
  }
}

export function qemuArgs(request: BootRequest): string[] {
  const firmware = request.firmware;
  const smm = firmware.kind === 'uefi' && firmware.secureBoot === true;
  const args = ['-machine', `q35,accel=${request.accel}${smm ? ',smm=on' : ''}`, '-m', String(request.memoryMiB), '-smp', String(request.cpus)];
  args.push('-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none');
  if (request.accel === 'kvm') args.push('-cpu', 'host');
  if (request.noReboot) args.push('-no-reboot');

  if (firmware.kind === 'uefi') {
    // Only code running in SMM may write the variable store, so the guest cannot change the keys.
    if (smm) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
    args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${path(firmware.code)}`);
    args.push('-drive', `if=pflash,format=raw,unit=1,file=${path(firmware.vars)}`);
  } else {
    args.push('-kernel', firmware.kernel, '-append', firmware.append);
    if (firmware.initrd) args.push('-initrd', firmware.initrd);
  }
  const disks = new DiskSlots();
  if (request.cdrom) args.push(...disks.attachCdrom(request.cdrom));
  if (request.disk) {
    const { file, format, cache, bus } = request.disk;
    args.push(...disks.attach(`format=${format},file=${path(file)},cache=${cache ?? 'unsafe'},discard=unmap`, bus ?? 'virtio', !request.cdrom));
  }
  for (const cd of request.dataCdroms ?? []) args.push(...disks.attachCdrom(cd, false));
  for (const drive of request.extraDrives ?? []) args.push('-drive', `if=virtio,format=raw,readonly=on,file=${path(drive)}`);
  for (const disk of request.extraDisks ?? []) args.push(...disks.attach(`format=${disk.format},file=${path(disk.file)},cache=${disk.cache ?? 'unsafe'},discard=unmap`, disk.bus, false));

  const nic = request.nic ?? 'virtio';
  if (!request.noNetwork) {
    const forwards = request.forwards.map((f) => `,hostfwd=${f.protocol ?? 'tcp'}:127.0.0.1:${f.host}-:${f.guest}`).join('');
    const tftp = request.tftp ? `,tftp=${path(request.tftp.dir)},bootfile=${path(request.tftp.bootFile)}` : '';
    // To boot over the network, virtio's NIC goes without its iPXE option ROM, so that OVMF's own
    // PXE stack loads the UKI: the 2019 iPXE Debian ships kept the NIC writing into memory after
    // the kernel took over (the kernel died without a word after its EFI stub).
    const rom = request.tftp && nic === 'virtio' ? ',romfile=' : '';
    const linkLocal = request.linkLocal
      ? `,net=169.254.0.0/16,host=169.254.0.2,dns=169.254.0.3,dhcpstart=169.254.0.15${request.linkLocal.map((s) => `,guestfwd=tcp:${s.address}:${s.port}-cmd:${path(s.command)}`).join('')}`
      : '';
    args.push('-netdev', `user,id=net0${linkLocal}${tftp}${forwards}`, '-device', `${nic === 'e1000e' ? 'e1000e' : 'virtio-net-pci'},netdev=net0${rom}`);
  }
  if ((request.disk && (request.disk.bus ?? 'virtio') === 'virtio') || nic === 'virtio') args.push('-device', 'virtio-rng-pci');
  if (request.smbios) {
    const fields = Object.entries(request.smbios).map(([key, value]) => `,${key}=${path(value)}`).join('');
    args.push('-smbios', `type=1${fields}`);
  }
  if (request.tpmSocket) {
    args.push('-chardev', `socket,id=tpm,path=${path(request.tpmSocket)}`, '-tpmdev', 'emulator,id=tpm0,chardev=tpm', '-device', 'tpm-tis,tpmdev=tpm0');
  }

  // On the terminal, Ctrl-C stops QEMU (signal=on); Ctrl-A x does too.
  const console = request.consoleLog ? `file,id=console,path=${path(request.consoleLog)},append=on` : 'stdio,id=console,signal=on,mux=on';
  args.push('-chardev', console, '-serial', 'chardev:console');
  if (!request.consoleLog) args.push('-mon', 'chardev=console,mode=readline');
  if (request.shellSocket) {
    args.push('-device', 'virtio-serial-pci', '-chardev', `socket,id=shell,path=${path(request.shellSocket)},server=on,wait=off`);
    args.push('-device', 'virtconsole,chardev=shell,name=slipway.shell');
  }
  if (request.qmpSocket) args.push('-qmp', `unix:${path(request.qmpSocket)},server=on,wait=off`);
  for (const entry of request.fwCfg) args.push('-fw_cfg', `name=${entry.name},file=${path(entry.file)}`);
  return args;
}
