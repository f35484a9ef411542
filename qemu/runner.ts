/**
 * Runs a QEMU command line and watches the machine: the serial console is followed as it is
 * written, scanned for what means the boot went wrong (console.ts says what does), and waited on
 * for markers; commands run in the guest over the debug shell's virtio console (guest-shell.ts);
 * the machine is powered off through ACPI or has its plug pulled.
 *
 * A guest's reboot is a power cycle: QEMU runs with -no-reboot, and when it exits because the
 * guest asked for a reset, it is started again on the same disk and firmware variables, its
 * console appended to the same log. Under TCG, OVMF takes minutes (once, over 15) to come back
 * from a warm reset, against seconds from power-on; the guest cannot tell the two apart.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { diskFormatOf, qemuArgs, type BootRequest, type DiskBus, type DiskFormat, type FwCfgEntry, type NicModel, type PortForward } from './args.ts';
import { cleanConsole, consoleTail, EXCERPT_LINES, fatalProblem, judgeConsole, type Verdict } from './console.ts';
import { GuestShell } from './guest-shell.ts';
import { chooseAccel } from './kvm.ts';
import { QmpConnection } from './qmp.ts';
import { SoftwareTpm } from './tpm.ts';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** OVMF built for Secure Boot (SMM required); with OVMF_VARS' empty store it starts in setup mode. */
export const OVMF_CODE_SECURE_BOOT = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
/** What QEMU runs for each connection to a link-local service (see MachineOptions.linkLocal). */
const PIPE_TO_PORT = new URL('./pipe-to-port.mjs', import.meta.url).pathname;

export class BootFailure extends Error {
  constructor(
    readonly problem: string,
    readonly excerpt: string,
  ) {
    super(`${problem}\n--- console ---\n${excerpt}`);
  }
}

export interface MachineOptions {
  /** The disk image the machine boots (through an overlay); none for a diskless machine that boots from `netboot` or `cdrom`. */
  image?: string;
  /** An ISO in a CD drive, booted first (read-only: the file is never written). */
  cdrom?: string;
  /** Network boot: QEMU's TFTP serves `dir` and offers `bootFile` (such as a netboot UKI) to the firmware's PXE. */
  netboot?: { dir: string; bootFile: string };
  format?: DiskFormat;
  accel?: 'kvm' | 'tcg';
  memoryMiB?: number;
  cpus?: number;
  forwards?: PortForward[];
  /** Leave out the network card: a firmware with nothing else to boot stops at once instead of trying PXE and HTTP. */
  noNetwork?: boolean;
  fwCfg?: FwCfgEntry[];
  /** ISOs in CD drives that are not booted, as clouds attach config drives. */
  dataCdroms?: readonly string[];
  /** Read-only raw disks after the image, such as a config drive. */
  extraDrives?: string[];
  /** Honour the guest's disk flushes, so what it fsynced survives kill() as it would a power cut. */
  durableDisk?: boolean;
  /** Connect the debug shell's virtio console (images built with debugShell: true). */
  shell?: boolean;
  /** Stop at the guest's first reboot or panic instead of starting it again (tests that watch one boot). */
  noReboot?: boolean;
  /** Grow the machine's disk (the overlay) to this many bytes, as a bigger server disk would be. */
  diskSize?: number;
  /** How the image's disk is attached (virtio unless told): NVMe or SATA, as on a server. */
  diskBus?: DiskBus;
  /** Empty disks after the image's, made with the machine and kept across its power cycles. */
  emptyDisks?: ReadonlyArray<{ size: number; bus: DiskBus }>;
  /** Existing disk files (raw or qcow2) after those: written in place, as a server's disks are. */
  disks?: ReadonlyArray<{ file: string; bus: DiskBus }>;
  /**
   * Services the guest reaches at link-local addresses (a cloud's metadata service at
   * 169.254.169.254:80), each carried to a port on the host's loopback. The user network is then
   * 169.254.0.0/16, and the host is 169.254.0.2 to the guest (not 10.0.2.2).
   */
  linkLocal?: ReadonlyArray<{ address: string; port: number; hostPort: number }>;
  /** SMBIOS system strings, as a cloud's hypervisor sets them (EC2's manufacturer is "Amazon EC2"). */
  smbios?: BootRequest['smbios'];
  /** The network card (virtio unless told). */
  nic?: NicModel;
  /** Console on this process's terminal instead of a log file (slipway boot). */
  terminal?: boolean;
  /** Firmware that enforces Secure Boot once keys are enrolled, starting in setup mode. */
  secureBoot?: boolean;
  /** A software TPM 2.0, its state kept in the machine's folder (or in `tpmState`) across power cycles. */
  tpm?: boolean;
  tpmState?: string;
}

/** What may change from one power-on of a machine to the next, as an operator would change it. */
export type PowerOnChanges = Pick<MachineOptions, 'secureBoot' | 'tpm' | 'tpmState'>;

export class VirtualMachine {
  readonly dir: string;
  readonly consoleLog: string;
  private qemu?: ResultPromise;
  private qmpConnection?: QmpConnection;
  private exited = false;
  private stopping = false;
  private shell?: GuestShell;
  private tpm?: SoftwareTpm;
  /** Guest reboots so far (each one a new QEMU process). */
  reboots = 0;

  private constructor(
    public options: MachineOptions,
    readonly overlay: string,
    /** options.emptyDisks as made (a qcow2 file each), then options.disks: each on its bus. */
    readonly extraDisks: ReadonlyArray<{ file: string; bus: DiskBus; cache?: 'writeback' }> = [],
  ) {
    this.dir = join(overlay, '..');
    this.consoleLog = join(this.dir, 'console.log');
  }

  /** Makes the private disk overlay and firmware variables, then starts QEMU. */
  static async start(options: MachineOptions): Promise<VirtualMachine> {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-vm-'));
    const overlay = join(dir, 'disk.qcow2');
    if (options.image) {
      const format = options.format ?? diskFormatOf(options.image);
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', resolve(options.image), '-F', format, overlay, ...(options.diskSize ? [String(options.diskSize)] : [])]);
    }
    const emptyDisks: Array<{ file: string; bus: DiskBus }> = [];
    for (const [index, { size, bus }] of (options.emptyDisks ?? []).entries()) {
      const file = join(dir, `empty-${index}.qcow2`);
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', file, String(size)]);
      emptyDisks.push({ file, bus });
    }
    const machine = new VirtualMachine(options, overlay, [...emptyDisks, ...(options.disks ?? []).map(({ file, bus }) => ({ file: resolve(file), bus, cache: 'writeback' as const }))]);
    await machine.boot();
    return machine;
  }

  /**
   * Starts (or starts again, on the same disk, after kill()) QEMU, with a new console log;
   * `changes` turn Secure Boot off or on, or give the machine another TPM, from this power-on.
   */
  async boot(changes: PowerOnChanges = {}): Promise<void> {
    this.options = { ...this.options, ...changes };
    writeFileSync(this.consoleLog, '');
    this.stopping = false;
    await this.launch();
  }

  private async launch(): Promise<void> {
    const vars = join(this.dir, 'OVMF_VARS.fd');
    if (!existsSync(vars)) copyFileSync(OVMF_VARS, vars);
    const accel = await chooseAccel(this.options.accel);
    if (this.stopping) {
      this.exited = true;
      return;
    }
    const terminal = this.options.terminal === true;
    const request: BootRequest = {
      firmware: this.options.secureBoot ? { kind: 'uefi', code: OVMF_CODE_SECURE_BOOT, vars, secureBoot: true } : { kind: 'uefi', code: OVMF_CODE, vars },
      disk: this.options.image ? { file: this.overlay, format: 'qcow2', cache: this.options.durableDisk ? 'writeback' : 'unsafe', bus: this.options.diskBus ?? 'virtio' } : undefined,
      tftp: this.options.netboot,
      cdrom: this.options.cdrom,
      // A disk file of the user's keeps what the guest flushed, even if QEMU is killed.
      extraDisks: this.extraDisks.map(({ file, bus, cache }) => ({ file, format: diskFormatOf(file), bus, cache })),
      nic: this.options.nic ?? 'virtio',
      accel,
      memoryMiB: this.options.memoryMiB ?? 1024,
      cpus: this.options.cpus ?? 2,
      consoleLog: terminal ? undefined : this.consoleLog,
      forwards: this.options.forwards ?? [],
      noNetwork: this.options.noNetwork,
      fwCfg: this.options.fwCfg ?? [],
      linkLocal: this.options.linkLocal?.map(({ address, port, hostPort }) => ({ address, port, command: `'${process.execPath}' '${PIPE_TO_PORT}' ${hostPort}` })),
      smbios: this.options.smbios,
      dataCdroms: this.options.dataCdroms,
      extraDrives: this.options.extraDrives ?? [],
      qmpSocket: join(this.dir, 'qmp.sock'),
      noReboot: true,
    };
    if (this.options.shell) request.shellSocket = join(this.dir, 'shell.sock');
    if (this.options.tpm) {
      request.tpmSocket = join(this.dir, 'tpm.sock');
      this.tpm = await SoftwareTpm.start(this.options.tpmState ?? join(this.dir, 'tpm'), request.tpmSocket);
    }
    this.exited = false;
    this.shell?.destroy();
    this.shell = undefined;
    rmSync(request.qmpSocket!, { force: true });
    const qemu = execa('qemu-system-x86_64', qemuArgs(request), terminal ? { reject: false, stdio: 'inherit' } : { reject: false, stdin: 'ignore' });
    this.qemu = qemu;
    let running = true;
    void qemu.then(() => {
      running = false;
    });
    const qmp = await QmpConnection.open(request.qmpSocket!, 30_000, () => running);
    this.qmpConnection = qmp;
    void qemu.then(() => this.afterExit(qmp));
  }

  /** QEMU has exited: start it again if the guest asked for a reset, else the machine is off. */
  private async afterExit(qmp: QmpConnection | undefined): Promise<void> {
    this.tpm?.stop();
    if (qmp) await Promise.race([qmp.closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
    qmp?.close();
    if (qmp?.reason === 'guest-reset' && !this.stopping && !this.options.noReboot) {
      this.reboots += 1;
      await this.launch();
      return;
    }
    this.exited = true;
  }

  get console(): string {
    try {
      return cleanConsole(readFileSync(this.consoleLog, 'utf8'));
    } catch {
      return '';
    }
  }

  get running(): boolean {
    return !this.exited;
  }

  excerpt(lines = EXCERPT_LINES): string {
    return consoleTail(this.console, lines);
  }

  /** Problems seen on the console so far. */
  verdict(): Verdict {
    return judgeConsole(this.console);
  }

  /**
   * Waits until the console matches. Fails at once, with the console excerpt, on a fatal problem
   * (but those in `expected`, for tests of failures the system recovers from), when QEMU exits, or
   * when the timeout passes: never a hang.
   */
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0, expected: readonly string[] = []): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.console.slice(from);
      const match = pattern.exec(text);
      if (match) return match;
      const problem = fatalProblem(text, expected);
      if (problem) throw new BootFailure(problem, this.excerpt());
      if (this.exited) throw new BootFailure(`QEMU exited before the console showed ${pattern}`, this.excerpt());
      if (Date.now() > deadline) throw new BootFailure(`timed out after ${timeoutMs / 1000} s waiting for ${pattern}`, this.excerpt());
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private async connectShell(timeoutMs: number): Promise<GuestShell> {
    if (this.shell && !this.shell.destroyed) return this.shell;
    const deadline = Date.now() + timeoutMs;
    this.shell = await GuestShell.connect(join(this.dir, 'shell.sock'), () => Date.now() < deadline).catch((error: unknown) => {
      throw new BootFailure(`cannot reach the debug shell: ${String(error)}`, this.excerpt());
    });
    return this.shell;
  }

  /** Runs a shell command in the guest and returns its output and exit status. */
  async run(command: string, timeoutMs = 60_000): Promise<{ stdout: string; exitCode: number }> {
    const shell = await this.connectShell(timeoutMs);
    const exchange = shell.send(command);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = shell.reply(exchange);
      if (reply) return reply;
      if (this.exited) throw new BootFailure(`QEMU exited while running: ${command}`, this.excerpt());
      if (Date.now() > deadline) throw new BootFailure(`timed out running in the guest: ${command}`, this.excerpt());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Presses the power button (ACPI) and waits for QEMU to exit. */
  async powerOff(timeoutMs = 120_000): Promise<void> {
    if (this.exited) return;
    this.shell?.destroy();
    this.qmpConnection?.send('system_powerdown');
    const deadline = Date.now() + timeoutMs;
    while (!this.exited) {
      if (Date.now() > deadline) throw new BootFailure('the guest did not power off', this.excerpt());
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Resolves when QEMU exits by itself (the guest powered off, or Ctrl-C on the terminal). */
  async exit(): Promise<void> {
    while (!this.exited) await new Promise((resolve) => setTimeout(resolve, 200));
  }

  /** Pulls the plug: QEMU dies at once, as a host would on a power cut. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.shell?.destroy();
    if (!this.exited) {
      this.qemu?.kill('SIGKILL');
      await this.exit();
    }
  }

  /** For a process that is about to exit: kills QEMU and removes the machine's files at once. */
  disposeNow(): void {
    this.stopping = true;
    this.shell?.destroy();
    this.qemu?.kill('SIGKILL');
    this.tpm?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops QEMU and removes the overlay and everything else of this machine. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
