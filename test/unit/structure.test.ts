/**
 * The layers hold: dependency-cruiser checks every import of src, qemu and bin against the rules in
 * .dependency-cruiser.cjs, and the rules themselves are shown to catch what they forbid on a
 * fixture tree made in a temporary folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IConfiguration } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const config = createRequire(import.meta.url)('../../.dependency-cruiser.cjs') as IConfiguration;

async function violations(baseDir: string, paths: string[]): Promise<string[]> {
  const result = await cruise(paths, { ...config.options, baseDir, validate: true, ruleSet: { forbidden: config.forbidden } });
  const output = result.output as ICruiseResult;
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle ? ` (${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`);
}

const fixtures: string[] = [];
afterAll(() => {
  for (const dir of fixtures) rmSync(dir, { recursive: true, force: true });
});

function fixtureTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-structure-'));
  fixtures.push(dir);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('the layers of the code', () => {
  it('hold in src, qemu and bin: no forbidden import and no cycle', async () => {
    expect(await violations(ROOT, ['src', 'qemu', 'bin'])).toEqual([]);
  }, 120_000);

  it('are rules that catch a forbidden import, a cycle, and the CLI imported from below', async () => {
    const dir = fixtureTree({
      'src/assemble/archive/version.ts': 'export const order = 1;\n',
      'src/updater/agent/main.ts': "import { order } from '../../assemble/archive/version.ts';\nexport const x = order;\n",
      'src/shared/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
      'src/shared/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
      'src/cli/progress.ts': 'export interface Step { title: string }\n',
      'src/pipeline/build.ts': "import type { Step } from '../cli/progress.ts';\nexport const steps: Step[] = [];\n",
      'src/recipe/schema.ts': "import { x } from '../updater/agent/main.ts';\nexport const y = x;\n",
      'src/hostconfig/deliver.ts': "import type { Q } from '../../qemu/args.ts';\nexport type R = Q;\n",
      'qemu/args.ts': 'export type Q = string;\n',
    });
    const found = await violations(dir, ['src', 'qemu']);
    expect(found).toEqual(expect.arrayContaining([
      'updater-stands-alone: src/updater/agent/main.ts -> src/assemble/archive/version.ts',
      expect.stringMatching(/^no-cycles: src\/shared\/(a|b)\.ts -> src\/shared\/(a|b)\.ts/),
      'cli-is-the-top: src/pipeline/build.ts -> src/cli/progress.ts',
      'recipe-over-shared: src/recipe/schema.ts -> src/updater/agent/main.ts',
      'hostconfig-stands-alone: src/hostconfig/deliver.ts -> qemu/args.ts',
    ]));
  }, 120_000);
});
