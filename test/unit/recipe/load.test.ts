import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecipeError } from '../../../src/errors.ts';
import { formatIssuePath, loadRecipe, parseRecipe, readRecipeFile } from '../../../src/recipe/load.ts';
import type { Recipe } from '../../../src/recipe/schema.ts';

const MiB = 1024 ** 2;

function valid(text: string): Recipe {
  const result = parseRecipe(text, 'r.yaml');
  if (!result.ok) throw new Error(`expected a valid recipe, got:\n${result.error.message}`);
  return result.value;
}

/** The problem lines of an invalid recipe. */
function problems(text: string): string[] {
  const result = parseRecipe(text, 'r.yaml');
  if (result.ok) throw new Error('expected an invalid recipe');
  expect(result.error).toBeInstanceOf(RecipeError);
  return result.error.message.split('\n');
}

describe('formatIssuePath', () => {
  it.each([
    [['containers', 1, 'image'], 'containers[1].image'],
    [['disk', 'slotSize'], 'disk.slotSize'],
    [['files', 0], 'files[0]'],
    [['a', 0, 1], 'a[0][1]'],
    [[2, 'name'], '[2].name'],
    [[], '(top level)'],
  ] as [PropertyKey[], string][])('%j → %s', (path, text) => {
    expect(formatIssuePath(path)).toBe(text);
  });
});

describe('parseRecipe', () => {
  it('fills in every default for a minimal recipe', () => {
    expect(valid('name: tiny\nversion: "1"\n')).toEqual({
      name: 'tiny',
      version: '1',
      architecture: 'amd64',
      distribution: { suite: 'bookworm', components: ['main'], base: 'essential' },
      kernel: { package: 'linux-image-amd64', modules: [], moduleSets: [], cmdline: ['console=ttyS0'] },
      packages: [],
      exclude: [],
      remove: [],
      keep: { docs: false, locales: [] },
      files: [],
      users: [],
      units: [],
      services: { enable: [], disable: [], mask: [] },
      containers: [],
      disk: { espSize: 64 * MiB, slotSize: 768 * MiB, dataSize: 256 * MiB, encryption: 'none' },
      platform: { name: 'auto' },
      health: { timeoutSeconds: 120 },
      debug: { shell: false },
    });
  });

  it('names an unknown key and where it is', () => {
    const text = 'name: x\nversion: 1.0.0\ncontainers:\n  - name: web\n    imag: {ref: nginx}\n';
    expect(problems(text)).toContain('r.yaml: containers[0]: unknown key "imag"');
  });

  it('reports every problem at once, each with its path', () => {
    const text = [
      'name: Bad_Name',
      'version: 1.0.0',
      'colour: blue',
      'disk: {slotSize: 2GB}',
      'distribution: {suite: bookworm, mirorr: "http://mirror.example/debian"}',
    ].join('\n');
    expect(problems(text).sort()).toEqual([
      'r.yaml: (top level): unknown key "colour"',
      'r.yaml: disk.slotSize: expected a size such as "512MiB" or "2G", got "2GB"',
      'r.yaml: distribution: unknown key "mirorr"',
      'r.yaml: name: use lower-case letters, digits and dashes, starting with a letter or digit',
    ]);
  });

  it('says which required fields are missing from an empty file', () => {
    expect(problems('')).toEqual([
      'r.yaml: name: Invalid input: expected string, received undefined',
      'r.yaml: version: Invalid input: expected string, received undefined',
    ]);
  });

  it('names the line and column of a YAML syntax error', () => {
    const result = parseRecipe('name: x\nversion: 1.0.0\nkernel:\n  cmdline: [a\n', 'r.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toMatch(/^r\.yaml: line 5, column 1: Flow sequence/);
    expect(result.error.hint).toBe('fix the YAML syntax at the place named');
  });

  it('refuses a key given twice, naming its place', () => {
    expect(problems('name: x\nversion: 1.0.0\nname: y\n')).toEqual(['r.yaml: line 3, column 1: Map keys must be unique']);
  });
});

describe('loadRecipe', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('returns the recipe with its absolute path and folder', () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-unit-recipe-'));
    const file = join(dir, 'r.yaml');
    writeFileSync(file, 'name: x\nversion: 2.0.0\n');
    const result = loadRecipe(file);
    expect(result.ok && result.value.path).toBe(file);
    expect(result.ok && result.value.dir).toBe(dir);
    expect(result.ok && result.value.recipe.version).toBe('2.0.0');
  });

  it('reports a file that cannot be read', () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-unit-recipe-'));
    const result = loadRecipe(join(dir, 'missing.yaml'));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.message).toMatch(/^cannot read recipe .*missing\.yaml: ENOENT/);
  });

  it('accepts the shipped recipes/host.yaml', () => {
    const result = loadRecipe(fileURLToPath(new URL('../../../recipes/host.yaml', import.meta.url)));
    if (!result.ok) throw new Error(result.error.message);
    const { recipe } = result.value;
    expect(recipe.name).toBe('host');
    expect(recipe.version).toBe('1.0.0');
    expect(recipe.distribution).toEqual({ suite: 'bookworm', components: ['main'], base: 'essential' });
    // The design card's host: systemd, containerd and runc, with the updater's Node runtime.
    expect(recipe.packages).toEqual(expect.arrayContaining(['systemd', 'containerd', 'runc', 'iptables', 'ca-certificates', 'nodejs']));
    expect(recipe.containers.map((c) => c.name)).toEqual(['web']);
    expect(recipe.containers[0]!.image).toEqual({ packages: ['busybox-static'] });
    expect(recipe.containers[0]!.restart).toBe('always');
    expect(recipe.disk).toEqual({ espSize: 64 * MiB, slotSize: 768 * MiB, dataSize: 256 * MiB, encryption: 'none' });
    expect(recipe.supplier).toBe('Organization: the slipway project');
  });
});

describe('readRecipeFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-unit-recipe-file-'));
    mkdirSync(join(dir, 'recipe', 'files'), { recursive: true });
    writeFileSync(join(dir, 'recipe', 'files', 'motd'), 'hello\n');
    writeFileSync(join(dir, 'secret'), 'outside\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const loaded = () => ({ recipe: {} as never, path: join(dir, 'recipe', 'host.yaml'), dir: join(dir, 'recipe') });

  it('reads a file inside the recipe\'s folder, through a symlink that stays inside', () => {
    symlinkSync('motd', join(dir, 'recipe', 'files', 'alias'));
    expect(readRecipeFile(loaded(), 'files/alias', 'files: source').toString()).toBe('hello\n');
  });

  it('refuses a symlink that leads out of the folder, naming where it leads', () => {
    symlinkSync(join(dir, 'secret'), join(dir, 'recipe', 'files', 'out'));
    expect(() => readRecipeFile(loaded(), 'files/out', 'files: source')).toThrow(
      `files: source: files/out leads outside the recipe's folder (to ${realpathSync(join(dir, 'secret'))})`,
    );
  });

  it('refuses what is not a regular file (a FIFO would block the build) and what is not there', () => {
    expect(() => readRecipeFile(loaded(), 'files', 'files: source')).toThrow(/files: source: files is not a regular file/);
    expect(() => readRecipeFile(loaded(), 'files/none', 'files: source')).toThrow(/files: source: cannot read files\/none: ENOENT/);
  });
});

describe('parseRecipe and hostile YAML', () => {
  const problem = (text: string) => {
    const result = parseRecipe(text, 'r.yaml');
    if (result.ok) throw new Error('parsed');
    return result.error.message;
  };

  it('refuses an alias whose anchor is not defined, as input, not as an internal error', () => {
    expect(problem('name: &a x\nversion: *b\n')).toBe('r.yaml: Unresolved alias (the anchor must be set before the alias): b');
  });

  it('stops a billion laughs early, at a bounded cost', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const before = process.memoryUsage().rss;
    expect(problem(`${lines.join('\n')}\nname: x\nversion: "1"\n`)).toMatch(/^r\.yaml: Excessive alias count/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * MiB);
  });

  it('refuses a document over 16 MiB before parsing it', () => {
    expect(problem(`name: x\nversion: "1"\n#${'x'.repeat(16 * MiB)}\n`)).toBe(`r.yaml: ${16 * MiB + 23} bytes, more than the 16 MiB a document may have`);
  });

  it('refuses a document of more than 100,000 keys and values before parsing it, and lists few of many unknown keys', () => {
    const keys = Array.from({ length: 120_000 }, (_, i) => `k${i}: 1`).join('\n');
    expect(problem(`name: x\nversion: "1"\n${keys}\n`)).toBe('r.yaml: more than 100000 keys and values, the most a document may have');
    const many = Array.from({ length: 5_000 }, (_, i) => `k${i}: 1`).join('\n');
    const unknown = problems(`name: x\nversion: "1"\n${many}\nname: y\n`);
    expect(unknown).toEqual(['r.yaml: line 5003, column 1: Map keys must be unique']);
    const listed = problems(`name: x\nversion: "1"\n${many}\n`);
    expect(listed).toEqual(['r.yaml: (top level): unknown keys "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9" and 4990 more']);
  });

  it('refuses an empty kernel package by name', () => {
    expect(problem('name: x\nversion: "1"\nkernel: { package: "" }\n')).toMatch(/^r\.yaml: kernel\.package: expected a Debian package name/);
  });
});
