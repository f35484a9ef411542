/** Builds that cannot succeed say why in one line with a hint, and leave no output behind. */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** The build fails with this message, and so does its dry run (unless only making the filesystems can tell). */
async function expectBuildFailure(recipe: string, out: string, exitCode: number, message: RegExp, { dryRunToo = true } = {}): Promise<string> {
  if (dryRunToo) {
    const dryRun = await slipway(['build', recipe, '--out', out, '--cache', SHARED_CACHE, '--dry-run']);
    expect(dryRun.exitCode, dryRun.stderr).toBe(exitCode);
    expect(errorLines(dryRun).lines[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
  }
  const result = await slipway(['build', recipe, '--out', out, '--cache', SHARED_CACHE, '--format', 'raw']);
  const { lines, hint } = errorLines(result);
  expect(result.exitCode, result.stderr).toBe(exitCode);
  expect(lines[0]).toMatch(message);
  expect(hint).toMatch(/^hint: \S/);
  // Printed once: the failed step's line names the step, not the error again.
  expect(result.stderr.split('\n').filter((line) => message.test(line))).toHaveLength(1);
  expect(result.stderr.split('\n').filter((line) => line.startsWith('hint: '))).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(leftovers(out)).toEqual([]);
  return result.stderr;
}

describe('slipway build refuses what cannot work', () => {
  it('a root filesystem larger than its slot', async () => {
    const recipe = hostVariant((r) => (r.disk.slotSize = '48MiB'));
    await expectBuildFailure(recipe, join(tempDir('out'), 'out'), 11, /^slipway: the root filesystem \([\d.]+ MiB\) does not fit its slot \([\d.]+ MiB/, { dryRunToo: false });
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

  it('an --out that is a symlink, a file, or below /proc (where it once spun forever, deaf to signals)', async () => {
    const dir = tempDir('out');
    const target = join(dir, 'real');
    mkdirSync(target);
    symlinkSync(target, join(dir, 'link'));
    writeFileSync(join(dir, 'file'), 'keep');
    const recipe = hostVariant(() => {});
    for (const [out, problem] of [[join(dir, 'link'), 'it is a symlink; give the folder it points to'], [join(dir, 'file'), 'it is not a folder'], ['/proc/slipway-out', 'ENOENT']] as const) {
      const result = await slipway(['build', recipe, '--out', out, '--cache', SHARED_CACHE]);
      expect(result.exitCode).toBe(10);
      expect(errorLines(result).lines[0]).toContain(`slipway: cannot write to ${out}: ${problem}`);
    }
    expect(readdirSync(target)).toEqual([]);
    expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('keep');
  });

  it('an unknown output format', async () => {
    const result = await slipway(['build', join(REPO_ROOT, 'recipes/host.yaml'), '--format', 'vdi']);
    expect(result.exitCode).toBe(2);
    expect(errorLines(result).lines[0]).toBe('slipway: --format: unknown format vdi');
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

  it('takes firmware from non-free-firmware when the recipe lists the component and the package', async () => {
    const recipe = hostVariant((r) => {
      r.distribution.components = ['main', 'non-free-firmware'];
      r.packages.push('firmware-realtek');
      r.kernel.moduleSets = ['network'];
    });
    const result = await slipway(['build', recipe, '--out', join(tempDir('out'), 'out'), '--dry-run', '--cache', SHARED_CACHE]);
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as { packages: { host: string[] }; kernel: { modules: string[] } };
    expect(plan.packages.host.some((p) => p.startsWith('firmware-realtek '))).toBe(true);
    expect(plan.kernel.modules).toContain('r8169');
  });

  it.each([
    ['a unit hooked to a path instead of a unit', (r: Record<string, any>) => {
      r.units = [{ name: 'a.service', content: '[Unit]\nDescription=a\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=../../x\n' }];
    }, /^slipway: units \(a\.service\): unit a\.service says WantedBy=\.\.\/\.\.\/x, which is not a unit name$/],
    ['a file whose source is missing', (r: Record<string, any>) => {
      r.files = [...(r.files ?? []), { path: '/etc/motd', source: 'motd.txt' }];
    }, /^slipway: files: source: cannot read motd\.txt: ENOENT/],
    ['a container whose image archive is missing', (r: Record<string, any>) => {
      r.containers = [{ name: 'app', image: { archive: 'app.oci.tar' } }];
    }, /^slipway: containers \(app\): image archive: cannot read app\.oci\.tar: ENOENT/],
    ['a file owned by a user the image does not have', (r: Record<string, any>) => {
      r.files.push({ path: '/etc/x', content: 'x', owner: 'nobody-here' });
    }, /^slipway: files\[1\]\.owner: unknown user "nobody-here"$/],
    ['a user in a group the image does not have', (r: Record<string, any>) => {
      r.users = [{ name: 'alice', groups: ['no-such-group'] }];
    }, /^slipway: users: alice: unknown group "no-such-group"$/],
    ['a user named as a system user of a package', (r: Record<string, any>) => {
      r.users = [{ name: 'messagebus' }];
    }, /^slipway: users: messagebus clashes with a system user of the same name$/],
    ['a unit to enable that no package ships', (r: Record<string, any>) => {
      r.services = { enable: ['no-such.service'] };
    }, /^slipway: services\.enable: unit no-such\.service is not in the image$/],
  ])('fails where the build would: %s', async (_, change, message) => {
    const recipe = hostVariant(change);
    const out = join(tempDir('out'), 'out');
    const result = await slipway(['build', recipe, '--out', out, '--dry-run', '--cache', SHARED_CACHE]);
    expect(result.exitCode, result.stderr).not.toBe(0);
    expect(result.exitCode).not.toBe(70);
    expect(errorLines(result).lines[0]).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});

describe('slipway build reads every input the recipe names before it downloads anything', () => {
  it.each([
    ['files[].source', (r: Record<string, any>) => {
      r.files = [...(r.files ?? []), { path: '/etc/motd', source: 'motd.txt' }];
    }, /^slipway: files: source: cannot read motd\.txt: ENOENT/],
    ['a container image archive', (r: Record<string, any>) => {
      r.containers = [{ name: 'app', image: { archive: 'app.oci.tar' } }];
    }, /^slipway: containers \(app\): image archive: cannot read app\.oci\.tar: ENOENT/],
    ['update.trustedRoot', (r: Record<string, any>) => {
      r.update = { url: 'http://127.0.0.1:9/repo', trustedRoot: 'repo/metadata/1.root.json' };
    }, /^slipway: update\.trustedRoot: cannot read repo\/metadata\/1\.root\.json as JSON/],
  ])('%s, with no lockfile and a mirror that does not answer', async (_, change, message) => {
    const recipe = hostVariant(change);
    const cache = tempDir('cache');
    const out = join(tempDir('out'), 'out');
    // Port 9 (discard) has no listener: anything that tried the network would fail with a network error.
    const result = await slipway(['build', recipe, '--out', out, '--cache', cache, '--mirror', 'http://127.0.0.1:9/debian']);
    expect(result.exitCode, result.stderr).toBe(3);
    const { lines } = errorLines(result);
    expect(lines[0]).toMatch(message);
    expect(result.stderr.split('\n').filter((line) => message.test(line))).toHaveLength(1);
    expect(readdirSync(cache)).toEqual([]);
    expect(existsSync(out)).toBe(false);
  });
});
