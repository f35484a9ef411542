/**
 * The signed PCR 11 policy a UKI carries (.pcrsig), made by systemd-measure: the values PCR 11 will
 * hold once systemd-stub has measured the UKI's sections and the initrd has measured its entry
 * (`enter-initrd`), signed with the build's PCR key. /var's key is sealed to that key's policy,
 * so every UKI it signs unlocks /var, and only in the initrd: the initrd measures `leave-initrd`
 * before the root starts, after which PCR 11 matches no signed value.
 *
 * systemd 252's `systemd-measure sign` computes the policy digest in a TPM's trial session, so the
 * build starts a software TPM of its own for the time it takes (swtpm, state in a scratch folder).
 * The digest is pure arithmetic and RSA PKCS#1 v1.5 signatures are deterministic: the same UKI and
 * key give the same signature on any TPM.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerCleanup } from '../cleanup.ts';
import { BuildError } from '../errors.ts';
import { runTool } from '../tools.ts';

/** What a build that seals /var needs besides the signing tools. */
export const SEALING_TOOLS = ['swtpm', 'systemd-measure'] as const;
export const SEALING_FILES = [
  '/usr/lib/x86_64-linux-gnu/libtss2-esys.so.0',
  '/usr/lib/x86_64-linux-gnu/libtss2-rc.so.0',
  '/usr/lib/x86_64-linux-gnu/libtss2-mu.so.0',
  '/usr/lib/x86_64-linux-gnu/libtss2-tcti-swtpm.so.0',
] as const;

/** The only boot phase /var's key is released in. */
export const UNLOCK_PHASE = 'enter-initrd';

/** The files of the UKI's measured sections, as systemd-stub reads them. */
export interface MeasuredSections {
  linux: string;
  osrel: string;
  cmdline: string;
  initrd: string;
  pcrpkey: string;
}

export async function signPcrPolicy(sections: MeasuredSections, key: { privateKey: string; publicKey: string }): Promise<Buffer> {
  // In the system's temporary folder: a unix socket's path holds at most 107 bytes.
  const scratch = mkdtempSync(join(tmpdir(), 'slipway-swtpm-'));
  const socket = join(scratch, 'tpm.sock');
  const pidFile = join(scratch, 'swtpm.pid');
  const stop = () => {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      // it has not started, or has ended
    }
  };
  const unregister = registerCleanup(() => {
    stop();
    rmSync(scratch, { recursive: true, force: true });
  });
  try {
    // --daemon returns once the sockets listen; tcti-swtpm finds the control socket at SOCKET.ctrl.
    await runTool('swtpm', [
      'socket', '--tpm2', '--tpmstate', `dir=${scratch}`, '--server', `type=unixio,path=${socket}`, '--ctrl', `type=unixio,path=${socket}.ctrl`,
      '--flags', 'not-need-init', '--daemon', '--pid', `file=${pidFile}`,
    ]);
    const { stdout } = await runTool('systemd-measure', [
      'sign', `--tpm2-device=swtpm:path=${socket}`, '--bank=sha256', `--phase=${UNLOCK_PHASE}`,
      `--linux=${sections.linux}`, `--osrel=${sections.osrel}`, `--cmdline=${sections.cmdline}`, `--initrd=${sections.initrd}`, `--pcrpkey=${sections.pcrpkey}`,
      `--private-key=${key.privateKey}`, `--public-key=${key.publicKey}`, '--json=short',
    ]);
    const signature = stdout.trim();
    if (!signature.startsWith('{')) throw new BuildError(`systemd-measure printed no signed PCR policy: ${signature.slice(0, 200)}`, 'check that tpm2-pcr.key and tpm2-pcr.pem belong together');
    return Buffer.from(`${signature}\n`);
  } finally {
    stop();
    rmSync(scratch, { recursive: true, force: true });
    unregister();
  }
}
