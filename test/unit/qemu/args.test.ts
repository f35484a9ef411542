import { describe, expect, it } from 'vitest';
import { diskFormatOf, qemuArgs, type BootRequest } from '../../../qemu/args.ts';

const UEFI: BootRequest = {
  firmware: { kind: 'uefi', code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/tmp/vm/vars.fd' },
  disk: { file: '/tmp/vm/overlay.qcow2', format: 'qcow2' },
  accel: 'kvm',
  memoryMiB: 1024,
  cpus: 2,
  forwards: [],
  fwCfg: [],
};

/** The value that follows each occurrence of a flag. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1]!] : []));
}

describe('qemuArgs', () => {
  it('makes a q35 machine with the accelerator, memory and CPUs', () => {
    const args = qemuArgs(UEFI);
    expect(args.slice(0, 6)).toEqual(['-machine', 'q35,accel=kvm', '-m', '1024', '-smp', '2']);
    expect(args).toContain('-nodefaults');
    expect(values(args, '-display')).toEqual(['none']);
  });

  it('passes the host CPU only with KVM', () => {
    expect(values(qemuArgs(UEFI), '-cpu')).toEqual(['host']);
    const tcg = qemuArgs({ ...UEFI, accel: 'tcg' });
    expect(values(tcg, '-machine')).toEqual(['q35,accel=tcg']);
    expect(tcg).not.toContain('-cpu');
  });

  it('boots UEFI from pflash with read-only code and writable variables', () => {
    expect(values(qemuArgs(UEFI), '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/vm/vars.fd',
      'if=virtio,format=qcow2,file=/tmp/vm/overlay.qcow2,cache=unsafe,discard=unmap',
    ]);
    expect(qemuArgs(UEFI)).not.toContain('-kernel');
  });

  it('leaves out the network card when asked', () => {
    expect(qemuArgs(UEFI)).toContain('-netdev');
    const args = qemuArgs({ ...UEFI, noNetwork: true });
    expect(args).not.toContain('-netdev');
    expect(args.join(' ')).not.toContain('virtio-net');
  });

  it('turns on SMM and the secure variable store for Secure Boot firmware, and only for it', () => {
    const secure = qemuArgs({ ...UEFI, accel: 'tcg', firmware: { kind: 'uefi', code: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', vars: '/tmp/vm/vars.fd', secureBoot: true } });
    expect(values(secure, '-machine')).toEqual(['q35,accel=tcg,smm=on']);
    expect(values(secure, '-global')).toEqual(['driver=cfi.pflash01,property=secure,value=on']);
    expect(values(secure, '-drive')[0]).toBe('if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
    expect(qemuArgs(UEFI)).not.toContain('-global');
  });

  it('attaches a software TPM through its control socket as a TIS TPM 2.0, and only when asked', () => {
    const args = qemuArgs({ ...UEFI, tpmSocket: '/tmp/vm/tp,m.sock' });
    expect(values(args, '-chardev')).toContainEqual('socket,id=tpm,path=/tmp/vm/tp,,m.sock');
    expect(values(args, '-tpmdev')).toEqual(['emulator,id=tpm0,chardev=tpm']);
    expect(values(args, '-device')).toContainEqual('tpm-tis,tpmdev=tpm0');
    expect(qemuArgs(UEFI)).not.toContain('-tpmdev');
  });

  it("honours the guest's flushes on a durable disk, for power-cut tests", () => {
    const drives = values(qemuArgs({ ...UEFI, disk: { ...UEFI.disk!, cache: 'writeback' } }), '-drive');
    expect(drives[2]).toBe('if=virtio,format=qcow2,file=/tmp/vm/overlay.qcow2,cache=writeback,discard=unmap');
  });

  it('boots a kernel directly, with its initrd and command line as single arguments', () => {
    const args = qemuArgs({
      ...UEFI,
      disk: undefined,
      firmware: { kind: 'kernel', kernel: '/tmp/vmlinuz', initrd: '/tmp/initrd.cpio', append: 'console=ttyS0 panic=-1' },
    });
    expect(values(args, '-kernel')).toEqual(['/tmp/vmlinuz']);
    expect(values(args, '-initrd')).toEqual(['/tmp/initrd.cpio']);
    expect(values(args, '-append')).toEqual(['console=ttyS0 panic=-1']);
    expect(values(args, '-drive')).toEqual([]);
    expect(args.join(' ')).not.toContain('pflash');
  });

  it('leaves out -initrd without one', () => {
    const args = qemuArgs({ ...UEFI, firmware: { kind: 'kernel', kernel: '/tmp/vmlinuz', append: 'quiet' } });
    expect(args).not.toContain('-initrd');
  });

  it('forwards ports from 127.0.0.1 only, tcp unless told', () => {
    const args = qemuArgs({ ...UEFI, forwards: [{ host: 8080, guest: 80 }, { host: 5353, guest: 53, protocol: 'udp' }] });
    expect(values(args, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53']);
    expect(values(args, '-device')).toContain('virtio-net-pci,netdev=net0');
    expect(values(qemuArgs(UEFI), '-netdev')).toEqual(['user,id=net0']);
  });

  it('passes fw_cfg files by name', () => {
    const args = qemuArgs({ ...UEFI, fwCfg: [{ name: 'opt/slipway/config', file: '/tmp/config.yaml' }, { name: 'opt/other', file: '/tmp/o' }] });
    expect(values(args, '-fw_cfg')).toEqual(['name=opt/slipway/config,file=/tmp/config.yaml', 'name=opt/other,file=/tmp/o']);
  });

  it('adds extra drives read-only, after the main disk', () => {
    const args = qemuArgs({ ...UEFI, disk: { file: '/tmp/vm/disk.qcow2', format: 'qcow2' }, extraDrives: ['/tmp/config,drive.img'] });
    const drives = values(args, '-drive').filter((d) => d.startsWith('if=virtio'));
    expect(drives).toEqual(['if=virtio,format=qcow2,file=/tmp/vm/disk.qcow2,cache=unsafe,discard=unmap', 'if=virtio,format=raw,readonly=on,file=/tmp/config,,drive.img']);
  });

  it('attaches a server’s disks: the boot disk on NVMe or SATA first in the boot order, empty disks after it', () => {
    const args = qemuArgs({
      ...UEFI,
      disk: { file: '/tmp/vm/disk.qcow2', format: 'qcow2', bus: 'sata' },
      extraDisks: [{ file: '/tmp/vm/nvme.raw', format: 'raw', bus: 'nvme' }, { file: '/tmp/vm/sata.raw', format: 'raw', bus: 'sata' }, { file: '/tmp/vm/vd.raw', format: 'raw', bus: 'virtio' }],
    });
    expect(values(args, '-drive')).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/vm/vars.fd',
      'if=none,id=disk0,format=qcow2,file=/tmp/vm/disk.qcow2,cache=unsafe,discard=unmap',
      'if=none,id=disk1,format=raw,file=/tmp/vm/nvme.raw,cache=unsafe,discard=unmap',
      'if=none,id=disk2,format=raw,file=/tmp/vm/sata.raw,cache=unsafe,discard=unmap',
      'if=none,id=disk3,format=raw,file=/tmp/vm/vd.raw,cache=unsafe,discard=unmap',
    ]);
    expect(values(args, '-device').filter((d) => /drive=/.test(d))).toEqual([
      'ide-hd,drive=disk0,bus=ide.0,bootindex=0',
      'nvme,drive=disk1,serial=slipway-disk1',
      'ide-hd,drive=disk2,bus=ide.1',
      'virtio-blk-pci,drive=disk3',
    ]);
    expect(values(qemuArgs({ ...UEFI, disk: { file: '/d', format: 'raw', bus: 'nvme' } }), '-device')).toContain('nvme,drive=disk0,serial=slipway-disk0,bootindex=0');
  });

  it('puts an ISO in a SATA CD drive that boots first', () => {
    const args = qemuArgs({ ...UEFI, cdrom: '/out/host_1.0.0.iso', extraDisks: [{ file: '/e.qcow2', format: 'qcow2', bus: 'sata' }] });
    expect(values(args, '-drive')[2]).toBe('if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/out/host_1.0.0.iso');
    expect(values(args, '-device').filter((d) => /drive=/.test(d))).toEqual([
      'ide-cd,drive=cd0,bus=ide.0,bootindex=0',
      'virtio-blk-pci,drive=disk1',
      'ide-hd,drive=disk2,bus=ide.1',
    ]);
  });

  it('gives a machine an Intel NIC when asked, and no virtio device at all when neither its disk nor its NIC is virtio', () => {
    const server = qemuArgs({ ...UEFI, disk: { file: '/d', format: 'raw', bus: 'nvme' }, nic: 'e1000e' });
    expect(values(server, '-device')).toContain('e1000e,netdev=net0');
    expect(values(server, '-device').filter((d) => d.startsWith('virtio'))).toEqual([]);
    expect(values(qemuArgs({ ...UEFI, nic: 'e1000e' }), '-device')).toContain('virtio-rng-pci');
    const installer = qemuArgs({ ...UEFI, disk: undefined, cdrom: '/x.iso', extraDisks: [{ file: '/e.qcow2', format: 'qcow2', bus: 'nvme' }], nic: 'e1000e' });
    expect(values(installer, '-device').filter((d) => d.startsWith('virtio'))).toEqual([]);
    expect(values(qemuArgs(UEFI), '-device')).toEqual(expect.arrayContaining(['virtio-net-pci,netdev=net0', 'virtio-rng-pci']));
  });

  it('boots over the network from QEMU’s TFTP server, with OVMF’s own PXE rather than the NIC’s iPXE ROM', () => {
    const args = qemuArgs({ ...UEFI, disk: undefined, tftp: { dir: '/tmp/tftp', bootFile: 'host.netboot.efi' } });
    expect(values(args, '-netdev')).toEqual(['user,id=net0,tftp=/tmp/tftp,bootfile=host.netboot.efi']);
    expect(values(args, '-device')).toContain('virtio-net-pci,netdev=net0,romfile=');
    expect(values(args, '-drive').filter((d) => !d.startsWith('if=pflash'))).toEqual([]);
    expect(values(qemuArgs(UEFI), '-device')).toContain('virtio-net-pci,netdev=net0');
  });

  it('appends the console to a file when asked (a restarted machine keeps its log), with no monitor', () => {
    const args = qemuArgs({ ...UEFI, consoleLog: '/tmp/vm/console.log' });
    expect(values(args, '-chardev')).toEqual(['file,id=console,path=/tmp/vm/console.log,append=on']);
    expect(values(args, '-serial')).toEqual(['chardev:console']);
    expect(args).not.toContain('-mon');
  });

  it('puts the console and monitor on the terminal, Ctrl-C stopping QEMU', () => {
    const args = qemuArgs(UEFI);
    expect(values(args, '-chardev')).toEqual(['stdio,id=console,signal=on,mux=on']);
    expect(values(args, '-serial')).toEqual(['chardev:console']);
    expect(values(args, '-mon')).toEqual(['chardev=console,mode=readline']);
  });

  it('adds a virtio console for the shell socket and a QMP socket', () => {
    const args = qemuArgs({ ...UEFI, consoleLog: '/tmp/c.log', shellSocket: '/tmp/vm/shell.sock', qmpSocket: '/tmp/vm/qmp.sock' });
    expect(values(args, '-chardev')).toContain('socket,id=shell,path=/tmp/vm/shell.sock,server=on,wait=off');
    expect(values(args, '-device')).toEqual(expect.arrayContaining(['virtio-serial-pci', 'virtconsole,chardev=shell,name=slipway.shell']));
    expect(values(args, '-qmp')).toEqual(['unix:/tmp/vm/qmp.sock,server=on,wait=off']);
    const plain = qemuArgs(UEFI);
    expect(values(plain, '-device')).not.toContain('virtio-serial-pci');
    expect(plain).not.toContain('-qmp');
  });

  it('exits instead of rebooting only when asked', () => {
    expect(qemuArgs({ ...UEFI, noReboot: true })).toContain('-no-reboot');
    expect(qemuArgs(UEFI)).not.toContain('-no-reboot');
  });
});

describe('qemuArgs with commas in paths', () => {
  // QEMU splits option values at commas; a comma inside a value must be doubled. The --config
  // file of `slipway boot` is a user path and reaches -fw_cfg as is.
  it('doubles commas in file names', () => {
    const args = qemuArgs({ ...UEFI, fwCfg: [{ name: 'opt/slipway/config', file: '/home/me/a,b.yaml' }] });
    expect(values(args, '-fw_cfg')).toEqual(['name=opt/slipway/config,file=/home/me/a,,b.yaml']);
  });
});

describe('qemuArgs for a cloud-like machine', () => {
  it('puts the user network on 169.254.0.0/16 with a command per connection to a link-local service', () => {
    const args = qemuArgs({ ...UEFI, linkLocal: [{ address: '169.254.169.254', port: 80, command: '/usr/bin/node pipe.mjs 4100' }] });
    expect(values(args, '-netdev')[0]).toBe('user,id=net0,net=169.254.0.0/16,host=169.254.0.2,dns=169.254.0.3,dhcpstart=169.254.0.15,guestfwd=tcp:169.254.169.254:80-cmd:/usr/bin/node pipe.mjs 4100');
  });

  it('sets the SMBIOS system strings a cloud\'s hypervisor sets, commas escaped', () => {
    expect(values(qemuArgs({ ...UEFI, smbios: { manufacturer: 'Amazon EC2', product: 'm5,large' } }), '-smbios')).toEqual(['type=1,manufacturer=Amazon EC2,product=m5,,large']);
    expect(qemuArgs(UEFI)).not.toContain('-smbios');
  });
});

describe('diskFormatOf', () => {
  // A fixed VHD has its footer only at the end: QEMU's probe takes it for raw, and the guest would
  // see the footer as a last sector of its disk. The overlay's backing format says vpc instead.
  it('names the format QEMU reads each disk file with, by its extension', () => {
    expect(['host_1.0.0.raw', 'host_1.0.0.qcow2', 'host_1.0.0.vhd', 'host_1.0.0.vmdk', 'server.img'].map(diskFormatOf)).toEqual(['raw', 'qcow2', 'vpc', 'vmdk', 'raw']);
  });

  it('is what the drive says, for an extra disk as for the main one', () => {
    const drives = values(qemuArgs({ ...UEFI, extraDisks: [{ file: '/tmp/vm/server.vhd', format: diskFormatOf('server.vhd'), bus: 'nvme' }] }), '-drive');
    expect(drives.at(-1)).toBe('if=none,id=disk0,format=vpc,file=/tmp/vm/server.vhd,cache=unsafe,discard=unmap');
  });
});

describe('qemuArgs with a config drive in a CD drive', () => {
  it('puts it on a SATA port without a boot index, so the disk stays the one booted', () => {
    const args = qemuArgs({ ...UEFI, dataCdroms: ['/tmp/cidata.iso'] });
    expect(values(args, '-device')).toContain('ide-cd,drive=cd0,bus=ide.0');
    expect(values(args, '-drive')).toContain('if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/tmp/cidata.iso');
  });
});
