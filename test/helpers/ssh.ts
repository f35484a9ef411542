/** ssh into a test host through a forwarded port, as its users would, with keys made for the test. */
import { join } from 'node:path';
import { execa } from 'execa';
import { tempDir } from './archive.ts';

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

export async function makeKeyPair(name: string): Promise<KeyPair> {
  const privateKey = join(tempDir('ssh-key'), name);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKey]);
  const { stdout } = await execa('cat', [`${privateKey}.pub`]);
  return { privateKey, publicKey: stdout.trim() };
}

const OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-o', 'LogLevel=ERROR'];

/** Runs a command over ssh; resolves with its output and exit code (never throws for a failed login). */
export async function ssh(port: number, user: string, key: KeyPair, command: string): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const result = await execa('ssh', [...OPTIONS, '-i', key.privateKey, '-p', String(port), `${user}@127.0.0.1`, command], { reject: false, timeout: 120_000 });
  return { stdout: result.stdout.trim(), stderr: result.stderr.trim(), exitCode: result.exitCode ?? -1 };
}

/** The SHA256 fingerprints of the ed25519 and ECDSA host keys sshd offers on this port, sorted. */
export async function hostKeyFingerprints(port: number): Promise<string[]> {
  let keys: string[] = [];
  let errors = '';
  // A busy emulated host may not answer every key type within the timeout: ask again.
  for (let attempt = 0; attempt < 5 && keys.length < 2; attempt++) {
    const scan = await execa('ssh-keyscan', ['-p', String(port), '-T', '30', '-t', 'ed25519,ecdsa', '127.0.0.1'], { reject: false });
    keys = scan.stdout.split('\n').filter((line) => line && !line.startsWith('#'));
    errors = scan.stderr;
  }
  if (keys.length < 2) throw new Error(`ssh-keyscan found ${keys.length} of 2 host keys on port ${port}: ${errors}`);
  const { stdout } = await execa('ssh-keygen', ['-lf', '-'], { input: `${keys.join('\n')}\n` });
  return stdout.split('\n').map((line) => line.split(' ')[1]!).sort();
}
