import { describe, expect, it } from 'vitest';
import { containerRootPath, containerUnit, imageArchivePath } from '../../../src/recipe/container-units.ts';
import { ContainerSchema, type Container } from '../../../src/recipe/schema.ts';
import { formatIssues } from '../../../src/recipe/load.ts';

function container(input: Record<string, unknown>): Container {
  return ContainerSchema.parse(input);
}

/** The value of each `Key=` line of a unit. */
function directive(unit: string, key: string): string {
  const line = unit.split('\n').find((l) => l.startsWith(`${key}=`));
  if (line === undefined) throw new Error(`no ${key}= in unit`);
  return line.slice(key.length + 1);
}

describe('image paths', () => {
  it('keeps baked-in archives below /usr/share/slipway/images and built containers below /usr/share/slipway/containers', () => {
    expect(imageArchivePath('web')).toBe('usr/share/slipway/images/web.oci.tar');
    expect(containerRootPath('web')).toBe('usr/share/slipway/containers/web');
  });
});

const HOST_NETWORK = [
  // containerd's seccomp profile, no raw sockets
  '--seccomp --cap-drop CAP_NET_RAW',
  '--with-ns network:/proc/1/ns/net',
  '--mount type=bind,src=/run/slipway/containers/NAME.hosts,dst=/etc/hosts,options=rbind:ro',
  '--mount type=bind,src=/run/slipway/containers/NAME.resolv.conf,dst=/etc/resolv.conf,options=rbind:ro',
].join(' ');

function hostNetwork(name: string): string {
  return HOST_NETWORK.replaceAll('NAME', name);
}

describe('containerUnit', () => {
  it('runs a built container from its files in the root, with ctr on the host network', () => {
    const unit = containerUnit(container({ name: 'web', image: { packages: ['busybox'] }, ports: [{ host: 80, container: 8080 }] }));
    expect(directive(unit, 'ExecStartPre')).toBe('/usr/lib/slipway/container-prepare web rootfs:/usr/share/slipway/containers/web 80:8080/tcp');
    expect(directive(unit, 'ExecStart')).toBe(`/usr/bin/ctr --namespace slipway run --rm ${hostNetwork('web')} --rootfs /run/slipway/containers/web web`);
    expect(directive(unit, 'ExecStopPost')).toBe('/usr/lib/slipway/container-cleanup web 80:8080/tcp');
    expect(directive(unit, 'Restart')).toBe('always');
    expect(directive(unit, 'Requires')).toBe('containerd.service');
    expect(directive(unit, 'WantedBy')).toBe('multi-user.target');
    expect(unit.split('\n')[0]).toBe('[Unit]');
  });

  it('waits for the network only when it pulls the image', () => {
    const baked = containerUnit(container({ name: 'web', image: { packages: ['busybox'] } }));
    expect(directive(baked, 'After')).toBe('containerd.service');
    expect(baked).not.toContain('network-online.target');
    const pulled = containerUnit(container({ name: 'web', image: { ref: 'registry.example/web:1' } }));
    expect(directive(pulled, 'Wants')).toBe('network-online.target');
    expect(directive(pulled, 'After')).toBe('containerd.service network-online.target');
  });

  it('starts without waiting for basic.target, and before the health check polls', () => {
    const unit = containerUnit(container({ name: 'web', image: { packages: ['busybox'] } }));
    expect(directive(unit, 'DefaultDependencies')).toBe('no');
    expect(directive(unit, 'Conflicts')).toBe('shutdown.target');
    expect(directive(unit, 'Before').split(' ')).toEqual(['shutdown.target', 'multi-user.target', 'slipway-health.service']);
  });

  it('names the image by the given tag', () => {
    const unit = containerUnit(container({ name: 'app', image: { archive: 'app.tar' } }), 'v2');
    expect(directive(unit, 'ExecStart')).toMatch(/ slipway\.local\/app:v2 app$/);
    expect(directive(unit, 'ExecStartPre')).toBe('/usr/lib/slipway/container-prepare app /usr/share/slipway/images/app.oci.tar');
  });

  it('gives a container the read-only root and the memory and CPU limits its recipe names', () => {
    const unit = containerUnit(container({ name: 'app', image: { packages: ['busybox-static'] }, readOnly: true, memory: '64MiB', cpus: 0.5 }));
    expect(directive(unit, 'ExecStart')).toContain(' --read-only --memory-limit 67108864 --cpus 0.5 --rootfs ');
    expect(directive(containerUnit(container({ name: 'app', image: { packages: ['busybox-static'] } })), 'ExecStart')).not.toMatch(/--read-only|--memory-limit|--cpus/);
  });

  it('runs a container with a user through runc-as-user, which reads the user from an annotation', () => {
    const unit = containerUnit(container({ name: 'app', image: { packages: ['busybox-static'] }, user: 'nobody:nogroup' }));
    expect(directive(unit, 'ExecStart')).toContain(' --runc-binary /usr/lib/slipway/runc-as-user --annotation org.slipway.user=nobody:nogroup --rootfs ');
    expect(directive(containerUnit(container({ name: 'app', image: { packages: ['busybox-static'] } })), 'ExecStart')).not.toMatch(/--runc-binary|--annotation/);
  });

  it('passes mounts, environment and the command, quoting arguments with spaces', () => {
    const unit = containerUnit(container({
      name: 'db',
      image: { packages: ['postgresql'] },
      command: ['/bin/sh', '-c', 'echo "hi there"'],
      env: { GREETING: 'hello world', MODE: 'prod' },
      mounts: [{ source: '/var/lib/db', target: '/data' }, { source: '/etc/db', target: '/config', readonly: true }],
      restart: 'on-failure',
    }));
    expect(directive(unit, 'ExecStart')).toBe([
      `/usr/bin/ctr --namespace slipway run --rm ${hostNetwork('db')}`,
      '--mount type=bind,src=/var/lib/db,dst=/data,options=rbind:rw',
      '--mount type=bind,src=/etc/db,dst=/config,options=rbind:ro',
      '--env "GREETING=hello world" --env MODE=prod',
      '--rootfs /run/slipway/containers/db db /bin/sh -c "echo \\"hi there\\""',
    ].join(' '));
    expect(directive(unit, 'Restart')).toBe('on-failure');
  });

  it('pulls a registry image by its reference, over plain HTTP when asked', () => {
    const tls = containerUnit(container({ name: 'reg', image: { ref: 'registry.example:5000/app:1' }, restart: 'no' }));
    expect(directive(tls, 'ExecStartPre')).toBe('/usr/lib/slipway/container-prepare reg registry.example:5000/app:1');
    expect(directive(tls, 'ExecStart')).toMatch(/ registry\.example:5000\/app:1 reg$/);
    expect(directive(tls, 'Restart')).toBe('no');
    const plain = containerUnit(container({ name: 'reg', image: { ref: '127.0.0.1:5000/app:1', plainHttp: true }, ports: [{ host: 53, container: 53, protocol: 'udp' }] }));
    expect(directive(plain, 'ExecStartPre')).toBe('/usr/lib/slipway/container-prepare reg plain-http:127.0.0.1:5000/app:1 53:53/udp');
    expect(directive(plain, 'ExecStart')).toMatch(/ 127\.0\.0\.1:5000\/app:1 reg$/);
  });

  it('doubles % in quoted arguments, which systemd expands as specifiers', () => {
    const unit = containerUnit(container({ name: 'x', image: { packages: ['busybox'] }, command: ['printf', '100 %'] }));
    expect(directive(unit, 'ExecStart')).toMatch(/ printf "100 %%"$/);
  });

  // systemd resolves specifiers in every argument, quoted or not: an unquoted `date +%s` or
  // `FMT=%Z` is expanded (or rejected: "Failed to resolve unit specifiers ... Invalid slot").
  it('doubles % in arguments without spaces too', () => {
    const unit = containerUnit(container({ name: 'x', image: { packages: ['busybox'] }, command: ['date', '+%s'] }));
    expect(directive(unit, 'ExecStart')).toMatch(/ date "?\+%%s"?$/);
  });

  // systemd takes "$$" for a literal dollar; "\$" is an unknown escape that systemd 252 warns
  // about ("Ignoring unknown escape sequences") and keeps, backslash included.
  it('passes a literal $ as $$', () => {
    const unit = containerUnit(container({ name: 'x', image: { packages: ['busybox'] }, env: { PRICE: '$5' } }));
    expect(directive(unit, 'ExecStart')).toMatch(/ --env "?PRICE=\$\$5"? /);
  });
});

describe('containerUnit and values with line breaks', () => {
  const keys = (unit: string) => unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));

  it('keeps a newline in env and command inside the ExecStart= line, as a C escape systemd reads back', () => {
    const hostile = container({
      name: 'web',
      image: { packages: ['busybox'] },
      env: { MODE: 'a\nExecStartPost=/bin/sh -c "touch /PWNED"' },
      command: ['/bin/httpd', 'x\r\nExecStartPost=/bin/evil', 'tab\there', 'bell\u0007'],
    });
    const unit = containerUnit(hostile);
    const plain = containerUnit(container({ name: 'web', image: { packages: ['busybox'] }, env: { MODE: 'a' }, command: ['/bin/httpd', 'x', 'y', 'z'] }));
    expect(keys(unit)).toEqual(keys(plain));
    expect(unit).not.toMatch(/^ExecStartPost=/m);
    expect(directive(unit, 'ExecStart')).toContain('--env "MODE=a\\nExecStartPost=/bin/sh -c \\"touch /PWNED\\""');
    expect(directive(unit, 'ExecStart')).toContain('"x\\r\\nExecStartPost=/bin/evil" "tab\\there" "bell\\x07"');
  });

  it.each([
    [{ env: { 'A\nB': 'x' } }, 'env.A\nB: expected an environment variable name such as APP_MODE'],
    [{ env: { A: 'x\u0000y' } }, 'env.A: expected text without NUL characters'],
    [{ command: ['a\u0000'] }, 'command[0]: expected text without NUL characters'],
  ])('refuses what no process can be given: %j', (fields, problem) => {
    const result = ContainerSchema.safeParse({ name: 'web', image: { packages: ['busybox'] }, ...fields });
    expect(result.success).toBe(false);
    expect(formatIssues(result.error!.issues)).toContain(problem);
  });

  it('refuses a registry reference with a line break', () => {
    const result = ContainerSchema.safeParse({ name: 'web', image: { ref: 'registry.example/app:1\nExecStartPost=/bin/evil' } });
    expect(result.success).toBe(false);
    expect(formatIssues(result.error!.issues)).toEqual(['image.ref: expected a registry reference such as registry.example/app:1, without spaces or control characters']);
  });
});
