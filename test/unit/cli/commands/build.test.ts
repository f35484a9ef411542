import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockInputsHash, type Lockfile } from '../../../../src/assemble/lock.ts';
import { buildRecipe } from '../../../../src/cli/commands/build.ts';
import { UsageError } from '../../../../src/errors.ts';
import { RecipeSchema } from '../../../../src/recipe/schema.ts';

// A recipe that names its mirror and has a current lockfile: --dry-run plans without the network.
const RECIPE = { name: 'host', version: '1.0.0', distribution: { mirror: 'http://deb.example/debian' } };

describe('buildRecipe --dry-run', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-unit-build-'));
    file = join(dir, 'host.yaml');
    writeFileSync(file, JSON.stringify(RECIPE));
    const lock: Lockfile = {
      lockfileVersion: 1,
      recipe: 'host',
      inputs: lockInputsHash(RecipeSchema.parse(RECIPE)),
      distribution: { suite: 'bookworm', codename: 'bookworm', components: ['main'], architecture: 'amd64', releaseDate: 'Sat, 10 May 2025 09:30:00 UTC' },
      sets: { host: [], initrd: [] },
    };
    writeFileSync(join(dir, 'host.lock.json'), JSON.stringify(lock));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function dryRun(format: string): Promise<Record<string, unknown>> {
    let printed = '';
    const values = { 'format': format, 'dry-run': true, 'out': join(dir, 'out'), 'cache': join(dir, 'cache') };
    const plan = await buildRecipe(file, values, { debug: false, json: false }, (text) => (printed += text));
    expect(plan).toBeUndefined();
    return JSON.parse(printed) as Record<string, unknown>;
  }

  it('prints the plan with the formats asked for', async () => {
    const plan = await dryRun('qcow2, raw,qcow2');
    expect(plan.formats).toEqual(['qcow2', 'raw']);
    expect(plan.artifacts).toMatchObject({ qcow2: 'host_1.0.0.qcow2', raw: 'host_1.0.0.raw' });
  });

  it('lists the host’s installed size and its largest packages with why each is there, beside the package names', async () => {
    const entry = (name: string, installedSize: number | undefined, neededBy?: string[]) => ({
      name, version: '1.0-1', architecture: 'amd64', filename: `pool/main/${name}_1.0-1_amd64.deb`, size: 100,
      sha256: 'a'.repeat(64), source: name, sourceVersion: '1.0-1', essential: false, ...(installedSize === undefined ? {} : { installedSize }), ...(neededBy ? { neededBy } : {}),
    });
    const host = Array.from({ length: 20 }, (_, i) => entry(`lib${String(i).padStart(2, '0')}`, (i + 1) * 1024, ['packages', 'app 1.0-1']));
    host.push(entry('app', 1048576, ['packages']), entry('old', undefined));
    const lockPath = join(dir, 'host.lock.json');
    writeFileSync(lockPath, JSON.stringify({ ...JSON.parse(readFileSync(lockPath, 'utf8')), sets: { host, initrd: [] } }));
    const plan = await dryRun('raw');
    expect((plan.packages as { host: string[] }).host).toContain('app 1.0-1');
    const sizes = (plan.sizes as { host: { packages: number; installedSize: number; unknown: number; largest: Array<{ name: string; installedSize: number; neededBy: string[] }> } }).host;
    expect(sizes).toMatchObject({ packages: 22, unknown: 1, installedSize: 1048576 + (210 * 1024) });
    expect(sizes.largest).toHaveLength(15);
    expect(sizes.largest[0]).toEqual({ name: 'app', version: '1.0-1', installedSize: 1048576, neededBy: ['packages'] });
    expect(sizes.largest[1]).toEqual({ name: 'lib19', version: '1.0-1', installedSize: 20 * 1024, neededBy: ['packages', 'app 1.0-1'] });
    expect(sizes.largest.at(-1)!.name).toBe('lib06');
  });

  it('rejects an unknown format', async () => {
    await expect(dryRun('vmdk')).rejects.toThrow(UsageError);
    await expect(dryRun('vmdk')).rejects.toThrow('--format: unknown format vmdk');
  });

  // parseFormats checks `f in FORMATS`, which is true for every Object.prototype key: `--format
  // toString` is accepted and the plan names a disk "host_1.0.0.undefined".
  it('rejects a format that is a property of every object', async () => {
    await expect(dryRun('toString')).rejects.toThrow(UsageError);
  });
});
