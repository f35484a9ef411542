/**
 * A software TPM 2.0 for a machine: swtpm keeps its state in a folder of the machine (so it
 * survives the machine's power cycles, as a real TPM's does) and serves QEMU on a unix socket. One
 * swtpm process per QEMU process: it ends when QEMU closes the socket (--terminate).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

export class SoftwareTpm {
  private constructor(private readonly process: ResultPromise) {}

  static async start(stateDir: string, socket: string): Promise<SoftwareTpm> {
    mkdirSync(stateDir, { recursive: true });
    rmSync(socket, { force: true });
    const swtpm = execa('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--ctrl', `type=unixio,path=${socket}`, '--terminate'], { reject: false, stdin: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!existsSync(socket)) {
      if (swtpm.exitCode !== null || Date.now() > deadline) {
        swtpm.kill('SIGKILL');
        const result = await swtpm;
        throw new Error(`swtpm did not start: ${String(result.stderr ?? '').trim() || `exit ${result.exitCode}`}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return new SoftwareTpm(swtpm);
  }

  stop(): void {
    this.process.kill('SIGTERM');
  }
}
