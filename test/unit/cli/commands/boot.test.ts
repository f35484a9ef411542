import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkBootable, defaultForwards, parseDisk, parseForward, sealsVar, tftpFor } from '../../../../src/cli/commands/boot.ts';
import { ImageError, RecipeError, UsageError } from '../../../../src/errors.ts';

describe('parseForward', () => {
  it.each([
    ['8080:80', { host: 8080, guest: 80 }],
    ['1:65535', { host: 1, guest: 65535 }],
    ['5353:53/udp', { host: 5353, guest: 53, protocol: 'udp' }],
    ['2222:22/tcp', { host: 2222, guest: 22, protocol: 'tcp' }],
  ])('%s', (text, forward) => {
    expect(parseForward(text)).toEqual(forward);
  });

  it.each(['8080', '8080:', ':80', '0:80', '8080:0', '65536:80', '80:65536', '8080:80/sctp', 'a:b', '8080:80 ', '-1:80'])('rejects %j', (text) => {
    expect(() => parseForward(text)).toThrow(UsageError);
    expect(() => parseForward(text)).toThrow(`--forward ${text}: expected HOST:GUEST`);
  });
});

describe('defaultForwards', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-unit-boot-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function recipe(text: string): string {
    const file = join(dir, 'host.yaml');
    writeFileSync(file, text);
    return file;
  }

  it("forwards each container's host ports, moving ports below 1024 up by 8000", () => {
    const file = recipe(`name: host
version: "1.0.0"
containers:
  - name: web
    image: { packages: [busybox] }
    ports:
      - { host: 80, container: 8080 }
      - { host: 8443, container: 443 }
  - name: dns
    image: { ref: "registry.example/dns:1" }
    ports:
      - { host: 53, container: 5353, protocol: udp }
      - { host: 1023, container: 1023 }
      - { host: 1024, container: 1024 }
`);
    expect(defaultForwards(file)).toEqual([
      { host: 8080, guest: 80, protocol: 'tcp' },
      { host: 8443, guest: 8443, protocol: 'tcp' },
      { host: 8053, guest: 53, protocol: 'udp' },
      { host: 9023, guest: 1023, protocol: 'tcp' },
      { host: 1024, guest: 1024, protocol: 'tcp' },
    ]);
  });

  // Port 80 moves to 8080, which another container already publishes: QEMU gets two hostfwd
  // rules for 127.0.0.1:8080 and refuses to start.
  it('never forwards two guest ports from the same host port', () => {
    const file = recipe(`name: host
version: "1.0.0"
containers:
  - name: web
    image: { packages: [busybox] }
    ports: [{ host: 80, container: 80 }]
  - name: admin
    image: { packages: [busybox] }
    ports: [{ host: 8080, container: 8080 }]
`);
    const hosts = defaultForwards(file).map((f) => `${f.protocol}:${f.host}`);
    expect(new Set(hosts).size).toBe(hosts.length);
  });

  it('is empty for a recipe without containers', () => {
    expect(defaultForwards(recipe('name: host\nversion: "1.0.0"\n'))).toEqual([]);
  });

  it('throws the recipe error of an invalid recipe', () => {
    expect(() => defaultForwards(recipe('name: host\nversion: 1.0\n'))).toThrow(RecipeError);
  });
});

describe('sealsVar', () => {
  it('reads from the manifest beside an image whether its /var is sealed, so boot adds Secure Boot and a TPM', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-sealed-'));
    try {
      writeFileSync(join(dir, 'host_1.manifest.json'), JSON.stringify({ disk: { encryption: 'tpm2' } }));
      writeFileSync(join(dir, 'plain_1.manifest.json'), JSON.stringify({ disk: { encryption: 'none' } }));
      expect(sealsVar(join(dir, 'host_1.qcow2'))).toBe(true);
      expect(sealsVar(join(dir, 'host_1.raw'))).toBe(true);
      expect(sealsVar(join(dir, 'plain_1.raw'))).toBe(false);
      expect(sealsVar(join(dir, 'other.raw'))).toBe(false); // no manifest: as the flags say
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseDisk', () => {
  it('reads a size and a bus, virtio unless given', () => {
    expect(parseDisk('20G')).toEqual({ size: 20 * 1024 ** 3, bus: 'virtio' });
    expect(parseDisk('512M,nvme')).toEqual({ size: 512 * 1024 ** 2, bus: 'nvme' });
    expect(parseDisk('1.5GiB,sata')).toEqual({ size: 1.5 * 1024 ** 3, bus: 'sata' });
  });

  it.each(['', 'big', '20G,scsi', '20G,nvme,x', '10K', ',nvme'])('refuses %j, saying what it expects', (text) => {
    expect(() => parseDisk(text)).toThrow(UsageError);
    expect(() => parseDisk(text)).toThrow(`--disk ${text}: expected SIZE[,BUS] or FILE[,BUS], such as 20G,nvme`);
  });

  it('takes a disk file to write in place, which must exist', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'slipway-disk-')), 'server.qcow2');
    expect(() => parseDisk(`${file},nvme`)).toThrow(`no disk file ${file}`);
    writeFileSync(file, '');
    expect(parseDisk(`${file},nvme`)).toEqual({ file, bus: 'nvme' });
  });

  // QEMU writes a fixed VHD in place, but not a streamOptimized VMDK ("Could not write to allocated
  // cluster for streamOptimized"): a .vmdk is not taken as a disk to write to.
  it('takes a .vhd to write in place, and not a .vmdk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-disk-'));
    for (const name of ['server.vhd', 'server.vmdk']) writeFileSync(join(dir, name), '');
    expect(parseDisk(`${join(dir, 'server.vhd')},sata`)).toEqual({ file: join(dir, 'server.vhd'), bus: 'sata' });
    expect(() => parseDisk(join(dir, 'server.vmdk'))).toThrow('expected SIZE[,BUS] or FILE[,BUS]');
  });
});

describe('checkBootable', () => {
  it('refuses GCE\'s tar.gz, saying how to boot its disk instead', () => {
    const refusal = (() => {
      try {
        checkBootable('out/host_1.0.0.tar.gz');
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ImageError);
    expect(refusal).toMatchObject({
      message: 'out/host_1.0.0.tar.gz is a disk for Google Compute Engine, a gzipped tar of disk.raw, which QEMU cannot boot',
      hint: "boot the build's .raw or .qcow2 (build --format raw,gce), or unpack it first: tar -xSzf out/host_1.0.0.tar.gz disk.raw",
    });
  });

  it('takes the disks QEMU boots', () => {
    for (const image of ['host.raw', 'host.qcow2', 'host.vhd', 'host.vmdk']) expect(() => checkBootable(image)).not.toThrow();
  });
});

describe('tftpFor', () => {
  it('serves the netboot UKI\'s own folder, or --netboot DIR when the UKI is in it', () => {
    expect(tftpFor('/srv/out/host_1.0.0.netboot.efi', undefined)).toEqual({ dir: '/srv/out', bootFile: 'host_1.0.0.netboot.efi' });
    expect(tftpFor('/srv/out/v1/host_1.0.0.netboot.efi', '/srv/out')).toEqual({ dir: '/srv/out', bootFile: 'v1/host_1.0.0.netboot.efi' });
    expect(() => tftpFor('/elsewhere/host_1.0.0.netboot.efi', '/srv/out')).toThrow('--netboot /srv/out: /elsewhere/host_1.0.0.netboot.efi is not in it');
  });
});
