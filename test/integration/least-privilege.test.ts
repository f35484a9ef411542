/**
 * What a host runs with, read from a built root by the tools that define it: systemd-analyze
 * (offline, on the image's units) and unsquashfs. The default host that follows an update
 * repository ships every unit slipway has: its own units are sandboxed to an exposure of 5 or
 * lower, or say in a comment why not; every unit the image ships passes `systemd-analyze verify`;
 * the set-uid programs for password logins are gone; sshd forwards no X11.
 */
import { readFileSync, readdirSync, readlinkSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/archive.ts';
import { buildVersion, openLab, type UpdateLab } from '../helpers/update-lab.ts';

const UNITS = 'usr/lib/systemd/system';
const UNIT_KINDS = /\.(service|socket|timer|mount|automount|target|path|slice|swap)$/;
let lab: UpdateLab;
let root: string;

beforeAll(async () => {
  lab = await openLab();
  const out = await buildVersion(lab, '1.0.0');
  root = join(tempDir('root'), 'root');
  await execa('unsquashfs', ['-q', '-no-xattrs', '-d', root, join(out, 'host_1.0.0.root.squashfs')]);
}, 600_000);

afterAll(async () => {
  await lab?.server.close();
});

/** systemd-analyze's exposure for a unit of the image, and its verdict against 5 (which its --threshold writes as 50). */
async function exposure(unit: string): Promise<{ level: number; within: boolean }> {
  const result = await execa('systemd-analyze', ['security', '--offline=true', `--root=${root}`, '--threshold=50', '--no-pager', unit], { reject: false });
  const level = /Overall exposure level for \S+: ([0-9.]+)/.exec(result.stdout)?.[1];
  if (level === undefined) throw new Error(`no exposure for ${unit}:\n${result.stdout}\n${result.stderr}`);
  return { level: Number(level), within: result.exitCode === 0 };
}

describe('the units of a host', () => {
  it("has each of slipway's own units sandboxed to an exposure of 5 or lower, or saying why not", async () => {
    const ours = readdirSync(join(root, UNITS)).filter((name) => /^(slipway-.*|containerd)\.service$/.test(name));
    expect(ours).toEqual(expect.arrayContaining(['slipway-health.service', 'slipway-update.service', 'slipway-container-web.service', 'containerd.service']));
    const levels: Record<string, number> = {};
    for (const unit of ours) {
      const { level, within } = await exposure(unit);
      levels[unit] = level;
      const text = readFileSync(join(root, UNITS, unit), 'utf8');
      if (!within) expect(text, `${unit} (exposure ${level})`).toMatch(/^# Not sandboxed: \S/m);
      else expect(level, unit).toBeLessThanOrEqual(5);
    }
    // The units that run slipway's own programs are all within it.
    for (const unit of ['slipway-health.service', 'slipway-health-failed.service', 'slipway-ssh-keygen.service', 'slipway-update.service', 'slipway-update-boot.service', 'slipway-update-blessed.service']) {
      expect(levels[unit], unit).toBeLessThanOrEqual(5);
    }
  });

  it('ships only units that systemd-analyze verify passes', async () => {
    const dir = join(root, UNITS);
    const units = readdirSync(dir).filter((name) => {
      if (!UNIT_KINDS.test(name)) return false;
      const stat = lstatSync(join(dir, name));
      // A link to /dev/null is a mask, not a unit.
      return !(stat.isSymbolicLink() && readlinkSync(join(dir, name)) === '/dev/null');
    });
    expect(units.length).toBeGreaterThan(100);
    const result = await execa('systemd-analyze', ['verify', `--root=${root}`, '--man=no', ...units.map((unit) => `/${UNITS}/${unit}`)], { reject: false });
    expect(result.stderr + result.stdout).toBe('');
    expect(result.exitCode).toBe(0);
  });
});

describe('what a host does not have', () => {
  it('has no set-uid su, passwd, chsh, chfn, newgrp or gpasswd, and no other set-uid or set-gid program than mount, umount and PAM’s unix_chkpwd', async () => {
    const { stdout } = await execa('find', [root, '-xdev', '-type', 'f', '(', '-perm', '-4000', '-o', '-perm', '-2000', ')']);
    const privileged = stdout.split('\n').filter(Boolean).map((path) => path.slice(root.length)).sort();
    expect(privileged).toEqual(['/usr/bin/mount', '/usr/bin/umount', '/usr/sbin/unix_chkpwd']);
    for (const program of ['su', 'passwd', 'chsh', 'chfn', 'newgrp', 'gpasswd']) expect(() => lstatSync(join(root, 'usr/bin', program)), program).toThrow();
  });

  it('has sshd forward no X11, in the drop-in Debian’s sshd_config reads before its own lines', () => {
    const main = readFileSync(join(root, 'etc/ssh/sshd_config'), 'utf8').split('\n').filter((line) => /^\s*[A-Za-z]/.test(line));
    expect(main[0]).toBe('Include /etc/ssh/sshd_config.d/*.conf');
    expect(readFileSync(join(root, 'etc/ssh/sshd_config.d/slipway.conf'), 'utf8')).toMatch(/^X11Forwarding no$/m);
  });
});
