/** Debian's docker-registry, started on loopback for a test; the guest reaches it as 10.0.2.2. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { tempDir } from './archive.ts';

export interface Registry {
  port: number;
  log: () => string;
  stop: () => Promise<void>;
}

export async function startRegistry(port: number): Promise<Registry> {
  const dir = tempDir('registry');
  mkdirSync(join(dir, 'data'));
  writeFileSync(
    join(dir, 'config.yml'),
    ['version: 0.1', 'log:', '  level: info', 'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, 'http:', `  addr: 127.0.0.1:${port}`, ''].join('\n'),
  );
  let output = '';
  const server: ResultPromise = execa('docker-registry', ['serve', join(dir, 'config.yml')], { reject: false, all: true, buffer: false });
  server.all!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  for (let i = 0; i < 50; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.ok, () => false);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    port,
    log: () => output,
    stop: async () => {
      server.kill('SIGTERM');
      await server;
    },
  };
}

/** Pushes an OCI archive to the registry with skopeo. */
export async function pushArchive(archive: string, registry: Registry, reference: string): Promise<void> {
  await execa('skopeo', ['copy', '--dest-tls-verify=false', `oci-archive:${archive}`, `docker://127.0.0.1:${registry.port}/${reference}`]);
}
