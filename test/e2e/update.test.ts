/**
 * Signed A/B updates under QEMU, from a TUF repository that `slipway publish` made, served on
 * loopback (the guest reaches it as 10.0.2.2): 1 → 2 into slot B with provisioning and /var kept,
 * 2 → 3 back into slot A, a tampered target refused with nothing written, a power cut in the
 * middle of a download survived.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { VirtualMachine } from '../../qemu/runner.ts';
import { generateKeys } from '../../src/updater/keys.ts';
import { initRepository, publish } from '../../src/updater/publish.ts';
import { tempDir } from '../helpers/archive.ts';
import { serveFolder, type StaticServer } from '../helpers/static-server.ts';
import { buildVariant, freePort, type RecipeChange } from '../helpers/variant.ts';

let repo: string;
let keys: string;
let trustedRoot: string;
let server: StaticServer;
let vm: VirtualMachine;
let pagePort: number;
const builds = new Map<string, string>();

/** The default host at `version`, following the test repository; `change` makes the version visible or broken. */
async function buildVersion(version: string, change: RecipeChange = () => {}): Promise<string> {
  const { dir } = await buildVariant((recipe) => {
    recipe.version = version;
    recipe.update = { url: `http://10.0.2.2:${server.port}`, trustedRoot };
    recipe.health = { timeoutSeconds: 20 };
    recipe.files[0].content = `<!doctype html>\n<title>slipway</title>\n<h1>Hello from version ${version}</h1>\n`;
    change(recipe);
  });
  builds.set(version, join(dir, 'out'));
  return join(dir, 'out');
}

async function page(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${pagePort}/`)).text();
}

async function rebootAndWait(): Promise<string> {
  const before = vm.console.length;
  await vm.run('systemctl reboot', 10_000).catch(() => undefined);
  await vm.waitFor(/slipway-initrd: root/, 300_000, before);
  await vm.waitFor(/slipway-health: ok/, 300_000, before);
  return vm.console.slice(before);
}

async function status(): Promise<any> {
  return JSON.parse((await vm.run('slipway-update status --json')).stdout);
}

/** After a boot that switched versions: boot-complete.target blesses it and the agent records it. */
async function waitForBlessing(version: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const current = await status();
    if (current.last?.result === 'switched' && current.last.version === version) return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(`${version} was never recorded as switched: ${JSON.stringify(await status())}`);
}

beforeAll(async () => {
  repo = tempDir('repo');
  keys = tempDir('keys');
  generateKeys(keys);
  trustedRoot = initRepository(repo, keys);
  server = await serveFolder(repo, await freePort());
  await publish(await buildVersion('1.0.0'), repo, keys);
  await publish(await buildVersion('2.0.0'), repo, keys);
  const config = join(tempDir('config'), 'config.yaml');
  writeFileSync(config, stringify({ hostname: 'updated-host', files: [{ path: '/etc/slipway-test/provisioned', content: 'yes\n' }] }));
  pagePort = await freePort();
  vm = await VirtualMachine.start({ image: join(builds.get('1.0.0')!, 'host_1.0.0.raw'), shell: true, forwards: [{ host: pagePort, guest: 80 }], fwCfg: [{ name: 'opt/slipway/config', file: config }] });
  await vm.waitFor(/slipway-health: ok/, 300_000);
});

afterAll(async () => {
  await vm?.dispose();
  await server?.close();
});

describe('A/B updates', () => {
  it('goes from 1 to 2 in slot B, keeping provisioning and /var', async () => {
    expect(await page()).toMatch(/Hello from version 1\.0\.0/);
    expect((await vm.run('echo kept > /var/lib/slipway-test-marker && slipway-update check')).stdout).toBe('2.0.0 is available (running 1.0.0)');
    const apply = await vm.run('slipway-update apply 2>&1', 600_000);
    expect(apply.exitCode, apply.stdout).toBe(0);
    expect(apply.stdout).toMatch(/slot b verified: root hash [0-9a-f]{64}/);
    expect((await status()).pending).toMatchObject({ version: '2.0.0', slot: 'b' });

    const boot = await rebootAndWait();
    expect(boot).toMatch(/slipway-initrd: root \/dev\/vda4 verified by \/dev\/vda5/);
    expect(boot).not.toMatch(/slipway-provision/);
    await waitForBlessing('2.0.0');
    expect(await page()).toMatch(/Hello from version 2\.0\.0/);
    expect((await vm.run('hostname; cat /etc/slipway-test/provisioned /var/lib/slipway-test-marker')).stdout).toBe('updated-host\nyes\nkept');
    // systemd-bless-boot marked the entry good: no boot counter left in its name.
    const entries = (await vm.run('ls -1 /boot/EFI/Linux')).stdout.split('\n');
    expect(entries).toContain('host_2.0.0.efi');
    expect(entries.filter((entry) => entry.startsWith('host_2.0.0+'))).toEqual([]);
    const after = await status();
    expect(after.slots).toEqual([{ slot: 'a', contents: 'host_1.0.0', running: false }, { slot: 'b', contents: 'host_2.0.0', running: true }]);
  });

  it('refuses a target whose bytes do not match the signed hash, and writes nothing bootable', async () => {
    const out = await buildVersion('3.0.0');
    await publish(out, repo, keys);
    const target = join(repo, 'targets', 'host', '3.0.0');
    const file = readdirSync(target).find((f) => f.endsWith('.root.squashfs'))!;
    const original = readFileSync(join(target, file));
    const altered = Buffer.from(original);
    altered[4096 * 10] = altered[4096 * 10]! ^ 0xff;
    writeFileSync(join(target, file), altered);
    const apply = await vm.run('slipway-update apply 2>&1', 600_000);
    writeFileSync(join(target, file), original);
    expect(apply.exitCode).not.toBe(0);
    expect(apply.stdout).toMatch(/slipway-update: .*has sha256 [0-9a-f]{64}, not [0-9a-f]{64} as the signed metadata says/);
    const after = await status();
    expect(after.slots[0]).toEqual({ slot: 'a', contents: null, running: false });
    expect(after.last).toMatchObject({ result: 'failed', version: '3.0.0' });
    expect(after.pending).toBeNull();
  });

  it('survives a power cut in the middle of a download, then installs 3 into slot A', async () => {
    const path = readdirSync(join(repo, 'targets', 'host', '3.0.0')).find((f) => f.endsWith('.root.squashfs'))!;
    const served = `/targets/host/3.0.0/${path}`;
    const before = server.sent.get(served) ?? 0;
    void vm.run('slipway-update apply >/dev/null 2>&1', 600_000).catch(() => undefined);
    while ((server.sent.get(served) ?? 0) - before < 30 * 1024 * 1024) await new Promise((resolve) => setTimeout(resolve, 200));
    await vm.kill();
    await vm.boot(); // the same disk, a new console
    await vm.waitFor(/slipway-health: ok/, 300_000);
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/vda4/); // still 2.0.0, untouched
    expect((await status()).running).toEqual({ version: '2.0.0', slot: 'b' });

    const apply = await vm.run('slipway-update apply 2>&1', 600_000);
    expect(apply.exitCode, apply.stdout).toBe(0);
    const boot = await rebootAndWait();
    expect(boot).toMatch(/slipway-initrd: root \/dev\/vda2 verified by \/dev\/vda3/);
    await waitForBlessing('3.0.0');
    expect(await page()).toMatch(/Hello from version 3\.0\.0/);
  });
});
