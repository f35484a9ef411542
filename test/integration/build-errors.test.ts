/** Builds that cannot succeed say why in one line with a hint, and leave no output behind. */
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { SHARED_CACHE, tempDir } from '../helpers/archive.ts';
import { REPO_ROOT, errorLines, slipway } from '../helpers/cli.ts';

/** The default host with some keys changed, in a fresh folder. */
function hostVariant(change: (recipe: Record<string, any>) => void): string {
  const recipe = parse(readFileSync(join(REPO_ROOT, 'recipes/host.yaml'), 'utf8')) as Record<string, any>;
  change(recipe);
  const dir = tempDir('variant');
  writeFileSync(join(dir, 'host.yaml'), stringify(recipe));
  return join(dir, 'host.yaml');
}

function leftovers(out: string): string[] {
  return existsSync(out) ? readdirSync(out) : [];
}

async function expectBuildFailure(recipe: string, out: string, exitCode: number, message: RegExp): Promise<string> {
  const result = await slipway(['build', recipe, '--out', out, '--cache', SHARED_CACHE, '--format', 'raw']);
  const { lines, hint } = errorLines(result);
  expect(result.exitCode, result.stderr).toBe(exitCode);
  expect(lines[0]).toMatch(message);
  expect(hint).toMatch(/^hint: \S/);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(leftovers(out)).toEqual([]);
  return result.stderr;
}

describe('slipway build refuses what cannot work', () => {
  it('a root filesystem larger than its slot', async () => {
    const recipe = hostVariant((r) => (r.disk.slotSize = '48MiB'));
    await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 11, /^slipway: the root filesystem \([\d.]+ MiB\) does not fit its slot \([\d.]+ MiB/);
  });

  it('a kernel package that is not a kernel', async () => {
    const recipe = hostVariant((r) => (r.kernel.package = 'hostname'));
    await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 11, /^slipway: kernel\.package hostname does not provide exactly one kernel/);
  });

  it('a kernel package that does not exist', async () => {
    const recipe = hostVariant((r) => (r.kernel.package = 'linux-image-no-such-flavour'));
    await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 7, /^slipway: packages: unknown package "linux-image-no-such-flavour"$/);
  });

  it('an unknown kernel module', async () => {
    const recipe = hostVariant((r) => (r.kernel.modules = ['no_such_module']));
    await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 11, /^slipway: kernel\.modules: unknown module "no_such_module" in kernel /);
  });

  it('excluding a package a kept program needs: libc6, with the chains on both sides', async () => {
    const recipe = hostVariant((r) => (r.exclude = ['libc6']));
    const out = join(tempDir('out'), 'out');
    const stderr = await expectBuildFailure(recipe, out, 3, /^slipway: kept files need what the image leaves out:$/);
    expect(stderr).toMatch(/^ {2}exclude: libc6, wanted by the Essential set → .+ → libc6, is needed by \d+ kept files:$/m);
    expect(stderr).toMatch(/^ {4}\/usr\/bin\/bash \(bash, from the Essential set → bash\) needs .*libc\.so\.6/m);
  });

  it('excluding runc, which containerd\'s shim runs', async () => {
    const recipe = hostVariant((r) => {
      r.packages = r.packages.filter((p: string) => p !== 'runc');
      r.exclude = ['runc'];
    });
    const stderr = await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 3, /^slipway: kept files need what the image leaves out:$/);
    expect(stderr).toContain('  exclude: runc, wanted by packages → containerd');
    expect(stderr).toMatch(/\/usr\/bin\/containerd-shim-runc-v2 \(containerd, from packages → containerd\) needs \/usr\/sbin\/runc/);
  });

  it('excluding a package the recipe also asks for', async () => {
    const recipe = hostVariant((r) => (r.exclude = ['runc']));
    await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 8, /^slipway: exclude: runc is also what the image is asked to carry/);
  });

  it('an --out that cannot be written', async () => {
    const dir = tempDir('out');
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const recipe = hostVariant(() => {});
    copyFileSync(join(REPO_ROOT, 'recipes/host.yaml'), join(dir, 'host.yaml'));
    const result = await slipway(['build', recipe, '--out', join(file, 'out'), '--cache', SHARED_CACHE]);
    expect(result.exitCode).toBe(10);
    expect(errorLines(result).lines[0]).toMatch(/^slipway: cannot write to .*a-file\/out: /);
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });

  it('an unknown output format', async () => {
    const result = await slipway(['build', join(REPO_ROOT, 'recipes/host.yaml'), '--format', 'vmdk']);
    expect(result.exitCode).toBe(2);
    expect(errorLines(result).lines[0]).toBe('slipway: --format: unknown format vmdk');
  });
});

describe('slipway build --dry-run', () => {
  it('prints the plan as data and touches nothing', async () => {
    const recipe = hostVariant(() => {});
    const out = join(tempDir('out'), 'out');
    const result = await slipway(['build', recipe, '--out', out, '--version', '2.0.0', '--dry-run', '--cache', SHARED_CACHE]);
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout) as { version: string; artifacts: Record<string, string>; packages: { host: string[] }; disk: { slotSize: number } };
    expect(plan.version).toBe('2.0.0');
    expect(plan.artifacts.raw).toBe('host_2.0.0.raw');
    expect(plan.packages.host.some((p) => p.startsWith('systemd '))).toBe(true);
    expect(plan.disk.slotSize).toBe(768 * 1024 * 1024);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(recipe, '..'))).toEqual(['host.yaml']); // not even a lockfile
  });
});
