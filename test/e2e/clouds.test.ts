/**
 * One image on four platforms, found at first boot as `platform: auto` finds them: an EC2 instance
 * and a Google Compute Engine instance (told apart by the SMBIOS strings their hypervisors set) read
 * their user data and identity from a metadata service at 169.254.169.254, here a local
 * implementation of each published protocol (test/helpers/metadata-server.ts); an OpenStack machine
 * reads a config-2 drive, a NoCloud machine a cidata drive. The EC2 and GCE disks are the build's
 * vhd and vmdk, which QEMU boots as Azure and VMware would; the gce tarball is checked as Google
 * imports it. A #cloud-config (NoCloud) and its native twin (OpenStack) give the same host, compared
 * over ssh. A metadata service that never answers, and user data that does not validate, stop the
 * boot with a message rather than a hang.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { VirtualMachine, type MachineOptions } from '../../qemu/runner.ts';
import { tempDir } from '../helpers/archive.ts';
import { slipway } from '../helpers/cli.ts';
import { startMetadataService, type MetadataService } from '../helpers/metadata-server.ts';
import { builtContainerArchive } from '../helpers/oci-image.ts';
import { pushArchive, startRegistry, type Registry } from '../helpers/registry.ts';
import { makeKeyPair, ssh, type KeyPair } from '../helpers/ssh.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

const METADATA = '169.254.169.254';
/** The host's loopback, as the guest sees it on the link-local user network. */
const HOST = '169.254.0.2';

let out: string;
let registry: Registry;
let admin: KeyPair;
let platformKey: KeyPair;
const machines: VirtualMachine[] = [];
const services: MetadataService[] = [];

beforeAll(async () => {
  const { image } = await buildVariant(() => {}, 'vhd,vmdk,gce');
  out = join(image, '..');
  registry = await startRegistry(await freePort());
  await pushArchive(await builtContainerArchive(join(out, 'host_1.0.0.root.squashfs'), 'web'), registry, 'slipway-test/cloud:1');
  admin = await makeKeyPair('cloud-admin');
  platformKey = await makeKeyPair('cloud-platform');
}, 900_000);

afterAll(async () => {
  for (const machine of machines) await machine.dispose();
  for (const service of services) await service.stop();
  await registry?.stop();
});

/** A host config: the admin user and key, a file, and a container pulled from the registry. */
function hostConfig(hostname: string | undefined, containerPort: number): Record<string, unknown> {
  return {
    ...(hostname ? { hostname } : {}),
    users: [{ name: 'admin', groups: ['sudo'], sshAuthorizedKeys: [admin.publicKey] }],
    files: [{ path: '/etc/slipway-test/cloud', content: 'from the platform\n', owner: 'admin', mode: '0640' }],
    containers: [{
      name: 'extra',
      image: { ref: `${HOST}:${registry.port}/slipway-test/cloud:1`, plainHttp: true },
      command: ['/bin/busybox', 'httpd', '-f', '-p', String(containerPort), '-h', '/srv/www'],
      mounts: [{ source: '/usr/share/slipway/www', target: '/srv/www', readonly: true }],
    }],
  };
}

/** EC2's Nitro instances see their disks as NVMe: the image for every platform but qemu has its driver in the initrd. */
async function bootCloud(cloud: 'aws' | 'gcp', disk: string, userData: Buffer | undefined): Promise<{ vm: VirtualMachine; sshPort: number; httpPort: number; service: MetadataService }> {
  const service = await startMetadataService(cloud, { userData, hostname: `${cloud}-instance`, sshKeys: [platformKey.publicKey] });
  services.push(service);
  const [sshPort, httpPort] = [await freePort(), await freePort()];
  const vm = await VirtualMachine.start({
    image: disk,
    shell: true,
    ...(cloud === 'aws' ? { diskBus: 'nvme' as const } : {}),
    smbios: cloud === 'aws' ? { manufacturer: 'Amazon EC2', product: 't3.micro' } : { manufacturer: 'Google', product: 'Google Compute Engine' },
    linkLocal: [{ address: METADATA, port: 80, hostPort: service.port }],
    forwards: [{ host: sshPort, guest: 22 }, { host: httpPort, guest: 80 }],
  });
  machines.push(vm);
  return { vm, sshPort, httpPort, service };
}

/** What a host is, as its admin sees it over ssh. */
const DESCRIBE = 'hostname; id -un; id -Gn; getent passwd admin | cut -d: -f6,7; cat /etc/slipway-test/cloud; stat -c "%U %G %a" /etc/slipway-test/cloud; readlink /etc/localtime';

async function checkCloudHost(cloud: 'aws' | 'gcp', disk: string, userData: Buffer, hostname: string): Promise<void> {
  const { vm, sshPort, httpPort, service } = await bootCloud(cloud, disk, userData);
  await vm.waitFor(/slipway-health: ok/, 400_000);
  // The image's demo page, from the disk in its cloud's format.
  expect(await (await fetch(`http://127.0.0.1:${httpPort}/`)).text()).toMatch(/Hello from a slipway container host/);
  expect(vm.console).toMatch(new RegExp(`slipway-initrd: reading the host config from the ${cloud} platform`));
  expect(vm.console).toMatch(new RegExp(`slipway-provision: applied ${cloud} instance metadata.* \\(host ${hostname}\\)`));
  // Every request carried what the protocol asks for: a request without it is what the service refuses.
  expect(service.requests.length).toBeGreaterThan(2);
  expect(service.requests.filter((request) => !request.authorized)).toEqual([]);
  if (cloud === 'aws') {
    expect(service.requests[0]).toEqual({ method: 'PUT', path: '/latest/api/token', authorized: true });
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/nvme0n1p2 verified by \/dev\/nvme0n1p3/);
  }

  const login = await ssh(sshPort, 'admin', admin, 'hostname; id -Gn; cat /etc/slipway-test/cloud; stat -c "%U %a" /etc/slipway-test/cloud');
  expect(login.exitCode, login.stderr).toBe(0);
  expect(login.stdout.split('\n')).toEqual([hostname, 'admin sudo', 'from the platform', 'admin 640']);
  // The platform's key, given to root since the config gives root none (as Afterburn does).
  const root = await ssh(sshPort, 'root', platformKey, 'id -un');
  expect(root.stdout, root.stderr).toBe('root');
  expect((await vm.run('ctr --namespace slipway tasks list')).stdout).toMatch(/^extra\s+\d+\s+RUNNING$/m);
  const page = await vm.run(`(exec 3<>/dev/tcp/127.0.0.1/8093; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3)`);
  expect(page.stdout).toMatch(/Hello from a slipway container host/);
  expect((await vm.run('systemctl --failed --no-legend --plain')).stdout).toBe('');
  await vm.dispose();
}

describe('cloud disk formats', () => {
  it('makes a fixed vhd, a streamOptimized vmdk and a gce tarball that qemu-img and tar accept', async () => {
    const vhd = JSON.parse((await execa('qemu-img', ['info', '-f', 'vpc', '--output=json', join(out, 'host_1.0.0.vhd')])).stdout) as { format: string; 'virtual-size': number };
    expect(vhd.format).toBe('vpc');
    expect(vhd['virtual-size'] % (1024 * 1024)).toBe(0);
    const vmdk = JSON.parse((await execa('qemu-img', ['info', '--output=json', join(out, 'host_1.0.0.vmdk')])).stdout) as { format: string; 'format-specific': { data: { 'create-type': string } } };
    expect(vmdk.format).toBe('vmdk');
    expect(vmdk['format-specific'].data['create-type']).toBe('streamOptimized');
    expect((await execa('qemu-img', ['check', join(out, 'host_1.0.0.vmdk')], { reject: false })).exitCode).toBe(0);
    const listing = (await execa('tar', ['-tvzf', join(out, 'host_1.0.0.tar.gz')])).stdout.trim().split('\n');
    expect(listing).toHaveLength(1);
    const [, , size, , , name] = listing[0]!.split(/\s+/);
    expect(name).toBe('disk.raw');
    expect(Number(size) % 1024 ** 3).toBe(0);
  });
});

describe('platforms', () => {
  /**
   * An EC2 machine whose metadata service never answers: it waits out its retries in the initrd,
   * mostly idle, while the hosts below boot; the last test reads how it ended.
   */
  let silent: VirtualMachine;
  beforeAll(async () => {
    silent = await VirtualMachine.start({ image: join(out, 'host_1.0.0.vhd'), smbios: { manufacturer: 'Amazon EC2' }, linkLocal: [] });
    machines.push(silent);
  });

  it('gives an EC2 host (booted from the vhd) its config from IMDSv2 user data, gzipped, with a session token', async () => {
    const userData = gzipSync(stringify(hostConfig('ec2-host', 8093)));
    await checkCloudHost('aws', join(out, 'host_1.0.0.vhd'), userData, 'ec2-host');
  }, 900_000);

  it('gives a GCE host (booted from the vmdk) its config from the metadata server, and its name from the metadata', async () => {
    const userData = Buffer.from(JSON.stringify(hostConfig(undefined, 8093)));
    await checkCloudHost('gcp', join(out, 'host_1.0.0.vmdk'), userData, 'gcp-instance');
  }, 900_000);

  it('gives a #cloud-config host (NoCloud cidata) and its native twin (OpenStack config-2) the same host', async () => {
    const cloudConfig = [
      '#cloud-config',
      'hostname: twin',
      'users:',
      '  - name: admin',
      '    groups: sudo, adm',
      '    shell: /bin/sh',
      `    ssh_authorized_keys: ["${admin.publicKey}"]`,
      `ssh_authorized_keys: ["${platformKey.publicKey}"]`,
      'write_files:',
      '  - path: /etc/slipway-test/cloud',
      `    content: ${Buffer.from('from the platform\n').toString('base64')}`,
      '    encoding: b64',
      '    permissions: "0640"',
      '    owner: admin:adm',
      'timezone: Europe/Berlin',
      '',
    ].join('\n');
    const native = {
      hostname: 'twin',
      users: [
        { name: 'admin', groups: ['sudo', 'adm'], shell: '/bin/sh', sshAuthorizedKeys: [admin.publicKey] },
        { name: 'root', sshAuthorizedKeys: [platformKey.publicKey] },
      ],
      files: [{ path: '/etc/slipway-test/cloud', content: 'from the platform\n', mode: '0640', owner: 'admin:adm' }],
      timezone: 'Europe/Berlin',
    };
    const validate = await slipway(['config', 'validate', writeFile('user-data', cloudConfig), '--image', join(out, 'host_1.0.0.vhd')]);
    expect(validate.exitCode, validate.stderr).toBe(0);

    const cidata = await isoDrive('cidata', { 'user-data': cloudConfig, 'meta-data': 'instance-id: nocloud-1\nlocal-hostname: other-name\n' });
    const config2 = await isoDrive('config-2', {
      'openstack/latest/user_data': stringify(native),
      'openstack/latest/meta_data.json': JSON.stringify({ uuid: 'f00', hostname: 'other-name.novalocal', public_keys: { mykey: platformKey.publicKey } }),
    });
    const seen: Record<string, string> = {};
    // The NoCloud ISO in a CD drive (SATA), as cloud-localds and VMware attach it; config-2 on a disk.
    const twins: Array<[string, string, Pick<MachineOptions, 'dataCdroms' | 'extraDrives'>]> = [['nocloud', 'host_1.0.0.vmdk', { dataCdroms: [cidata] }], ['openstack', 'host_1.0.0.vhd', { extraDrives: [config2] }]];
    for (const [platform, disk, drives] of twins) {
      const sshPort = await freePort();
      const vm = await VirtualMachine.start({ image: join(out, disk), shell: true, ...drives, forwards: [{ host: sshPort, guest: 22 }] });
      machines.push(vm);
      await vm.waitFor(/slipway-health: ok/, 400_000);
      expect(vm.console).toMatch(new RegExp(`slipway-initrd: reading the host config from the ${platform} platform`));
      expect(vm.console).toMatch(/slipway-provision: applied the (NoCloud|OpenStack config) drive .* \(host twin\)/);
      expect(vm.console).toMatch(platform === 'nocloud' ? /slipway-initrd: reading the cidata drive \/dev\/sr0/ : /slipway-initrd: reading the config-2 drive \/dev\/vd/);
      const login = await ssh(sshPort, 'admin', admin, DESCRIBE);
      expect(login.exitCode, login.stderr).toBe(0);
      seen[platform] = login.stdout;
      expect((await ssh(sshPort, 'root', platformKey, 'id -un')).stdout).toBe('root');
      await vm.dispose();
    }
    expect(seen.nocloud!.split('\n')).toEqual(['twin', 'admin', 'admin adm sudo', '/home/admin:/bin/sh', 'from the platform', 'admin adm 640', '/usr/share/zoneinfo/Europe/Berlin']);
    expect(seen.openstack).toBe(seen.nocloud);
  }, 900_000);

  it('stops at a metadata service that never answers, and at user data that does not validate, with the message config validate prints', async () => {
    const badUserData = '#cloud-config\nhostname: Not_A_Name\npackages: [nginx]\nusers:\n  - default\n';
    const file = writeFile('bad-user-data', badUserData);
    const validate = await slipway(['config', 'validate', file, '--image', join(out, 'host_1.0.0.vhd')]);
    expect(validate.exitCode).toBe(12);
    const problems = validate.stderr.split('\n').filter((line) => line.includes(`${file}: `)).map((line) => line.slice(line.indexOf(`${file}: `) + file.length + 2));
    expect(problems).toEqual([
      'users[0]: slipway images have no default user: give each user by name',
      'packages: not supported by slipway, which reads hostname, fqdn, users, ssh_authorized_keys, write_files and timezone of a cloud-config',
    ]);

    const { vm: bad } = await bootCloud('gcp', join(out, 'host_1.0.0.vmdk'), Buffer.from(badUserData));
    await Promise.all([silent, bad].map((vm) => vm.waitFor(/slipway-initrd: the boot stops here/, 400_000, 0, ['initrd failure'])));
    expect(silent.console).toMatch(/slipway-provision: error: no host config from the aws platform: http:\/\/169\.254\.169\.254\/latest\/api\/token did not answer in 60 s/);
    expect(silent.console).toMatch(/slipway-initrd: error: no host config from the aws platform/);
    for (const problem of problems) expect(bad.console).toContain(`slipway-provision: error: gcp instance metadata: ${problem}`);
    for (const vm of [silent, bad]) expect(vm.console).not.toMatch(/Welcome to|slipway-provision: applied/);
  }, 600_000);
});

function writeFile(name: string, text: string): string {
  const file = join(tempDir('cloud'), name);
  writeFileSync(file, text);
  return file;
}

/** An ISO 9660 drive labelled `label` holding `files`, as OpenStack and cloud-localds make them. */
async function isoDrive(label: string, files: Record<string, string>): Promise<string> {
  const dir = tempDir(`drive-${label}`);
  const root = join(dir, 'root');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  const iso = join(dir, `${label}.iso`);
  await execa('xorriso', ['-as', 'mkisofs', '-quiet', '-V', label, '-J', '-R', '-o', iso, root]);
  return iso;
}
