/**
 * One image, provisioned twice: two hosts booted from the same image with different host configs
 * get their own hostname, users, files, units and containers. One gets its config as `slipway boot
 * --config` passes it, with the plan compiled on the build host; the other gets its config with a
 * plan compiled from another config beside it, which its first boot must ignore, checking and
 * compiling the config with the image's Node instead. On both, ssh works into each with its own key
 * only; a reboot keeps all of it and the host keys (update.test shows a switch to the other slot
 * does too);
 * an Ignition config gives the host it declares; a bad config stops the boot with the message
 * `slipway config validate` prints.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FwCfgEntry } from '../../qemu/args.ts';
import { BootFailure, VirtualMachine } from '../../qemu/runner.ts';
import { configFwCfg, FW_CFG_CONFIG, FW_CFG_PLAN } from '../../src/hostconfig/deliver.ts';
import { tempDir } from '../helpers/archive.ts';
import { slipway } from '../helpers/cli.ts';
import { builtContainerArchive } from '../helpers/oci-image.ts';
import { pushArchive, startRegistry, type Registry } from '../helpers/registry.ts';
import { serveFolder } from '../helpers/static-server.ts';
import { hostKeyFingerprints, makeKeyPair, ssh, type KeyPair } from '../helpers/ssh.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

let image: string;
let registry: Registry;
let reference: string;
const machines: VirtualMachine[] = [];

beforeAll(async () => {
  ({ image } = await buildVariant(() => {}));
  registry = await startRegistry(await freePort());
  reference = `10.0.2.2:${registry.port}/slipway-test/extra:1`;
  const archive = await builtContainerArchive(image.replace(/\.raw$/, '.root.squashfs'), 'web');
  await pushArchive(archive, registry, 'slipway-test/extra:1');
});

afterAll(async () => {
  for (const machine of machines) await machine.dispose();
  await registry?.stop();
});

function writeConfig(name: string, config: unknown, format: 'yaml' | 'json' = 'yaml'): string {
  const file = join(tempDir('config'), `${name}.${format === 'json' ? 'json' : 'yaml'}`);
  writeFileSync(file, format === 'json' ? JSON.stringify(config, null, 2) : stringify(config));
  return file;
}

/** A oneshot unit that stays active once it ran: a host config enables it. */
const MARKER_UNIT = '[Unit]\nDescription=marker\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n';

/** A host config: its own hostname, user and key, file, unit, and a container pulled from the registry. */
function hostConfig(hostname: string, user: string, key: KeyPair, containerPort: number): Record<string, unknown> {
  return {
    hostname,
    users: [{ name: user, groups: ['sudo'], sshAuthorizedKeys: [key.publicKey] }],
    files: [{ path: '/etc/slipway-test/whoami', content: `${hostname}\n`, owner: user, mode: '0640' }],
    units: [{ name: 'marker.service', content: MARKER_UNIT, enabled: true }],
    containers: [{
      name: `extra-${hostname}`,
      image: { ref: reference, plainHttp: true },
      command: ['/bin/busybox', 'httpd', '-f', '-p', String(containerPort), '-h', '/srv/www'],
      mounts: [{ source: '/usr/share/slipway/www', target: '/srv/www', readonly: true }],
    }],
    sysctl: { 'net.core.somaxconn': 1024 },
  };
}

interface Booted {
  vm: VirtualMachine;
  sshPort: number;
}

/** Boots with a config alone, or with the fw_cfg entries given. */
async function boot(config: string | FwCfgEntry[]): Promise<Booted> {
  const sshPort = await freePort();
  const fwCfg = typeof config === 'string' ? [{ name: FW_CFG_CONFIG, file: config }] : config;
  const vm = await VirtualMachine.start({ image, shell: true, forwards: [{ host: sshPort, guest: 22 }], fwCfg });
  machines.push(vm);
  await vm.waitFor(/slipway-health: ok/, 300_000);
  return { vm, sshPort };
}

describe('first-boot provisioning', () => {
  const keys: Record<string, KeyPair> = {};
  const hosts: Record<string, Booted> = {};

  beforeAll(async () => {
    keys.alpha = await makeKeyPair('alpha');
    keys.bravo = await makeKeyPair('bravo');
  });

  it('gives two hosts from one image their own hostname, user, file, unit and container', async () => {
    const alpha = await configFwCfg(writeConfig('alpha', hostConfig('alpha', 'alice', keys.alpha!, 8091)), image, tempDir('plan'));
    const alphaPlan = alpha.find((entry) => entry.name === FW_CFG_PLAN)!;
    hosts.alpha = await boot(alpha);
    hosts.bravo = await boot([{ name: FW_CFG_CONFIG, file: writeConfig('bravo', hostConfig('bravo', 'bob', keys.bravo!, 8092), 'json') }, alphaPlan]);
    expect(hosts.alpha.vm.console).toMatch(/slipway-initrd: applying the plan slipway compiled from it for this image/);
    expect(hosts.alpha.vm.console).not.toMatch(/checking the config here/);
    expect(hosts.bravo.vm.console).toMatch(/slipway-initrd: the plan beside it was compiled from another config or for another image: checking the config here/);
    expect(hosts.bravo.vm.console).not.toMatch(/applying the plan slipway compiled/);
    for (const [name, user, port] of [['alpha', 'alice', 8091], ['bravo', 'bob', 8092]] as const) {
      const { vm, sshPort } = hosts[name]!;
      expect(vm.console).toMatch(new RegExp(`slipway-provision: applied fw_cfg opt/slipway/config \\(host ${name}\\)`));
      const login = await ssh(sshPort, user, keys[name]!, 'hostname; id -un; cat /etc/slipway-test/whoami; stat -c "%U %a" /etc/slipway-test/whoami; id -Gn; systemctl is-active marker.service');
      expect(login.exitCode, login.stderr).toBe(0);
      expect(login.stdout.split('\n')).toEqual([name, user, name, `${user} 640`, `${user} sudo`, 'active']);
      expect((await vm.run(`ctr --namespace slipway tasks list`)).stdout).toMatch(new RegExp(`^extra-${name}\\s+\\d+\\s+RUNNING$`, 'm'));
      const page = await vm.run(`(exec 3<>/dev/tcp/127.0.0.1/${port}; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3)`);
      expect(page.stdout).toMatch(/Hello from a slipway container host/);
      expect((await vm.run('sysctl -n net.core.somaxconn')).stdout).toBe('1024');
      expect((await vm.run('systemctl --failed --no-legend --plain')).stdout).toBe('');
      expect((await vm.run('findmnt -no OPTIONS /')).stdout).toMatch(/^ro,/);
    }
  }, 600_000); // two first boots, one after the other, the second compiling its config in the guest

  it('lets each user in with their own key only, and never with a password', async () => {
    expect((await ssh(hosts.alpha!.sshPort, 'alice', keys.alpha!, 'true')).exitCode).toBe(0);
    expect((await ssh(hosts.bravo!.sshPort, 'bob', keys.bravo!, 'true')).exitCode).toBe(0);
    expect((await ssh(hosts.alpha!.sshPort, 'alice', keys.bravo!, 'true')).exitCode).not.toBe(0);
    expect((await ssh(hosts.bravo!.sshPort, 'bob', keys.alpha!, 'true')).exitCode).not.toBe(0);
    expect((await hosts.alpha!.vm.run('sshd -T | grep -E "^(passwordauthentication|kbdinteractiveauthentication)"')).stdout).toBe('passwordauthentication no\nkbdinteractiveauthentication no');
    expect((await hosts.alpha!.vm.run('getent shadow alice | cut -d: -f2')).stdout).toBe('*');
  });

  // The one reboot of a provisioned host in the suite: /var (a marker, the /etc overlay, the host
  // keys) survives it, and a guest's reboot is a power cycle of QEMU.
  it('keeps /var, hostname, users, files and ssh host keys across a reboot, without provisioning again', async () => {
    // An idle guest under TCG still takes CPU from the one that boots.
    await hosts.bravo!.vm.dispose();
    const { vm, sshPort } = hosts.alpha!;
    const fingerprints = await hostKeyFingerprints(sshPort);
    const marker = `slipway-${Date.now()}`;
    expect((await vm.run(`mkdir -p /var/lib/slipway-test && echo ${marker} > /var/lib/slipway-test/marker && sync && echo ok`)).stdout).toBe('ok');
    const before = vm.console.length;
    await vm.run('systemctl reboot', 10_000).catch(() => undefined);
    await vm.waitFor(/slipway-initrd: root/, 240_000, before);
    await vm.waitFor(/slipway-health: ok/, 300_000, before);
    expect(vm.reboots).toBe(1);
    expect((await vm.run('cat /var/lib/slipway-test/marker')).stdout).toBe(marker);
    expect(vm.console.slice(before)).not.toMatch(/slipway-provision|host config from/);
    expect(await hostKeyFingerprints(sshPort)).toEqual(fingerprints);
    const login = await ssh(sshPort, 'alice', keys.alpha!, 'hostname; cat /etc/slipway-test/whoami');
    expect(login.stdout.split('\n')).toEqual(['alpha', 'alpha']);
    expect((await vm.run('ctr --namespace slipway tasks list')).stdout).toMatch(/^extra-alpha\s+\d+\s+RUNNING$/m);
  });

  // The Ignition twin of a native config like alpha's: the same kinds of setting (a user and key, a
  // file with owner and mode, an enabled unit, the hostname), which alpha and bravo check natively;
  // and what Ignition configs fetch by URL: a file's contents, a config merged in, and root's keys.
  it('gives an Ignition config\'s host the hostname, user, file and unit it declares, and what it names by URL', async () => {
    await hosts.alpha!.vm.dispose();
    const served = tempDir('ignition-sources');
    const merged = JSON.stringify({ ignition: { version: '3.4.0' }, storage: { files: [{ path: '/etc/slipway-test/merged', contents: { source: 'data:,merged%0A' } }] } });
    writeFileSync(join(served, 'merge.ign'), merged);
    writeFileSync(join(served, 'fetched.txt'), 'fetched\n');
    const server = await serveFolder(served);
    const sha256 = (text: string) => `sha256-${createHash('sha256').update(text).digest('hex')}`;
    const ignition = {
      ignition: { version: '3.4.0', config: { merge: [{ source: `http://10.0.2.2:${server.port}/merge.ign`, verification: { hash: sha256(merged) } }] } },
      passwd: { users: [{ name: 'carol', sshAuthorizedKeys: [keys.alpha!.publicKey] }, { name: 'root', sshAuthorizedKeys: [keys.bravo!.publicKey] }] },
      storage: { files: [
        { path: '/etc/hostname', mode: 420, contents: { source: 'data:,charlie%0A' } },
        { path: '/etc/slipway-test/whoami', mode: 384, user: { name: 'carol' }, contents: { source: `data:;base64,${Buffer.from('charlie\n').toString('base64')}` } },
        { path: '/etc/slipway-test/fetched', contents: { source: `http://10.0.2.2:${server.port}/fetched.txt`, verification: { hash: sha256('fetched\n') } } },
      ] },
      systemd: { units: [{ name: 'marker.service', enabled: true, contents: MARKER_UNIT }] },
    };
    const { vm, sshPort } = await boot(writeConfig('charlie-ignition', ignition, 'json'));
    await server.close();
    expect(vm.console).toMatch(/slipway-initrd: network up on \S+ for the config's remote sources/);
    expect(server.requests).toEqual(expect.arrayContaining(['/merge.ign', '/fetched.txt']));
    const login = await ssh(sshPort, 'carol', keys.alpha!, 'hostname; id -un; cat /etc/slipway-test/whoami; stat -c "%U %a" /etc/slipway-test/whoami; systemctl is-active marker.service; cat /etc/slipway-test/fetched /etc/slipway-test/merged');
    expect(login.exitCode, login.stderr).toBe(0);
    expect(login.stdout).toBe('charlie\ncarol\ncharlie\ncarol 600\nactive\nfetched\nmerged');
    // root, a user of the image, got the keys the config gives it (and only those).
    expect((await ssh(sshPort, 'root', keys.bravo!, 'id -un')).stdout).toBe('root');
    expect((await ssh(sshPort, 'root', keys.alpha!, 'id -un')).exitCode).not.toBe(0);
    await vm.dispose();
  }, 600_000);

  it('stops the boot at a config that does not fit the image, with the message slipway config validate prints', async () => {
    const config = writeConfig('bad', { hostname: 'delta', units: [{ name: 'broken.service', content: '[Unit]\nDescription=broken\nExecStart /bin/true\n' }], files: [{ path: '/etc/x', content: 'x', owner: 'nobody-here' }] });
    const validate = await slipway(['config', 'validate', config, '--image', image]);
    expect(validate.exitCode).toBe(12);
    const problems = validate.stderr.split('\n').filter((line) => line.startsWith(`slipway: ${config}: `) || line.startsWith(`${config}: `)).map((line) => line.slice(line.indexOf(`${config}: `) + config.length + 2));
    expect(problems).toEqual([
      'files[0].owner: unknown user "nobody-here" (neither in users nor in the image)',
      'units[0].content: does not parse as a unit file: line 3: "ExecStart /bin/true" is not a Key=Value line, a [Section] header or a comment',
    ]);

    const vm = await VirtualMachine.start({ image, fwCfg: [{ name: FW_CFG_CONFIG, file: config }] });
    machines.push(vm);
    const failure = await vm.waitFor(/slipway-health: ok/, 300_000).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(BootFailure);
    for (const problem of problems) expect(vm.console).toContain(`slipway-provision: error: fw_cfg opt/slipway/config: ${problem}`);
    expect(vm.console).toMatch(/slipway-initrd: error: the host config from fw_cfg opt\/slipway\/config is not valid/);
    expect(vm.console).not.toMatch(/Welcome to/);
    // Nothing was applied: the disk has no provisioning stamp, no accounts, no /etc changes.
    expect(vm.console).not.toMatch(/slipway-provision: applied/);
  });
});
