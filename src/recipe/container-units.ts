/**
 * The recipe's containers as systemd units: one service each, running the container with ctr on
 * the host's network, after runtime/rootfs/usr/lib/slipway/container-prepare has made its root
 * (an overlay on the files slipway built into the image), imported its archive or pulled its
 * image, and redirected its ports.
 */
import { USER_ANNOTATION } from './container-user.ts';
import type { Container } from './schema.ts';

const IMAGES_DIR = 'usr/share/slipway/images';

/** Where the files of a container slipway builds from packages are, in the verified root. */
export const CONTAINER_ROOTS_DIR = 'usr/share/slipway/containers';

/** Where container-prepare mounts a built container's writable root. */
const RUNNING_ROOTS_DIR = '/run/slipway/containers';

export function imageArchivePath(name: string): string {
  return `${IMAGES_DIR}/${name}.oci.tar`;
}

export function containerRootPath(name: string): string {
  return `${CONTAINER_ROOTS_DIR}/${name}`;
}

/**
 * How container-prepare gets the container's files, and what ctr runs: a built container's files
 * (ctr's `--rootfs`, no image), a baked-in archive, or a reference to pull.
 */
function imageSource(container: Container, tag: string): { source: string; run: string[] } {
  const image = container.image;
  if ('ref' in image) return { source: image.plainHttp ? `plain-http:${image.ref}` : image.ref, run: [image.ref] };
  if ('packages' in image) return { source: `rootfs:/${containerRootPath(container.name)}`, run: ['--rootfs', `${RUNNING_ROOTS_DIR}/${container.name}`] };
  return { source: `/${imageArchivePath(container.name)}`, run: [`slipway.local/${container.name}:${tag}`] };
}

const CONTROL_ESCAPES: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/**
 * systemd's quoting for Exec lines: specifiers (`%`) and variables (`$`) are expanded in every
 * argument, so they are doubled everywhere; quotes and backslashes are escaped inside quotes, and
 * control characters become C escapes, so a newline in a value never starts a line of its own.
 */
export function quote(arg: string): string {
  const literal = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@%$+=:,./-]+$/.test(literal)) return literal;
  const escaped = literal.replace(/(["\\])/g, '\\$1').replace(/[\u0000-\u001f\u007f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${escaped}"`;
}

/** `tag` is the tag a baked-in archive names its image with (latest when it names none). */
export function containerUnit(container: Container, tag = 'latest'): string {
  const { source, run: image } = imageSource(container, tag);
  const ports = container.ports.map((p) => `${p.host}:${p.container}/${p.protocol}`);
  // The host's network, as --net-host gives it, but with container-prepare's copies of hosts and
  // resolv.conf: --net-host binds the host's own, and resolv.conf may not exist yet.
  const copies = `${RUNNING_ROOTS_DIR}/${container.name}`;
  // containerd's default seccomp profile; no raw sockets (ping, packet crafting); ctr keeps
  // no_new_privs on unless told --allow-new-privs, so set-uid programs gain nothing.
  const run = [
    '/usr/bin/ctr', '--namespace', 'slipway', 'run', '--rm', '--seccomp', '--cap-drop', 'CAP_NET_RAW', '--with-ns', 'network:/proc/1/ns/net',
    '--mount', `type=bind,src=${copies}.hosts,dst=/etc/hosts,options=rbind:ro`,
    '--mount', `type=bind,src=${copies}.resolv.conf,dst=/etc/resolv.conf,options=rbind:ro`,
  ];
  for (const mount of container.mounts) {
    run.push('--mount', `type=bind,src=${mount.source},dst=${mount.target},options=rbind:${mount.readonly ? 'ro' : 'rw'}`);
  }
  for (const [key, value] of Object.entries(container.env)) run.push('--env', `${key}=${value}`);
  if (container.readOnly) run.push('--read-only');
  if (container.memory !== undefined) run.push('--memory-limit', String(container.memory));
  if (container.cpus !== undefined) run.push('--cpus', String(container.cpus));
  if (container.user !== undefined) run.push('--runc-binary', '/usr/lib/slipway/runc-as-user', '--annotation', `${USER_ANNOTATION}=${container.user}`);
  run.push(...image, container.name, ...(container.command ?? []));
  const restart = { 'always': 'always', 'on-failure': 'on-failure', 'no': 'no' }[container.restart];
  return [
    '[Unit]',
    `Description=slipway container ${container.name}`,
    // Like containerd itself, a container does not wait for basic.target: a baked-in image starts as
    // soon as containerd does; only a pull waits for the network.
    'DefaultDependencies=no',
    ...('ref' in container.image ? ['Wants=network-online.target', 'After=containerd.service network-online.target'] : ['After=containerd.service']),
    'Requires=containerd.service',
    'Conflicts=shutdown.target',
    // The ordering multi-user.target would give a unit with default dependencies; the health check
    // starts polling only once every container has started.
    'Before=shutdown.target multi-user.target slipway-health.service',
    '',
    '[Service]',
    '# Not sandboxed: ctr mounts the container\'s root and starts it in the host\'s namespaces, where',
    '# containerd can see them; the container itself is confined by containerd (seccomp, no CAP_NET_RAW,',
    '# no_new_privs, and the cgroup limits the recipe gives it).',
    `ExecStartPre=${['/usr/lib/slipway/container-prepare', container.name, source, ...ports].map(quote).join(' ')}`,
    `ExecStart=${run.map(quote).join(' ')}`,
    `ExecStopPost=${['/usr/lib/slipway/container-cleanup', container.name, ...ports].map(quote).join(' ')}`,
    `Restart=${restart}`,
    'RestartSec=2',
    'TimeoutStartSec=300',
    // A container's PID 1 (busybox httpd, say) may ignore SIGTERM: do not hold a reboot for 90 s.
    'TimeoutStopSec=10',
    // As containerd.service: while the host boots, the containers start before the rest of it.
    'StartupCPUWeight=1000',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
