/** A container whose image the host pulls at boot from a real registry (Debian's docker-registry on loopback). */
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { tempDir } from '../helpers/archive.ts';
import { pushArchive, startRegistry, type Registry } from '../helpers/registry.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

let vm: VirtualMachine | undefined;
let registry: Registry | undefined;
afterAll(async () => {
  await vm?.dispose();
  await registry?.stop();
});

describe('registry pulls', () => {
  it('pulls a container image from a registry at boot and runs it', async () => {
    registry = await startRegistry(await freePort());
    const reference = `10.0.2.2:${registry.port}/slipway-test/web:1`;
    const { image, dir } = await buildVariant((r) => {
      r.containers.push({
        name: 'pulled',
        image: { ref: reference, plainHttp: true },
        command: ['/bin/busybox', 'httpd', '-f', '-p', '8081', '-h', '/srv/www'],
        ports: [{ host: 81, container: 8081 }],
        mounts: [{ source: '/usr/share/slipway/www', target: '/srv/www', readonly: true }],
      });
    });
    // The image to push: the one slipway built for the web container, taken out of the root.
    const archive = join(tempDir('push'), 'web.oci.tar');
    const root = join(dir, 'out', 'host_1.0.0.root.squashfs');
    await execa('sh', ['-c', `unsquashfs -cat "$0" usr/share/slipway/images/web.oci.tar > "$1"`, root, archive]);
    await pushArchive(archive, registry, 'slipway-test/web:1');
    const afterPush = registry.log().length;

    const port = await freePort();
    vm = await VirtualMachine.start({ image, forwards: [{ host: port, guest: 81 }], shell: true });
    await vm.waitFor(/slipway-health: ok/, 300_000);
    expect((await vm.run('ctr --namespace slipway images list -q')).stdout.split('\n')).toContain(reference);
    expect((await vm.run('ctr --namespace slipway tasks list')).stdout).toMatch(/^pulled\s+\d+\s+RUNNING$/m);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/Hello from a slipway container host/);
    // The guest's requests reached the registry on the build host's loopback.
    expect(registry.log().slice(afterPush)).toMatch(/\/v2\/slipway-test\/web\/manifests\/1/);
  });
});
