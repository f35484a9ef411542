import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LockedPackage, Lockfile } from '../../../src/assemble/lock.ts';
import { CLOUD_DISK_MODULES, HOST_MODULES, INITRD_MODULES, MODULE_SET_MODULES, PLATFORM_NIC_MODULES, PROVISION_MODULES } from '../../../src/assemble/kernel.ts';
import { artifactPath, kernelCommandLine, liveCommandLine, netbootCommandLine, planImage, sourceDateEpoch } from '../../../src/pipeline/plan.ts';
import { RecipeError } from '../../../src/errors.ts';
import { RecipeSchema, type ModuleSet } from '../../../src/recipe/schema.ts';

const MiB = 1024 * 1024;

const RECIPE = RecipeSchema.parse({
  name: 'edge',
  version: '2.1.0',
  kernel: { modules: ['wireguard', 'overlay'], cmdline: ['console=ttyS0', 'quiet'] },
  containers: [
    { name: 'web', image: { packages: ['busybox'] } },
    { name: 'cache', image: { ref: 'registry.example/redis:7' } },
  ],
  disk: { slotSize: '512MiB', espSize: '32MiB', dataSize: '1GiB' },
});

function pkg(name: string): LockedPackage {
  return {
    name, version: '1.0-1', architecture: 'amd64', filename: `pool/main/${name}_1.0-1_amd64.deb`, size: 1000,
    sha256: 'a'.repeat(64), source: name, sourceVersion: '1.0-1', essential: false,
  };
}

const LOCK: Lockfile = {
  lockfileVersion: 1,
  recipe: 'edge.yaml',
  inputs: 'b'.repeat(64),
  distribution: { suite: 'bookworm', codename: 'bookworm', components: ['main'], architecture: 'amd64', releaseDate: 'Sat, 10 May 2025 09:30:00 UTC' },
  sets: { 'host': [pkg('systemd'), pkg('linux-image-amd64')], 'initrd': [pkg('busybox')], 'container:web': [pkg('busybox')] },
};

const RELEASE_EPOCH = Date.UTC(2025, 4, 10, 9, 30) / 1000;

describe('planImage', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('names every artifact NAME_VERSION, one disk per format', () => {
    const plan = planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw', 'qcow2'] });
    expect(plan.basename).toBe('edge_2.1.0');
    expect(plan.formats).toEqual(['raw', 'qcow2']);
    expect(plan.artifacts).toEqual({
      raw: 'edge_2.1.0.raw',
      qcow2: 'edge_2.1.0.qcow2',
      root: 'edge_2.1.0.root.squashfs',
      verity: 'edge_2.1.0.root.verity',
      uki: 'edge_2.1.0.efi',
      manifest: 'edge_2.1.0.manifest.json',
      sbom: 'edge_2.1.0.spdx.json',
    });
    expect(artifactPath(plan, '/stage', 'qcow2')).toBe('/stage/edge_2.1.0.qcow2');
  });

  it('refuses a name and version too long for the partition names made of them, from the recipe or --version', () => {
    const long = { ...RECIPE, name: 'a-rather-long-edge-host-name' };
    expect(() => planImage(long, LOCK, { outDir: '/out', formats: ['raw'] })).toThrow(
      new RecipeError(
        'name and version: a slot\'s partitions are named after them, and "a-rather-long-edge-host-name_2.1.0_verity" has 41 characters, more than the 36 a GPT partition name holds',
        'shorten the name or the version: the two together may have 28 characters',
      ),
    );
    expect(() => planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'], version: '2.1.0-rc1+build.202612011' })).toThrow(/"edge_2\.1\.0-rc1\+build\.202612011_verity" has 37 characters/);
    expect(planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'], version: '2.1.0-rc1+build.20261201' }).version).toBe('2.1.0-rc1+build.20261201');
  });

  it('takes the version from the options over the recipe', () => {
    const plan = planImage(RECIPE, LOCK, { outDir: '/out', version: '2.2.0-rc1', formats: ['qcow2'] });
    expect(plan.version).toBe('2.2.0-rc1');
    expect(plan.artifacts).not.toHaveProperty('raw');
    expect(plan.artifacts.qcow2).toBe('edge_2.2.0-rc1.qcow2');
  });

  it("loads the host modules and the recipe's, each once", () => {
    const plan = planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'] });
    expect(plan.kernel.modules.slice(0, HOST_MODULES.length)).toEqual(HOST_MODULES);
    expect(plan.kernel.modules).toContain('wireguard');
    expect(plan.kernel.modules.filter((m) => m === 'overlay')).toHaveLength(1);
    expect(plan.kernel.modules).toHaveLength(new Set([...HOST_MODULES, ...PROVISION_MODULES, ...PLATFORM_NIC_MODULES, ...CLOUD_DISK_MODULES]).size + 1);
    expect(plan.kernel.networkModules).toEqual(PLATFORM_NIC_MODULES);
    expect(plan.kernel.recipeModules).toEqual(['wireguard', 'overlay']);
    expect(plan.kernel.initrdModules).toEqual([...INITRD_MODULES, ...CLOUD_DISK_MODULES]);
    expect(planImage({ ...RECIPE, platform: { name: 'qemu' } }, LOCK, { outDir: '/out', formats: ['raw'] }).kernel.initrdModules).toEqual(INITRD_MODULES);
    expect(plan.kernel.package).toBe('linux-image-amd64');
    expect(plan.kernel.cmdline).toEqual(['console=ttyS0', 'quiet']);
  });

  it('adds the drivers of the recipe’s module sets: all to the root, the disk controllers to the initrd too', () => {
    const recipe = { ...RECIPE, kernel: { ...RECIPE.kernel, moduleSets: ['storage', 'network'] satisfies ModuleSet[] } };
    const plan = planImage(recipe, LOCK, { outDir: '/out', formats: ['raw'] });
    expect(plan.kernel.modules).toEqual(expect.arrayContaining(['nvme', 'ahci', 'sd_mod', 'megaraid_sas', 'mpt3sas', 'usb_storage', 'md_mod', 'e1000e', 'igb', 'ixgbe', 'i40e', 'ice', 'mlx5_core', 'bnxt_en', 'tg3', 'r8169']));
    expect(plan.kernel.initrdModules).toEqual([...INITRD_MODULES, ...MODULE_SET_MODULES.storage.initrd]);
    expect(plan.kernel.initrdModules).not.toContain('e1000e');
    expect(plan.kernel.recipeModules).toEqual(['wireguard', 'overlay']); // a set's modules the kernel lacks are skipped, not refused
  });

  it('plans a netboot UKI from the recipe’s netboot.url, with the NICs and loop devices in the initrd', () => {
    const recipe = { ...RECIPE, netboot: { url: 'http://192.0.2.10/images' } };
    const plan = planImage(recipe, LOCK, { outDir: '/out', formats: ['raw', 'netboot'] });
    expect(plan.artifacts).toMatchObject({ raw: 'edge_2.1.0.raw', netboot: 'edge_2.1.0.netboot.efi' });
    expect(plan.netboot).toEqual({ rootUrl: 'http://192.0.2.10/images/edge_2.1.0' });
    expect(netbootCommandLine(plan, 'ab'.repeat(32), 'cd'.repeat(32))).toMatch(/^roothash=(ab){32} .* slipway\.netboot=http:\/\/192\.0\.2\.10\/images\/edge_2\.1\.0 slipway\.install\.map=(cd){32}$/);
    expect(plan.artifacts).toMatchObject({ installMap: 'edge_2.1.0.install.json', installData: 'edge_2.1.0.install.bin' });
    expect(plan.kernel.initrdModules).toEqual(expect.arrayContaining(['virtio_net', 'loop']));
    expect(plan.formats).toEqual(['raw', 'netboot']);
  });

  it('plans an installer ISO whose UKI runs the root from the medium, with what finds a CD or USB stick in the initrd', () => {
    const plan = planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw', 'iso'] });
    expect(plan.artifacts).toMatchObject({ raw: 'edge_2.1.0.raw', iso: 'edge_2.1.0.iso' });
    expect(liveCommandLine(plan, 'ab'.repeat(32), 'cd'.repeat(32))).toMatch(/^roothash=(ab){32} .* slipway\.live=edge_2\.1\.0 slipway\.install\.map=(cd){32}$/);
    expect(plan.kernel.liveModules).toEqual(expect.arrayContaining(['sr_mod', 'isofs', 'ahci', 'usb_storage', 'loop']));
    expect(plan.kernel.modules).toEqual(expect.arrayContaining(plan.kernel.liveModules));
    expect(planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'] }).kernel.liveModules).toEqual([]);
  });

  it('refuses --format netboot without netboot.url, and netboot with a sealed /var', () => {
    expect(() => planImage(RECIPE, LOCK, { outDir: '/out', formats: ['netboot'] })).toThrow('--format netboot: the recipe has no netboot.url');
    const sealed = { ...RECIPE, netboot: { url: 'http://192.0.2.10/' }, disk: { ...RECIPE.disk, encryption: 'tpm2' as const } };
    expect(() => planImage(sealed, LOCK, { outDir: '/out', formats: ['raw'] })).toThrow(RecipeError);
  });

  it('takes the package sets from the lock, empty for containers pulled from a registry', () => {
    const plan = planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'] });
    expect(plan.packages.host.map((p) => p.name)).toEqual(['systemd', 'linux-image-amd64']);
    expect(plan.packages.initrd.map((p) => p.name)).toEqual(['busybox']);
    expect(plan.packages.containers).toEqual({ web: [pkg('busybox')], cache: [] });
  });

  it('splits the slot into root and verity', () => {
    const plan = planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'] });
    expect(plan.disk).toEqual({ espSize: 32 * MiB, slotSize: 512 * MiB, rootPartition: 506 * MiB, verityPartition: 6 * MiB, dataSize: 1024 * MiB, encryption: 'none' });
    expect(plan.rootfs).toEqual({ type: 'squashfs', compression: 'zstd' });
  });

  it("dates the build from the lock's release date", () => {
    vi.stubEnv('SOURCE_DATE_EPOCH', undefined);
    expect(planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'] }).sourceDateEpoch).toBe(RELEASE_EPOCH);
    expect(sourceDateEpoch(LOCK)).toBe(1746869400);
  });

  it('dates the build from SOURCE_DATE_EPOCH when it is set to a number', () => {
    vi.stubEnv('SOURCE_DATE_EPOCH', '1700000000');
    expect(planImage(RECIPE, LOCK, { outDir: '/out', formats: ['raw'] }).sourceDateEpoch).toBe(1700000000);
    vi.stubEnv('SOURCE_DATE_EPOCH', 'yesterday');
    expect(sourceDateEpoch(LOCK)).toBe(RELEASE_EPOCH);
    vi.stubEnv('SOURCE_DATE_EPOCH', '');
    expect(sourceDateEpoch(LOCK)).toBe(RELEASE_EPOCH);
  });
});

describe('the platform on the command line', () => {
  const planFor = (platform: unknown) => planImage(RecipeSchema.parse({ ...RECIPE_INPUT, platform }), LOCK, { outDir: '/out', formats: ['raw'] });
  const RECIPE_INPUT = { name: 'edge', version: '2.1.0', disk: { slotSize: '512MiB', espSize: '32MiB', dataSize: '1GiB' } };

  it('says nothing for auto, which the initrd finds at boot', () => {
    expect(kernelCommandLine(planFor(undefined), 'ab'.repeat(32))).not.toMatch(/slipway\.(platform|config)/);
  });

  it('names the platform, and metal\'s config URL and sha256, before the recipe\'s own arguments', () => {
    expect(kernelCommandLine(planFor('aws'), 'ab'.repeat(32))).toMatch(/ transparent_hugepage=never slipway\.platform=aws( |$)/);
    const sha = 'c'.repeat(64);
    expect(kernelCommandLine(planFor({ name: 'metal', configUrl: 'http://192.0.2.1/h.yaml', configSha256: sha }), 'ab'.repeat(32)))
      .toMatch(new RegExp(`slipway\\.platform=metal slipway\\.config\\.url=http://192\\.0\\.2\\.1/h\\.yaml slipway\\.config\\.sha256=${sha}( |$)`));
  });

  it('refuses a plain http config URL without its sha256', () => {
    expect(RecipeSchema.safeParse({ ...RECIPE_INPUT, platform: { name: 'metal', configUrl: 'http://192.0.2.1/h.yaml' } }).error?.issues[0]?.message).toMatch(/a plain http:\/\/ configUrl needs configSha256/);
    expect(RecipeSchema.safeParse({ ...RECIPE_INPUT, platform: { name: 'metal', configUrl: 'https://config.example/h.yaml' } }).success).toBe(true);
  });

  it('refuses a config URL for a platform that hands over its own user data', () => {
    const parsed = RecipeSchema.safeParse({ ...RECIPE_INPUT, platform: { name: 'aws', configUrl: 'http://192.0.2.1/h.yaml' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/configUrl goes with name: metal/);
  });
});
