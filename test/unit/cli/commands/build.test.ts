import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
