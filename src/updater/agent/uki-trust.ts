/**
 * On a host built with Secure Boot keys, a new version's UKI must be signed by the db key the
 * image was signed with, or the firmware would refuse to run it after the update: the agent checks
 * it, as the firmware will, before it writes anything.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { VerificationError } from '../../errors.ts';
import { verifyAuthenticode } from '../../shared/authenticode.ts';

/** The db certificate a signed image carries (in its verified root). */
export const UKI_SIGNER_CERT = '/usr/lib/slipway/update/secure-boot-db.crt';

/**
 * Throws when this host signs its UKIs and the UKI in file `uki` is not signed by the same key; on
 * a host without the certificate it does nothing (and reads nothing).
 */
export function checkUkiSignature(uki: string, version: string, certificate = UKI_SIGNER_CERT): void {
  if (!existsSync(certificate)) return;
  const verdict = verifyAuthenticode(readFileSync(uki), [new X509Certificate(readFileSync(certificate))]);
  if (!verdict.ok) {
    throw new VerificationError(`the UKI of ${version} is refused: ${verdict.reason}`, "nothing was written; publish a build signed with this host's Secure Boot db key");
  }
}
