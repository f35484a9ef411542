/**
 * What the update end-to-end tests share: keys, a TUF repository that `slipway publish` fills,
 * served on loopback (a guest reaches it as 10.0.2.2), builds of the default host that follow it,
 * and the agent's view of a running host.
 */
import { join } from 'node:path';
import type { VirtualMachine } from '../../qemu/runner.ts';
import { generateKeys } from '../../src/updater/keys.ts';
import { initRepository, publish } from '../../src/updater/publish.ts';
import { tempDir } from './archive.ts';
import { serveFolder, type StaticServer } from './static-server.ts';
import { buildVariant, freePort, type RecipeChange } from './variant.ts';

export interface UpdateLab {
  repo: string;
  keys: string;
  trustedRoot: string;
  server: StaticServer;
  /** Build output folders by version. */
  builds: Map<string, string>;
}

export async function openLab(): Promise<UpdateLab> {
  const repo = tempDir('repo');
  const keys = tempDir('keys');
  generateKeys(keys);
  const trustedRoot = initRepository(repo, keys);
  return { repo, keys, trustedRoot, server: await serveFolder(repo, await freePort()), builds: new Map() };
}

/** The default host at `version`, following the lab's repository, its page naming the version; `change` breaks or alters it. */
export async function buildVersion(lab: UpdateLab, version: string, change: RecipeChange = () => {}): Promise<string> {
  const { dir } = await buildVariant((recipe) => {
    recipe.version = version;
    recipe.update = { url: `http://10.0.2.2:${lab.server.port}`, trustedRoot: lab.trustedRoot };
    recipe.health = { timeoutSeconds: 20 };
    recipe.files[0].content = `<!doctype html>\n<title>slipway</title>\n<h1>Hello from version ${version}</h1>\n`;
    change(recipe);
  });
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
  await vm.waitFor(/slipway-health: ok/, 300_000, before);
  return vm.console.slice(before);
}

/** After a boot that switched versions: boot-complete.target blesses it and the agent records it. */
export async function waitForBlessing(vm: VirtualMachine, version: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const current = await updateStatus(vm);
    if (current.last?.result === 'switched' && current.last.version === version) return;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  throw new Error(`${version} was never recorded as switched: ${JSON.stringify(await updateStatus(vm))}`);
}
