/** The real Debian archive the tests read, and a cache shared by the tests of one run. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { chooseMirror } from '../../src/assemble/archive/mirror.ts';
import { DEBIAN_KEYRING } from '../../src/assemble/archive/release.ts';
import type { ArchiveSource } from '../../src/assemble/archive/open.ts';
import type { RecipeInput } from '../../src/recipe/schema.ts';

export const SUITE = 'bookworm';

/** The mirror the build host's apt uses (or SLIPWAY_MIRROR); no host name is written into tests. */
export function testMirror(): string {
  return chooseMirror({ suite: SUITE });
}

export function testSource(mirror = testMirror()): ArchiveSource {
  return { mirror, suite: SUITE, components: ['main'], architecture: 'amd64', keyring: DEBIAN_KEYRING };
}

/** Package indices are large: the tests of one machine share one cache of them. */
export const SHARED_CACHE = join(tmpdir(), 'slipway-test-cache');

const made: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `slipway-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Called after each test file (test/setup.ts). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes a recipe into a fresh folder and returns its path. */
export function writeRecipe(recipe: RecipeInput | string, dir = tempDir('recipe'), name = 'test.yaml'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof recipe === 'string' ? recipe : stringify(recipe));
  return path;
}
