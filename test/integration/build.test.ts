/**
 * `slipway build` of the default host, checked by the tools that define the formats, rebuilt by an
 * unprivileged user elsewhere (same bytes), and booted under UEFI, once intact and once corrupted.
 */
import { chmodSync, closeSync, copyFileSync, openSync, readFileSync, readdirSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { SHARED_CACHE, tempDir } from '../helpers/archive.ts';
import { REPO_ROOT, slipway } from '../helpers/cli.ts';
import { bootUntil } from '../helpers/qemu.ts';
import { validateSpdx } from '../helpers/spdx.ts';

interface Sbom {
  spdxVersion: string;
  creationInfo: { creators: string[] };
  packages: Array<{ SPDXID: string; name: string; supplier?: string; externalRefs?: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }> }>;
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
}

interface Manifest {
  rootHash: string;
  disk: { partitions: Array<{ role: string; offset: number; size: number; label: string; uuid: string }> };
  artifacts: Record<string, { file: string; sha256: string }>;
  packages: Array<{ name: string; installedSize?: number; neededBy?: string[] }>;
}

let out: string;
let manifest: Manifest;
let buildLog: string;
const BASE = 'host_1.0.0';

function partitionOf(role: string) {
  return manifest.disk.partitions.find((p) => p.role === role)!;
}

/** Copies one partition out of the raw disk into its own file. */
async function extractPartition(role: string): Promise<string> {
  const { offset, size } = partitionOf(role);
  const file = join(tempDir('part'), `${role}.img`);
  await execa('dd', [`if=${join(out, `${BASE}.raw`)}`, `of=${file}`, 'bs=1M', `skip=${offset / 1048576}`, `count=${size / 1048576}`, 'status=none']);
  return file;
}

beforeAll(async () => {
  // A recipe copy, so the lockfile this writes stays out of the repository.
  const dir = tempDir('build');
  copyFileSync(join(REPO_ROOT, 'recipes/host.yaml'), join(dir, 'host.yaml'));
  out = join(dir, 'out');
  const result = await slipway(['build', join(dir, 'host.yaml'), '--out', out, '--cache', SHARED_CACHE]);
  if (result.exitCode !== 0) throw new Error(`build failed:\n${result.stderr}`);
  buildLog = result.stderr;
  manifest = JSON.parse(readFileSync(join(out, `${BASE}.manifest.json`), 'utf8')) as Manifest;
});

describe('slipway build of the default host', () => {
  it('logs one line per step off a terminal, each with its time', () => {
    const lines = buildLog.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.length).toBeLessThanOrEqual(40);
    for (const line of lines) expect(line).toMatch(/^✔ \S.* \[\d+\.\d s\]$/);
    expect(lines.find((line) => line.startsWith('✔ Write the disk'))).toMatch(/\(copied [\d.]+ MiB at [\d.]+ MiB\/s\)/);
  });

  it('writes every output, and SHA256SUMS lists them with their real hashes', async () => {
    const files = readdirSync(out).sort();
    for (const suffix of ['.raw', '.qcow2', '.root.squashfs', '.root.verity', '.efi', '.manifest.json', '.spdx.json']) {
      expect(files).toContain(`${BASE}${suffix}`);
    }
    expect(files.filter((f) => f.startsWith('.'))).toEqual([]); // no staging left behind
    // Readable by a web server running as another user, and nothing executable.
    for (const file of files) expect(`${file} ${(statSync(join(out, file)).mode & 0o777).toString(8)}`).toBe(`${file} 644`);
    const { stdout } = await execa('sha256sum', ['--check', 'SHA256SUMS'], { cwd: out });
    expect(stdout.split('\n').filter((l) => l.endsWith(': OK'))).toHaveLength(7);
    const sbom = JSON.parse(readFileSync(join(out, `${BASE}.spdx.json`), 'utf8')) as Sbom;
    expect(sbom.spdxVersion).toBe('SPDX-2.3');
    expect(sbom.packages.map((p) => p.name)).toEqual(expect.arrayContaining(['systemd', 'containerd', 'runc']));
  });

  it('has an SBOM that lists every artifact’s packages, says which artifact holds which, and names its creator', () => {
    const sbom = JSON.parse(readFileSync(join(out, `${BASE}.spdx.json`), 'utf8')) as Sbom;
    const byName = (name: string) => sbom.packages.find((p) => p.name === name)!;
    const contained = (whole: string) => sbom.relationships.filter((r) => r.spdxElementId === byName(whole).SPDXID && r.relationshipType === 'CONTAINS').map((r) => sbom.packages.find((p) => p.SPDXID === r.relatedSpdxElement)!.name);
    expect(sbom.creationInfo.creators).toEqual([expect.stringMatching(/^Tool: slipway-\d+\.\d+\.\d+$/)]);
    const image = byName('host');
    expect(sbom.relationships).toContainEqual({ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image.SPDXID });
    expect(image.supplier).toMatch(/^(Organization|Person): |^NOASSERTION$/);
    expect(image.externalRefs).toEqual([{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:generic/host@1.0.0' }]);
    expect(contained('host')).toEqual(['host root file system', 'host unified kernel image']);
    expect(contained('host unified kernel image')).toEqual(['host initrd']);
    expect(contained('host root file system')).toEqual(expect.arrayContaining(['systemd', 'containerd', 'host container web']));
    expect(contained('host initrd')).toEqual(expect.arrayContaining(['busybox-static', 'dmsetup', 'e2fsprogs']));
    expect(contained('host container web')).toEqual(['busybox-static']);
    // One package for busybox-static, held by the initrd and the container both.
    expect(sbom.packages.filter((p) => p.name === 'busybox-static')).toHaveLength(1);
    for (const pkg of sbom.packages.filter((p) => p.SPDXID.startsWith('SPDXRef-Package-deb-'))) {
      expect(pkg.externalRefs![0]!.referenceLocator, pkg.name).toMatch(/^pkg:deb\/debian\/[a-z0-9.%A-F-]+@[A-Za-z0-9.~%-]+\?arch=(amd64|all)&distro=bookworm$/);
    }
  });

  it('has an SBOM that SPDX’s own validator accepts as SPDX 2.3, and that it would refuse when broken', async () => {
    const file = join(out, `${BASE}.spdx.json`);
    const { valid, report } = await validateSpdx(file);
    expect(report).toBe('');
    expect(valid).toBe(true);
    // The same document with a package that names an artifact the document does not have.
    const sbom = JSON.parse(readFileSync(file, 'utf8')) as Sbom;
    sbom.relationships.push({ spdxElementId: 'SPDXRef-Image-missing', relationshipType: 'CONTAINS', relatedSpdxElement: sbom.packages[0]!.SPDXID });
    const broken = join(tempDir('sbom'), 'broken.spdx.json');
    writeFileSync(broken, JSON.stringify(sbom));
    const refused = await validateSpdx(broken);
    expect(refused.valid).toBe(false);
    expect(refused.report).toContain('did not find the referenced spdx_id "SPDXRef-Image-missing"');
  });

  it('has a GPT that sfdisk verifies, with the A/B layout of the Discoverable Partitions Specification', async () => {
    const raw = join(out, `${BASE}.raw`);
    expect((await execa('sfdisk', ['--verify', raw])).stdout).toMatch(/No errors detected/);
    const table = JSON.parse((await execa('sfdisk', ['--json', raw])).stdout) as { partitiontable: { partitions: Array<{ type: string; name: string; uuid: string; attrs?: string }> } };
    const parts = table.partitiontable.partitions;
    expect(parts.map((p) => p.type)).toEqual([
      'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', // ESP
      '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', // root A
      '2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5', // verity A
      '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', // root B
      '2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5', // verity B
      '4D21B016-B534-45C2-A9FB-5C16E091FD2D', // var
    ]);
    expect(parts.map((p) => p.name)).toEqual(['esp', 'host_1.0.0', 'host_1.0.0_verity', '_empty', '_empty', 'var']);
    // The specification's flags: roots and verity read-only (bit 60), /var grown to its partition (59).
    expect(parts.map((p) => p.attrs)).toEqual([undefined, 'GUID:60', 'GUID:60', 'GUID:60', 'GUID:60', 'GUID:59']);
    // Slot A is found by its root hash: data = first 128 bits, verity = last 128 bits.
    const hash = manifest.rootHash.toUpperCase();
    expect(parts[1]!.uuid.replace(/-/g, '')).toBe(hash.slice(0, 32));
    expect(parts[2]!.uuid.replace(/-/g, '')).toBe(hash.slice(32));
  });

  it('is read by systemd-dissect, which finds root and verity and the verity holds', async () => {
    const { stdout } = await execa('systemd-dissect', ['--no-pager', `--root-hash=${manifest.rootHash}`, join(out, `${BASE}.raw`)]);
    expect(stdout).toMatch(/IMAGE_VERSION=1\.0\.0/);
    expect(stdout).toMatch(/^ro\s+root\s+.*host_1\.0\.0\s+squashfs\s+x86-64\s+yes/m);
    expect(stdout).toMatch(/^ro\s+root-verity\s+.*host_1\.0\.0_verity/m);
    expect(stdout).toMatch(/\besp\b.*vfat/);
  });

  it('passes veritysetup verify for root A against the manifest’s root hash', async () => {
    const [root, verity] = await Promise.all([extractPartition('root-a'), extractPartition('verity-a')]);
    const result = await execa('veritysetup', ['verify', root, verity, manifest.rootHash], { reject: false });
    expect(result.exitCode).toBe(0);
    const wrong = manifest.rootHash.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    expect((await execa('veritysetup', ['verify', root, verity, wrong], { reject: false })).exitCode).not.toBe(0);
  });

  it('has a root filesystem that unsquashfs reads completely, with exact owners and modes', async () => {
    const dir = tempDir('unsquash');
    await execa('unsquashfs', ['-no-progress', '-d', join(dir, 'root'), join(out, `${BASE}.root.squashfs`)]);
    const listing = (await execa('unsquashfs', ['-lln', join(out, `${BASE}.root.squashfs`)])).stdout;
    expect(listing).toMatch(/^-rwxr-sr-x 0\/42 .* squashfs-root\/usr\/sbin\/unix_chkpwd$/m); // setgid shadow kept
    expect(listing).toMatch(/^-rwsr-xr-x 0\/0 .* squashfs-root\/usr\/bin\/mount$/m); // setuid kept
    expect(listing).toMatch(/^drwxrwxrwt 0\/0 .* squashfs-root\/tmp$/m);
    expect(listing).toMatch(/^lrwxrwxrwx 0\/0 .* squashfs-root\/bin -> usr\/bin$/m);
    // The web container's files, in a folder only root enters, busybox's owner and mode kept.
    expect(listing).toMatch(/^drwx------ 0\/0 .* squashfs-root\/usr\/share\/slipway\/containers$/m);
    expect(listing).toMatch(/^-rwxr-xr-x 0\/0 .* squashfs-root\/usr\/share\/slipway\/containers\/web\/usr\/bin\/busybox$/m);
    const osRelease = readFileSync(join(dir, 'root/usr/lib/os-release'), 'utf8');
    expect(osRelease).toMatch(/^IMAGE_ID=host$/m);
    expect(osRelease).toMatch(/^IMAGE_VERSION=1\.0\.0$/m);
    expect(readFileSync(join(dir, 'root/etc/machine-id'), 'utf8')).toBe('');
    expect(readFileSync(join(dir, 'root/etc/passwd'), 'utf8')).toMatch(/^systemd-network:x:\d+:\d+:/m);
    expect(readdirSync(join(dir, 'root/usr/share/doc/systemd'))).toEqual(['copyright']);
  });

  it('has an ESP that fsck.vfat accepts and where bootctl lists the UKI', async () => {
    const esp = await extractPartition('esp');
    expect((await execa('fsck.vfat', ['-n', esp], { reject: false })).exitCode).toBe(0);
    const dir = tempDir('esp');
    await execa('mcopy', ['-s', '-i', esp, '::/EFI', '::/loader', dir], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(readdirSync(join(dir, 'EFI/Linux'))).toEqual(['host_1.0.0+3.efi']);
    // bootctl wants the ESP to be the root of a file system: a bind mount in a private mount namespace.
    const list = await execa('unshare', ['-m', 'sh', '-c', `mount --bind "$0" "$0" && bootctl --esp-path="$0" --no-pager list`, dir], {
      env: { SYSTEMD_RELAX_ESP_CHECKS: '1' },
      reject: false,
    });
    expect(list.stdout).toMatch(/source: .*\/EFI\/Linux\/host_1\.0\.0\+3\.efi/);
    expect(list.stdout).toMatch(/title: host 1\.0\.0 \(slipway/);
    expect(list.stdout).toMatch(/tries: 3 left/);
    expect(list.stdout).toMatch(new RegExp(`options: roothash=${manifest.rootHash} ro`));
  });

  it('has a data filesystem that e2fsck finds clean', async () => {
    const data = await extractPartition('data');
    expect((await execa('e2fsck', ['-fn', data], { reject: false })).exitCode).toBe(0);
  });

  it('is described by slipway inspect: partitions, slots, root hash, boot entry, packages', async () => {
    const result = await slipway(['inspect', join(out, `${BASE}.raw`), '--json']);
    expect(result.exitCode).toBe(0);
    const info = JSON.parse(result.stdout) as {
      partitions: Array<{ role: string; label: string }>;
      slots: Array<{ slot: string; version: string | null; rootHash: string | null }>;
      ukis: string[];
      packages: Array<{ name: string; version: string }>;
    };
    expect(info.partitions.map((p) => p.role)).toEqual(['esp', 'root', 'root-verity', 'root', 'root-verity', 'var']);
    expect(info.slots).toEqual([
      { slot: 'a', label: 'host_1.0.0', version: '1.0.0', rootHash: manifest.rootHash, rootPartition: 2, verityPartition: 3 },
      { slot: 'b', label: '_empty', version: null, rootHash: null, rootPartition: 4, verityPartition: 5 },
    ]);
    expect(info.ukis).toEqual(['host_1.0.0+3.efi']);
    expect(info.packages.map((p) => p.name)).toEqual(manifest.packages.map((p) => p.name));
  });

  it('is refused by slipway inspect, saying what is wrong, when cut short, damaged, or not an image at all', async () => {
    const dir = tempDir('damaged');
    const image = join(out, `${BASE}.raw`);
    const copy = async (name: string) => {
      const path = join(dir, name);
      await execa('cp', ['--sparse=always', image, path]);
      return path;
    };
    const truncated = await copy('truncated.raw');
    await execa('truncate', ['-s', '300M', truncated]);
    const damaged = await copy('damaged.raw');
    const fd = openSync(damaged, 'r+');
    writeSync(fd, Buffer.from('XX'), 0, 2, 1024 + 40); // the first partition entry's last LBA
    closeSync(fd);
    await execa('mkfifo', [join(dir, 'fifo')]);
    const cases: Array<[string, string]> = [
      [truncated, `${truncated} is damaged: partition 2 (root) ends at byte ${partitionOf('root-a').offset + partitionOf('root-a').size}, past the end of the image (314572800 bytes)`],
      [damaged, `${damaged} has no valid GPT: its GPT partition entries fail their checksum (the partition table is damaged)`],
      [dir, `${dir} is a folder`],
      // A FIFO would block the read: refused before it is opened.
      [join(dir, 'fifo'), `${join(dir, 'fifo')} is not a regular file or a block device`],
    ];
    for (const [path, message] of cases) {
      const result = await slipway(['inspect', path]);
      expect(result.exitCode, result.stderr).toBe(14);
      expect(result.stderr.split('\n')[0]).toBe(`slipway: ${message}`);
    }
  });

  it('shows with slipway inspect --sizes what makes it big and why each package is there', async () => {
    const raw = join(out, `${BASE}.raw`);
    const json = await slipway(['inspect', raw, '--sizes', '--json']);
    expect(json.exitCode).toBe(0);
    const listing = JSON.parse(json.stdout) as { packages: number; installedSize: number; unknown: number; rows: Array<{ name: string; installedSize: number; neededBy: string[] }> };
    expect(listing).toMatchObject({ packages: manifest.packages.length, unknown: 0 });
    // The image's record and the manifest agree, and both come from the lockfile.
    const fromManifest = new Map(manifest.packages.map((p) => [p.name, p]));
    for (const row of listing.rows) expect([row.installedSize, row.neededBy]).toEqual([fromManifest.get(row.name)!.installedSize, fromManifest.get(row.name)!.neededBy]);
    expect(listing.installedSize).toBe(manifest.packages.reduce((sum, p) => sum + p.installedSize!, 0));
    const sizes = listing.rows.map((r) => r.installedSize);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    for (const row of listing.rows.slice(0, 15)) {
      expect(row.installedSize).toBeGreaterThan(0);
      expect(['packages', 'the Essential set']).toContain(row.neededBy[0]);
    }
    // The kernel is there because the recipe's kernel metapackage depends on it.
    const kernel = listing.rows.find((r) => /^linux-image-\d.*-amd64$/.test(r.name))!;
    expect(kernel.neededBy).toEqual(['packages', expect.stringMatching(/^linux-image-amd64 /)]);
    expect(listing.rows.indexOf(kernel)).toBeLessThan(5);
    const text = await slipway(['inspect', raw, '--sizes']);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/^\s*SIZE\s+PACKAGE\s+WHY$/);
    expect(lines).toHaveLength(manifest.packages.length + 2);
    expect(lines.find((l) => l.includes(` ${kernel.name} `))).toMatch(/^\s*\d+\.\d MiB\s+linux-image-\S+\s+packages → linux-image-amd64$/);
    expect(lines.at(-1)).toMatch(new RegExp(`^\\s*\\d+\\.\\d MiB\\s+total of ${manifest.packages.length} packages$`));
  });

  it('is reproducible, and builds rootless: an unprivileged user building elsewhere gets the same bytes', async () => {
    const dir = tempDir('rootless');
    chmodSync(dir, 0o777);
    copyFileSync(join(REPO_ROOT, 'recipes/host.yaml'), join(dir, 'host.yaml'));
    copyFileSync(join(out, '..', 'host.lock.json'), join(dir, 'host.lock.json'));
    chmodSync(join(dir, 'host.lock.json'), 0o644);
    const cache = join(dir, 'cache');
    const result = await execa(
      'setpriv',
      ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, join(REPO_ROOT, 'bin/slipway.js'), 'build', join(dir, 'host.yaml'), '--out', join(dir, 'out'), '--cache', cache],
      { reject: false, env: { HOME: dir, CI: '1', PATH: process.env.PATH ?? '' }, cwd: dir },
    );
    expect(result.stderr).not.toMatch(/Permission denied|EACCES/);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'out/SHA256SUMS'), 'utf8')).toBe(readFileSync(join(out, 'SHA256SUMS'), 'utf8'));
  });

  it('refuses to run a root partition with one corrupted byte: dm-verity catches it', async () => {
    const disk = join(tempDir('corrupt'), 'disk.raw');
    copyFileSync(join(out, `${BASE}.raw`), disk);
    const fd = openSync(disk, 'r+');
    writeSync(fd, Buffer.from([0x5a]), 0, 1, partitionOf('root-a').offset + 100); // inside the squashfs superblock
    closeSync(fd);
    const boot = await bootUntil(disk, /slipway-initrd: cannot boot/, 240_000);
    expect(boot.console).toMatch(/device-mapper: verity: .*data block 0 is corrupted/);
    expect(boot.console).toMatch(/slipway-initrd: error: cannot mount the verified root/);
    expect(boot.console).not.toMatch(/Welcome to/);
  });
});
