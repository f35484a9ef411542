/**
 * The default host, booted under UEFI: the demo container's page answers through a forwarded
 * port, / is read-only, /var is writable (provision.test reboots a host and checks /var kept), no
 * unit failed, and containerd runs the declared container, confined. Two more containers show the recipe's limits:
 * one with a read-only root and a user of its own, one with memory and CPU limits that it is made
 * to exceed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualMachine } from '../../qemu/runner.ts';
import { buildVariant, freePort } from '../helpers/variant.ts';

let vm: VirtualMachine;
let port: number;
/** A command in a running container: `${EXEC} EXEC-ID CONTAINER PROGRAM ARGS...`. */
const EXEC = 'ctr --namespace slipway tasks exec --exec-id';
/** ctr passes its stdin on to the process, and waits for it to end. */
const NO_INPUT = '</dev/null';

beforeAll(async () => {
  const { image } = await buildVariant((recipe) => {
    const busybox = { packages: ['busybox-static'] };
    recipe.containers.push(
      { name: 'sealed', image: busybox, readOnly: true, user: '1000:1000', command: ['/bin/busybox', 'sleep', '100000'] },
      // Idle until the test drops /eat into it; then its first process becomes a dd with a 64 MiB buffer.
      {
        name: 'hog', image: busybox, memory: '32MiB', cpus: 0.5,
        command: ['/bin/busybox', 'sh', '-c', 'while [ ! -e /eat ]; do /bin/busybox sleep 1; done; exec /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1'],
      },
    );
  });
  port = await freePort();
  // A bigger disk than the image, as a server would have: /var grows into it on first boot.
  vm = await VirtualMachine.start({ image, forwards: [{ host: port, guest: 80 }], shell: true, diskSize: 3 * 1024 ** 3 });
  await vm.waitFor(/slipway-health: ok/, 300_000);
});

afterAll(async () => {
  await vm?.dispose();
});

describe('the default host under QEMU', () => {
  it('serves the demo container’s page on the forwarded port', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/Hello from a slipway container host/);
  });

  it('booted through systemd-boot, the UKI and the initrd to systemd’s multi-user target', async () => {
    expect(vm.console).toMatch(/slipway-initrd: root \/dev\/vda2 verified by \/dev\/vda3, \/var on \/dev\/vda6/);
    expect(vm.console).toMatch(/Welcome to .*host 1\.0\.0 \(slipway/);
    expect((await vm.run('systemctl is-active multi-user.target')).stdout).toBe('active');
  });

  it('grew /var to the end of the disk on first boot', async () => {
    expect(vm.console).toMatch(/slipway-initrd: growing \/var to the end of \/dev\/vda/);
    const sizes = (await vm.run('echo $(cat /sys/block/vda/size) $(cat /sys/class/block/vda6/start) $(cat /sys/class/block/vda6/size)')).stdout;
    const [disk, start, size] = sizes.split(' ').map(Number);
    expect(disk).toBe((3 * 1024 ** 3) / 512);
    expect(start! + size!).toBeGreaterThan(disk! - 34 - 2048); // up to the backup GPT, within alignment
    const blocks = Number((await vm.run("df --block-size=1 --output=size /var | tail -1")).stdout.trim());
    expect(blocks).toBeGreaterThan(1.3 * 1024 ** 3); // built as 256 MiB; the rest of a 3 GiB disk after the slots
  });

  it('has a read-only, verified root', async () => {
    expect((await vm.run('findmnt -no SOURCE,OPTIONS /')).stdout).toMatch(/^\/dev\/mapper\/root ro,/);
    const write = await vm.run('touch /usr/slipway-test 2>&1');
    expect(write.exitCode).not.toBe(0);
    expect(write.stdout).toMatch(/Read-only file system/);
    expect((await vm.run('dmsetup status root')).stdout).toMatch(/^0 \d+ verity V$/); // V: no block failed verification
  });

  it('runs the declared container in containerd', async () => {
    expect((await vm.run('ctr --namespace slipway containers list -q')).stdout.split('\n')).toContain('web');
    expect((await vm.run('ctr --namespace slipway tasks list')).stdout).toMatch(/^web\s+\d+\s+RUNNING$/m);
  });

  it('confines a container: containerd’s seccomp filter, no new privileges, and no CAP_NET_RAW, so no raw socket', async () => {
    const status = (await vm.run(`${EXEC} status web /bin/busybox cat /proc/self/status ${NO_INPUT}`)).stdout;
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    const effective = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)![1]}`);
    expect(effective & (1n << 13n)).toBe(0n); // CAP_NET_RAW
    expect(effective & (1n << 10n)).not.toBe(0n); // CAP_NET_BIND_SERVICE: the rest of containerd's defaults stay
    const ping = await vm.run(`${EXEC} ping web /bin/busybox ping -c 1 -W 1 127.0.0.1 ${NO_INPUT} 2>&1`);
    expect(ping.exitCode).not.toBe(0);
    expect(ping.stdout).toMatch(/permission denied|not permitted/i);
  });

  it('gives a container the read-only root its recipe asks for', async () => {
    const write = await vm.run(`${EXEC} write sealed /bin/busybox touch /written ${NO_INPUT} 2>&1`);
    expect(write.exitCode).not.toBe(0);
    expect(write.stdout).toMatch(/Read-only file system/);
  });

  it('runs a container as the user its recipe names, with no capabilities but the bounding set', async () => {
    const pid = /^sealed\s+(\d+)\s+RUNNING$/m.exec((await vm.run('ctr --namespace slipway tasks list')).stdout)![1];
    const status = (await vm.run(`cat /proc/${pid}/status`)).stdout;
    expect(status).toMatch(/^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(status).toMatch(/^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(status).toMatch(/^CapPrm:\s+0{16}$/m);
    expect(status).toMatch(/^CapEff:\s+0{16}$/m);
    expect(status).not.toMatch(/^CapBnd:\s+0{16}$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
  });

  it('has the kernel kill a container past its memory limit, and its unit start it again', async () => {
    // runc's cgroup for the container (the unit's, slipway-container-hog.service, holds only ctr).
    const cgroup = (await vm.run('find /sys/fs/cgroup -type d -name hog')).stdout;
    expect((await vm.run(`cat ${cgroup}/memory.max ${cgroup}/cpu.max`)).stdout).toBe('33554432\n50000 100000');
    const restarts = async () => Number((await vm.run('systemctl show --property=NRestarts --value slipway-container-hog.service')).stdout);
    expect(await restarts()).toBe(0);
    await vm.run(`${EXEC} eat hog /bin/busybox touch /eat ${NO_INPUT}`);
    for (let tries = 0; (await restarts()) === 0; tries++) {
      if (tries === 60) throw new Error('the unit did not restart the container');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect((await vm.run("journalctl -k --no-pager | grep -c 'Memory cgroup out of memory: Killed process'")).stdout).toBe('1');
    for (let tries = 0; !/^hog\s+\d+\s+RUNNING$/m.test((await vm.run('ctr --namespace slipway tasks list')).stdout); tries++) {
      if (tries === 60) throw new Error('the container did not run again');
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  });

  it('runs Node.js with its ICU data trimmed to English: dates, numbers, collation, IDNA, normalization', async () => {
    const script = [
      "const d = new Date(Date.UTC(2026, 0, 2, 15, 4));",
      "console.log(new Intl.DateTimeFormat('en', { dateStyle: 'full', timeStyle: 'short', timeZone: 'America/New_York' }).format(d));",
      "console.log(new Intl.NumberFormat('en', { style: 'currency', currency: 'EUR' }).format(1234.5), (1234567.5).toLocaleString());",
      "console.log(['b', 'a', '\\u00e4'].sort(new Intl.Collator('en').compare).join(''), new Intl.PluralRules('en').select(1));",
      "console.log(new URL('http://b\\u00fccher.example/').host, '\\ufb01'.normalize('NFKC'), new TextDecoder('latin1').decode(Buffer.from([0xe9])));",
      "console.log(new Intl.DateTimeFormat('de', { month: 'long', timeZone: 'UTC' }).format(d));",
    ].join(' '); // ASCII only: the shell reads it from a serial line
    expect((await vm.run(`node -e "${script}"`)).stdout.split('\n')).toEqual([
      'Friday, January 2, 2026 at 10:04 AM',
      '€1,234.50 1,234,567.5',
      'aäb one',
      'xn--bcher-kva.example fi é',
      // A locale the image left out falls back to English, as under Node.js's English-only build.
      'January',
    ]);
  });

  it('has no failed units', async () => {
    expect((await vm.run('systemctl --failed --no-legend --plain')).stdout).toBe('');
    expect((await vm.run('systemctl is-system-running')).stdout).toMatch(/running/);
    expect(vm.verdict()).toMatchObject({ ok: true, problems: [], failedUnits: [] });
  });
});
