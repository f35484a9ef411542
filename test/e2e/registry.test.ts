/**
 * Containers from OCI images: one the host pulls at boot from a real registry (Debian's
 * docker-registry on loopback), one baked into the image as an archive and imported at first boot.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { builtContainerArchive } from '../helpers/oci-image.ts';
import { pushArchive, startRegistry, type Registry } from '../helpers/registry.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

let vm: VirtualMachine | undefined;
let registry: Registry | undefined;
afterAll(async () => {
  await vm?.dispose();
  await registry?.stop();
});

describe('containers from OCI images', () => {
  it('pulls a container image from a registry at boot and runs it, and imports a baked-in archive', async () => {
    registry = await startRegistry(await freePort());
    // The image to push and bake in: the files slipway built for the default host's web container.
    const { dir: defaultBuild } = await buildVariant(() => {});
    const archive = await builtContainerArchive(`${defaultBuild}/out/host_1.0.0.root.squashfs`, 'web');
    await pushArchive(archive, registry, 'slipway-test/web:1');
    const reference = `10.0.2.2:${registry.port}/slipway-test/web:1`;
    const serve = (port: number) => ['/bin/busybox', 'httpd', '-f', '-p', String(port), '-h', '/srv/www'];
    const mounts = () => [{ source: '/usr/share/slipway/www', target: '/srv/www', readonly: true }];
    const { image } = await buildVariant((r) => {
      r.containers.push(
        { name: 'pulled', image: { ref: reference, plainHttp: true }, command: serve(8081), ports: [{ host: 81, container: 8081 }], mounts: mounts() },
        { name: 'archived', image: { archive }, command: serve(8082), ports: [{ host: 82, container: 8082 }], mounts: mounts() },
      );
    });
    const afterPush = registry.log().length;

    const port = await freePort();
    const archivedPort = await freePort();
    vm = await VirtualMachine.start({ image, forwards: [{ host: port, guest: 81 }, { host: archivedPort, guest: 82 }], shell: true });
    await vm.waitFor(/slipway-health: ok/, 300_000);
    const images = (await vm.run('ctr --namespace slipway images list -q')).stdout.split('\n');
    expect(images).toContain(reference);
    expect(images).toContain('slipway.local/archived:latest');
    const tasks = (await vm.run('ctr --namespace slipway tasks list')).stdout;
    expect(tasks).toMatch(/^pulled\s+\d+\s+RUNNING$/m);
    expect(tasks).toMatch(/^archived\s+\d+\s+RUNNING$/m);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toMatch(/Hello from a slipway container host/);
    expect(await (await fetch(`http://127.0.0.1:${archivedPort}/`)).text()).toMatch(/Hello from a slipway container host/);
    // The guest's requests reached the registry on the build host's loopback.
    expect(registry.log().slice(afterPush)).toMatch(/\/v2\/slipway-test\/web\/manifests\/1/);
  });
});
