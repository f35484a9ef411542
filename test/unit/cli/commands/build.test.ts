import { describe, expect, it } from 'vitest';
import { lockInputsHash, type LockedPackage, type Lockfile } from '../../../../src/assemble/lock.ts';
import { planImage } from '../../../../src/pipeline/plan.ts';
import { parseFormats, planReport } from '../../../../src/cli/commands/build.ts';
import { UsageError } from '../../../../src/errors.ts';
import { RecipeSchema } from '../../../../src/recipe/schema.ts';

const RECIPE = RecipeSchema.parse({ name: 'host', version: '1.0.0' });

function lockWith(host: LockedPackage[]): Lockfile {
  return {
    lockfileVersion: 1,
    recipe: 'host',
    inputs: lockInputsHash(RECIPE),
    distribution: { suite: 'bookworm', codename: 'bookworm', components: ['main'], architecture: 'amd64', releaseDate: 'Sat, 10 May 2025 09:30:00 UTC' },
    sets: { host, initrd: [] },
  };
}

describe('parseFormats', () => {
  it('takes the formats asked for, each once', () => {
    expect(parseFormats('qcow2, raw,qcow2')).toEqual(['qcow2', 'raw']);
    expect(parseFormats(undefined)).toEqual(['raw', 'qcow2']);
    expect(parseFormats('vhd,vmdk,gce')).toEqual(['vhd', 'vmdk', 'gce']);
  });

  it('rejects an unknown format', () => {
    expect(() => parseFormats('vdi')).toThrow(new UsageError('--format: unknown format vdi', 'the formats are raw, qcow2, vhd, vmdk, gce, netboot, iso'));
  });

  // A check of `f in FORMATS` is true for every Object.prototype key: `--format toString` was once
  // accepted and the plan named a disk "host_1.0.0.undefined".
  it('rejects a format that is a property of every object', () => {
    expect(() => parseFormats('toString')).toThrow(UsageError);
  });
});

describe('planReport', () => {
  it('lists the host’s installed size and its largest packages with why each is there, beside the package names', () => {
    const entry = (name: string, installedSize: number | undefined, neededBy?: string[]): LockedPackage => ({
      name, version: '1.0-1', architecture: 'amd64', filename: `pool/main/${name}_1.0-1_amd64.deb`, size: 100,
      sha256: 'a'.repeat(64), source: name, sourceVersion: '1.0-1', essential: false, ...(installedSize === undefined ? {} : { installedSize }), ...(neededBy ? { neededBy } : {}),
    });
    const host = Array.from({ length: 20 }, (_, i) => entry(`lib${String(i).padStart(2, '0')}`, (i + 1) * 1024, ['packages', 'app 1.0-1']));
    host.push(entry('app', 1048576, ['packages']), entry('old', undefined));
    const plan = planReport(planImage(RECIPE, lockWith(host), { outDir: '/out', formats: ['qcow2', 'raw'] }));
    expect(plan.artifacts).toMatchObject({ qcow2: 'host_1.0.0.qcow2', raw: 'host_1.0.0.raw' });
    expect((plan.packages as { host: string[] }).host).toContain('app 1.0-1');
    const sizes = (plan.sizes as { host: { packages: number; installedSize: number; unknown: number; largest: Array<{ name: string; installedSize: number; neededBy: string[] }> } }).host;
    expect(sizes).toMatchObject({ packages: 22, unknown: 1, installedSize: 1048576 + (210 * 1024) });
    expect(sizes.largest).toHaveLength(15);
    expect(sizes.largest[0]).toEqual({ name: 'app', version: '1.0-1', installedSize: 1048576, neededBy: ['packages'] });
    expect(sizes.largest[1]).toEqual({ name: 'lib19', version: '1.0-1', installedSize: 20 * 1024, neededBy: ['packages', 'app 1.0-1'] });
    expect(sizes.largest.at(-1)!.name).toBe('lib06');
  });
});
