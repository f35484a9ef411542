import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureUnits, parseInstall, parsePresets, readPresets, UnitEnabler } from '../../../../src/assemble/configure/units.ts';
import { Tree } from '../../../../src/assemble/tree.ts';
import { BuildError } from '../../../../src/errors.ts';

const LIB = 'usr/lib/systemd/system';
const ETC = 'etc/systemd/system';

describe('parseInstall', () => {
  it('reads only the [Install] section, values split at spaces, repeated keys added up', () => {
    const unit = [
      '[Unit]',
      'WantedBy=not-this.target',
      '[Install]',
      '# WantedBy=commented.target',
      'WantedBy=multi-user.target  graphical.target',
      'WantedBy=sockets.target',
      'RequiredBy=network-online.target',
      'Alias=dbus-org.freedesktop.resolve1.service',
      'Also=systemd-resolved-monitor.socket',
      'DefaultInstance=tty1',
      '',
      '[Service]',
      'ExecStart=/bin/true',
    ].join('\n');
    expect(parseInstall(unit)).toEqual({
      wantedBy: ['multi-user.target', 'graphical.target', 'sockets.target'],
      requiredBy: ['network-online.target'],
      alias: ['dbus-org.freedesktop.resolve1.service'],
      also: ['systemd-resolved-monitor.socket'],
      defaultInstance: 'tty1',
    });
  });

  it('is undefined for a static unit', () => {
    expect(parseInstall('[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n')).toBeUndefined();
    expect(parseInstall('[Install]\n# nothing\n')).toBeUndefined();
  });
});

describe('parsePresets', () => {
  it('turns globs into patterns and keeps instances', () => {
    const rules = parsePresets('# comment\nenable systemd-*.service\n\ndisable *\nenable getty@.service tty1 tty2\nbogus x.service\n');
    expect(rules.map((r) => r.action)).toEqual(['enable', 'disable', 'enable']);
    expect(rules[0]!.pattern.test('systemd-networkd.service')).toBe(true);
    expect(rules[0]!.pattern.test('systemd-networkd.socket')).toBe(false);
    expect(rules[0]!.pattern.test('xsystemd-networkd.service')).toBe(false);
    expect(rules[1]!.pattern.test('anything.timer')).toBe(true);
    expect(rules[2]!.instances).toEqual(['tty1', 'tty2']);
  });

  it('matches ? as one character and a dot only as a dot', () => {
    const [rule] = parsePresets('enable a?c.service\n');
    expect(rule!.pattern.test('abc.service')).toBe(true);
    expect(rule!.pattern.test('abbc.service')).toBe(false);
    expect(rule!.pattern.test('abcXservice')).toBe(false);
  });
});

describe('configureUnits', () => {
  let root: string;
  let tree: Tree;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'slipway-unit-units-'));
    tree = new Tree(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const link = (path: string) => readlinkSync(join(root, path));
  const none = { enable: [], disable: [], mask: [] };

  function unit(name: string, install: string): void {
    tree.writeFile(`${LIB}/${name}`, `[Unit]\nDescription=${name}\n\n[Service]\nExecStart=/bin/true\n\n${install}`);
  }

  it('enables units as their [Install] section says: WantedBy, RequiredBy, Alias', () => {
    unit('ssh.service', '[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n');
    unit('db.service', '[Install]\nRequiredBy=app.target\n');
    const enabled = configureUnits(tree, none);
    expect(enabled).toEqual(['db.service', 'ssh.service']);
    expect(link(`${ETC}/multi-user.target.wants/ssh.service`)).toBe(`/${LIB}/ssh.service`);
    expect(link(`${ETC}/sshd.service`)).toBe(`/${LIB}/ssh.service`);
    expect(link(`${ETC}/app.target.requires/db.service`)).toBe(`/${LIB}/db.service`);
  });

  it('links default.target to multi-user.target', () => {
    configureUnits(tree, none);
    expect(link(`${ETC}/default.target`)).toBe('/usr/lib/systemd/system/multi-user.target');
  });

  it('enables a template at its DefaultInstance, or at the preset instances', () => {
    unit('getty@.service', '[Install]\nWantedBy=getty.target\nDefaultInstance=tty1\n');
    unit('serial@.service', '[Install]\nWantedBy=getty.target\n');
    unit('worker@.service', '[Install]\nWantedBy=multi-user.target\n');
    tree.writeFile('usr/lib/systemd/system-preset/90-test.preset', 'enable worker@.service a b\n');
    const enabled = configureUnits(tree, none);
    expect(link(`${ETC}/getty.target.wants/getty@tty1.service`)).toBe(`/${LIB}/getty@.service`);
    expect(link(`${ETC}/multi-user.target.wants/worker@a.service`)).toBe(`/${LIB}/worker@.service`);
    expect(link(`${ETC}/multi-user.target.wants/worker@b.service`)).toBe(`/${LIB}/worker@.service`);
    expect(tree.list(`${ETC}/getty.target.wants`)).toEqual([`${ETC}/getty.target.wants/getty@tty1.service`]);
    expect(enabled).toEqual(['getty@.service', 'worker@a.service', 'worker@b.service']);
  });

  it('follows presets, first match wins, and enables what no preset names', () => {
    unit('a.service', '[Install]\nWantedBy=multi-user.target\n');
    unit('b.service', '[Install]\nWantedBy=multi-user.target\n');
    unit('c.service', '[Install]\nWantedBy=multi-user.target\n');
    tree.writeFile('usr/lib/systemd/system-preset/10-first.preset', 'enable a.service\ndisable b.service\n');
    tree.writeFile('usr/lib/systemd/system-preset/20-later.preset', 'disable a.service\nenable b.service\ndisable c.*\n');
    expect(configureUnits(tree, none)).toEqual(['a.service']);
    expect(tree.has(`${ETC}/multi-user.target.wants/b.service`)).toBe(false);
  });

  it('lets a preset file in /etc hide the one of the same name in /usr', () => {
    tree.writeFile('usr/lib/systemd/system-preset/50-x.preset', 'disable *\n');
    tree.writeFile('etc/systemd/system-preset/50-x.preset', 'enable a.service\n');
    tree.writeFile('usr/lib/systemd/system-preset/60-y.preset', 'disable b.service\n');
    const rules = readPresets(tree);
    expect(rules.map((r) => [r.action, r.pattern.source])).toEqual([['enable', '^a\\.service$'], ['disable', '^b\\.service$']]);
  });

  it('lets the recipe enable what a preset disables, and disable or mask the rest', () => {
    unit('a.service', '[Install]\nWantedBy=multi-user.target\n');
    unit('b.service', '[Install]\nWantedBy=multi-user.target\n');
    unit('c.service', '[Install]\nWantedBy=multi-user.target\n');
    tree.writeFile('usr/lib/systemd/system-preset/99-default.preset', 'disable a.service\n');
    const enabled = configureUnits(tree, { enable: ['a.service'], disable: ['b.service'], mask: ['c.service'] });
    expect(enabled).toEqual(['a.service']);
    expect(link(`${ETC}/c.service`)).toBe('/dev/null');
    expect(tree.has(`${ETC}/multi-user.target.wants/b.service`)).toBe(false);
    expect(tree.has(`${ETC}/multi-user.target.wants/c.service`)).toBe(false);
  });

  it('enables the units named by Also=', () => {
    unit('resolved.service', '[Install]\nWantedBy=multi-user.target\nAlso=resolved-monitor.socket\n');
    tree.writeFile(`${LIB}/resolved-monitor.socket`, '[Socket]\nListenStream=/run/x\n[Install]\nWantedBy=sockets.target\n');
    tree.writeFile('usr/lib/systemd/system-preset/90-x.preset', 'disable resolved-monitor.socket\n');
    expect(configureUnits(tree, none)).toEqual(['resolved.service', 'resolved-monitor.socket']);
    expect(link(`${ETC}/sockets.target.wants/resolved-monitor.socket`)).toBe(`/${LIB}/resolved-monitor.socket`);
  });

  it('enables an instance named by the recipe from its template', () => {
    unit('dhcp@.service', '[Install]\nWantedBy=multi-user.target\n');
    expect(configureUnits(tree, { ...none, enable: ['dhcp@eth0.service'] })).toEqual(['dhcp@eth0.service']);
    expect(link(`${ETC}/multi-user.target.wants/dhcp@eth0.service`)).toBe(`/${LIB}/dhcp@.service`);
  });

  // An instance name may contain dots (a VLAN: eth0.101); systemd takes the suffix after the last
  // dot, but unitFile() cuts at the first and looks for dhcp@.101.service.
  it('finds the template of an instance whose name has a dot', () => {
    unit('dhcp@.service', '[Install]\nWantedBy=multi-user.target\n');
    expect(configureUnits(tree, { ...none, enable: ['dhcp@eth0.101.service'] })).toEqual(['dhcp@eth0.101.service']);
  });

  it('fails on a recipe unit that is not in the image', () => {
    expect(() => configureUnits(tree, { ...none, enable: ['nope.service'] })).toThrow(BuildError);
    expect(() => configureUnits(tree, { ...none, enable: ['nope.service'] })).toThrow('services.enable: unit nope.service is not in the image');
  });
});

describe('UnitEnabler and hostile [Install] sections', () => {
  it('refuses a WantedBy= that is not a unit name, before any link is made', () => {
    const root = mkdtempSync(join(tmpdir(), 'slipway-unit-install-'));
    try {
      const tree = new Tree(root);
      tree.writeFile('usr/lib/systemd/system/app.service', '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=../../../../tmp/PWNED\n');
      expect(() => new UnitEnabler(tree).enable('app.service', 'services.enable')).toThrow(
        'services.enable: unit app.service says WantedBy=../../../../tmp/PWNED, which is not a unit name',
      );
      expect(tree.walk('etc')).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
