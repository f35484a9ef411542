/**
 * What the update end-to-end tests share: keys, a TUF repository that `slipway publish` fills,
 * served on loopback (a guest reaches it as 10.0.2.2), builds of the default host that follow it,
 * and the agent's view of a running host.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { VirtualMachine } from '../../qemu/runner.ts';
import { generateKeys } from '../../src/updater/keys.ts';
import { initRepository, publish } from '../../src/updater/publish.ts';
import { tempDir } from './archive.ts';
import { serveFolder, type StaticServer } from './static-server.ts';
import { buildVariant, freePort, sharedFolder, type RecipeChange } from './variant.ts';

export interface UpdateLab {
  repo: string;
  keys: string;
  trustedRoot: string;
  server: StaticServer;
  /** Build output folders by version. */
  builds: Map<string, string>;
}

/**
 * Every lab starts from the same keys, first root and port, made once beside the shared builds:
 * the images that follow a lab then come out the same in every test file, and are built once.
 */
async function labSeed(): Promise<{ keys: string; metadata: string; port: number }> {
  const seed = await sharedFolder('update-lab', async (dir) => {
    generateKeys(join(dir, 'keys'));
    initRepository(join(dir, 'repo'), join(dir, 'keys'));
    writeFileSync(join(dir, 'port'), String(await freePort()));
  });
  return { keys: join(seed, 'keys'), metadata: join(seed, 'repo', 'metadata'), port: Number(readFileSync(join(seed, 'port'), 'utf8')) };
}

/** A fresh repository holding only the seed's root, served on the seed's port (another one if that is taken). */
export async function openLab(): Promise<UpdateLab> {
  const seed = await labSeed();
  const repo = tempDir('repo');
  const keys = tempDir('keys');
  cpSync(seed.keys, keys, { recursive: true });
  cpSync(seed.metadata, join(repo, 'metadata'), { recursive: true });
  const server = await serveFolder(repo, seed.port).catch(async () => serveFolder(repo, await freePort()));
  return { repo, keys, trustedRoot: join(repo, 'metadata', '1.root.json'), server, builds: new Map() };
}

/**
 * The default host at `version`, following the lab's repository, its page naming the version;
 * `change` breaks or alters it, `secureBootKeys` signs it, `formats` adds an installer ISO, say.
 */
export async function buildVersion(lab: UpdateLab, version: string, change: RecipeChange = () => {}, secureBootKeys?: string, formats = 'raw'): Promise<string> {
  const { dir } = await buildVariant((recipe) => {
    recipe.version = version;
    recipe.update = { url: `http://10.0.2.2:${lab.server.port}`, trustedRoot: lab.trustedRoot };
    // Room for a boot that must import its container image again (after a rollback, say) on a
    // busy build host; a version meant to fail sets a shorter one, so its trial boots end sooner.
    recipe.health = { timeoutSeconds: 60 };
    recipe.files[0].content = `<!doctype html>\n<title>slipway</title>\n<h1>Hello from version ${version}</h1>\n`;
    change(recipe);
  }, formats, secureBootKeys ? ['--secure-boot-keys', secureBootKeys] : []);
  lab.builds.set(version, join(dir, 'out'));
  return join(dir, 'out');
}

export async function publishVersion(lab: UpdateLab, version: string): Promise<void> {
  await publish(lab.builds.get(version)!, lab.repo, lab.keys);
}

export async function updateStatus(vm: VirtualMachine): Promise<any> {
  return JSON.parse((await vm.run('slipway-update status --json')).stdout);
}

export async function rebootAndWait(vm: VirtualMachine): Promise<string> {
  const before = vm.console.length;
  await vm.run('systemctl reboot', 10_000).catch(() => undefined);
  await vm.waitFor(/slipway-initrd: root/, 300_000, before);
  await waitForHealth(vm, before);
  return vm.console.slice(before);
}

/**
 * Waits for the health check to pass; when it does not, the error carries what the containers'
 * units and containerd logged, and containerd's view of them, read over the debug shell.
 */
export async function waitForHealth(vm: VirtualMachine, from: number, expected: readonly string[] = []): Promise<void> {
  try {
    await vm.waitFor(/slipway-health: ok/, 300_000, from, expected);
  } catch (error) {
    const report = await vm
      .run("systemctl --no-pager status 'slipway-container-*' | head -30; ctr -n slipway tasks list; ctr -n slipway containers list; journalctl -b --no-pager -o short-monotonic -u 'slipway-container-*' -u containerd | grep -v level=info | tail -60", 60_000)
      .then((result) => result.stdout, (cause: unknown) => `(the debug shell did not answer: ${String(cause)})`);
    (error as Error).message += `\n--- containers, from the guest ---\n${report}`;
    throw error;
  }
}

/**
 * Waits for a line the agent prints on the console (its boot-time units log there) during the boot
 * that began at the last `bootMarker`. Watching the console is free, where each `slipway-update
 * status` is a start of the guest's Node, seconds under emulation.
 */
export async function waitForAgentLine(vm: VirtualMachine, line: string, bootMarker = 'slipway-initrd: root'): Promise<void> {
  const literal = line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await vm.waitFor(new RegExp(`slipway-update: ${literal}`), 120_000, vm.console.lastIndexOf(bootMarker));
}

/** After a boot that switched versions: boot-complete.target blesses it, the agent records it and says so. */
export async function waitForBlessing(vm: VirtualMachine, version: string): Promise<void> {
  await waitForAgentLine(vm, `${version} is good`);
  expect((await updateStatus(vm)).last).toMatchObject({ result: 'switched', version });
}
