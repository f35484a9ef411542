/** The command line as a user meets it: help, schema, locking the default host, and bad input. */
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockfileSchema } from '../../src/assemble/lock.ts';
import { SHARED_CACHE, tempDir, writeRecipe } from '../helpers/archive.ts';
import { REPO_ROOT, errorLines, slipway, type CliResult } from '../helpers/cli.ts';

function expectCleanFailure(result: CliResult, exitCode: number, message: RegExp): void {
  const { lines, hint } = errorLines(result);
  expect(result.exitCode).toBe(exitCode);
  expect(lines[0]).toMatch(message);
  expect(hint).toMatch(/^hint: \S/);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

function lockfilesIn(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.includes('.lock.json'));
}

describe('slipway command line', () => {
  it('prints help naming every command', async () => {
    const result = await slipway(['--help']);
    expect(result.exitCode).toBe(0);
    for (const command of ['lock', 'fetch', 'schema', 'setup']) expect(result.stdout).toMatch(new RegExp(`\\n  ${command} `));
  });

  it('prints the recipe format as JSON Schema', async () => {
    const result = await slipway(['schema']);
    expect(result.exitCode).toBe(0);
    const schema = JSON.parse(result.stdout) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['name', 'version', 'distribution', 'kernel', 'packages', 'containers', 'disk', 'update']));
    expect(schema.additionalProperties).toBe(false);
  });

  it('rejects an unknown command and an unknown option with a hint', async () => {
    expectCleanFailure(await slipway(['bulid']), 2, /^slipway: unknown command "bulid"/);
    expectCleanFailure(await slipway(['lock', 'x.yaml', '--frobnicate']), 2, /^slipway: lock: Unknown option '--frobnicate'/);
  });

  it('locks the shipped default host against the real archive', async () => {
    const dir = tempDir('default');
    const recipe = join(dir, 'host.yaml');
    copyFileSync(join(REPO_ROOT, 'recipes/host.yaml'), recipe);
    const result = await slipway(['lock', recipe, '--cache', SHARED_CACHE, '--json']);
    expect(result.exitCode).toBe(0);
    const lock = LockfileSchema.parse(JSON.parse(readFileSync(join(dir, 'host.lock.json'), 'utf8')));
    const host = lock.sets.host!.map((pkg) => pkg.name);
    for (const name of ['systemd', 'containerd', 'runc', 'iptables', 'ca-certificates', 'nodejs', 'linux-image-amd64', 'base-files']) {
      expect(host).toContain(name);
    }
    expect(lock.sets['container:web']!.map((pkg) => pkg.name)).toEqual(['busybox-static']);
    expect(lock.distribution.codename).toBe('bookworm');
    expect(JSON.parse(result.stdout)).toMatchObject({ lockfile: join(dir, 'host.lock.json') });
  });

  describe('bad input gives one clear error and no lockfile', () => {
    const cases: Array<[string, string, number, RegExp]> = [
      ['an unknown package', 'name: x\nversion: "1"\npackages: [no-such-package-slipway]\n', 7, /^slipway: packages: unknown package "no-such-package-slipway"$/],
      [
        'a conflicting version constraint',
        'name: x\nversion: "1"\ndistribution: { base: none }\npackages: [systemd, "libsystemd0 (<< 200)"]\n',
        7,
        /^slipway: packages: libsystemd0 \(<< 200\): no such version \(the archive has .+\)$/,
      ],
      ['a YAML syntax error', 'name: x\nversion: "1"\npackages: [systemd\n', 3, /^slipway: .*test\.yaml: line \d+, column \d+: /],
      ['a schema error', 'name: x\nversion: "1"\npackage: [systemd]\n', 3, /^slipway: .*test\.yaml: \(top level\): unknown key "package"$/],
    ];
    for (const [label, text, exitCode, message] of cases) {
      it(label, async () => {
        const recipe = writeRecipe(text);
        expectCleanFailure(await slipway(['lock', recipe, '--cache', SHARED_CACHE]), exitCode, message);
        expect(lockfilesIn(dirname(recipe))).toEqual([]);
      });
    }

    it('keeps the old lockfile when a new lock fails', async () => {
      const dir = tempDir('keep');
      const recipe = writeRecipe('name: x\nversion: "1"\ndistribution: { base: none }\npackages: [hostname]\n', dir);
      expect((await slipway(['lock', recipe, '--cache', SHARED_CACHE])).exitCode).toBe(0);
      const before = readFileSync(join(dir, 'test.lock.json'), 'utf8');
      writeRecipe('name: x\nversion: "1"\ndistribution: { base: none }\npackages: [no-such-package-slipway]\n', dir);
      expect((await slipway(['lock', recipe, '--cache', SHARED_CACHE])).exitCode).toBe(7);
      expect(readFileSync(join(dir, 'test.lock.json'), 'utf8')).toBe(before);
      expect(lockfilesIn(dir)).toEqual(['test.lock.json']);
    });

    it('refuses a stale lockfile', async () => {
      const dir = tempDir('stale');
      const recipe = writeRecipe('name: x\nversion: "1"\ndistribution: { base: none }\npackages: [hostname]\n', dir);
      expect((await slipway(['lock', recipe, '--cache', SHARED_CACHE])).exitCode).toBe(0);
      writeRecipe('name: x\nversion: "1"\ndistribution: { base: none }\npackages: [hostname, dash]\n', dir);
      expectCleanFailure(await slipway(['fetch', recipe, '--cache', SHARED_CACHE]), 8, /^slipway: .*test\.lock\.json is stale/);
    });
  });

  it('names the missing file for an unreadable recipe', async () => {
    expectCleanFailure(await slipway(['lock', '/nonexistent/recipe.yaml']), 3, /^slipway: cannot read recipe \/nonexistent\/recipe\.yaml/);
    expect(existsSync('/nonexistent')).toBe(false);
  });
});
