/**
 * A software TPM 2.0 for a machine: swtpm keeps its state in a folder of the machine (so it
 * survives the machine's power cycles, as a real TPM's does) and serves QEMU on a unix socket. One
 * swtpm process per QEMU process: it ends when QEMU closes the socket (--terminate).
 *
 * A new TPM gets the dictionary-attack settings a server's TPM ships with rather than the TPM 2.0
 * reference defaults libtpms keeps (locked out after 3 failed authorizations, for 1000 s): each
 * boot that cannot unseal /var counts as failed authorizations, and a test that tries several
 * wrong boots must still be able to make the right one.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

/** Failed authorizations before lockout, and seconds for one to be forgotten and to leave lockout. */
const DICTIONARY_ATTACK = { maxTries: 32, recoveryTime: 600, lockoutRecovery: 600 };

async function waitForSocket(swtpm: ResultPromise, socket: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (swtpm.exitCode !== null || Date.now() > deadline) {
      swtpm.kill('SIGKILL');
      const result = await swtpm;
      throw new Error(`swtpm did not start: ${String(result.stderr ?? '').trim() || `exit ${result.exitCode}`}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** TPM2_DictionaryAttackParameters, authorized by the (empty) lockout password. */
function dictionaryAttackParameters(): Buffer {
  const command = Buffer.alloc(10 + 4 + 4 + 9 + 12);
  let at = command.writeUInt16BE(0x8002, 0); // TPM_ST_SESSIONS
  at = command.writeUInt32BE(command.length, at);
  at = command.writeUInt32BE(0x0000013a, at); // TPM_CC_DictionaryAttackParameters
  at = command.writeUInt32BE(0x4000000a, at); // TPM_RH_LOCKOUT
  at = command.writeUInt32BE(9, at); // the authorization area: a password session, empty
  at = command.writeUInt32BE(0x40000009, at); // TPM_RS_PW
  at = command.writeUInt16BE(0, at); // nonce
  at = command.writeUInt8(0, at); // session attributes
  at = command.writeUInt16BE(0, at); // password
  at = command.writeUInt32BE(DICTIONARY_ATTACK.maxTries, at);
  at = command.writeUInt32BE(DICTIONARY_ATTACK.recoveryTime, at);
  command.writeUInt32BE(DICTIONARY_ATTACK.lockoutRecovery, at);
  return command;
}

/** Sends one command to a TPM's data socket and returns its response code. */
async function sendCommand(socket: string, command: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const connection = createConnection(socket, () => connection.write(command));
    let response = Buffer.alloc(0);
    connection.on('data', (chunk) => {
      response = Buffer.concat([response, chunk]);
      if (response.length >= 10 && response.length >= response.readUInt32BE(2)) {
        connection.end();
        resolve(response.readUInt32BE(6));
      }
    });
    connection.on('error', reject);
  });
}

/** Starts a new TPM once, to give it its dictionary-attack settings; they are kept in its state. */
async function manufacture(stateDir: string): Promise<void> {
  const socket = join(stateDir, 'setup.sock');
  const swtpm = execa('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--server', `type=unixio,path=${socket}`, '--ctrl', `type=unixio,path=${socket}.ctrl`, '--flags', 'not-need-init,startup-clear'], { reject: false, stdin: 'ignore' });
  try {
    await waitForSocket(swtpm, socket);
    const code = await sendCommand(socket, dictionaryAttackParameters());
    if (code !== 0) throw new Error(`the new TPM refused its dictionary-attack settings (response code 0x${code.toString(16)})`);
  } finally {
    swtpm.kill('SIGTERM');
    await swtpm;
    rmSync(socket, { force: true });
    rmSync(`${socket}.ctrl`, { force: true });
  }
}

export class SoftwareTpm {
  private constructor(private readonly process: ResultPromise) {}

  static async start(stateDir: string, socket: string): Promise<SoftwareTpm> {
    mkdirSync(stateDir, { recursive: true });
    if (!existsSync(join(stateDir, 'tpm2-00.permall'))) await manufacture(stateDir);
    rmSync(socket, { force: true });
    const swtpm = execa('swtpm', ['socket', '--tpm2', '--tpmstate', `dir=${stateDir}`, '--ctrl', `type=unixio,path=${socket}`, '--terminate'], { reject: false, stdin: 'ignore' });
    await waitForSocket(swtpm, socket);
    return new SoftwareTpm(swtpm);
  }

  stop(): void {
    this.process.kill('SIGTERM');
  }
}
