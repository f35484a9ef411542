/**
 * On a host built with Secure Boot keys, a new version's UKI must be signed by the db key the
 * image was signed with, or the firmware would refuse to run it after the update: the agent checks
 * it, as the firmware will, before it writes anything. On a host whose /var is sealed, the new UKI
 * must also carry the PCR policy key /var's key is sealed to, or it could not unlock /var.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { VerificationError } from '../../errors.ts';
import { verifyAuthenticode } from '../../shared/authenticode.ts';
import { peSection } from '../../shared/pe.ts';

/** The db certificate a signed image carries (in its verified root). */
export const UKI_SIGNER_CERT = '/usr/lib/slipway/update/secure-boot-db.crt';
/** The PCR policy public key of an image with a sealed /var (its UKI's .pcrpkey). */
export const PCR_PUBLIC_KEY = '/usr/lib/slipway/update/tpm2-pcr-public-key.pem';

/**
 * Throws when this host signs its UKIs and the UKI in file `uki` is not signed by the same key, or
 * when this host's /var is sealed and the UKI carries another PCR policy key; on a host without
 * the certificate it does nothing (and reads nothing).
 */
export function checkUkiTrust(uki: string, version: string, certificate = UKI_SIGNER_CERT, pcrPublicKey = PCR_PUBLIC_KEY): void {
  if (!existsSync(certificate)) return;
  const image = readFileSync(uki);
  const verdict = verifyAuthenticode(image, [new X509Certificate(readFileSync(certificate))]);
  if (!verdict.ok) {
    throw new VerificationError(`the UKI of ${version} is refused: ${verdict.reason}`, "nothing was written; publish a build signed with this host's Secure Boot db key");
  }
  if (!existsSync(pcrPublicKey)) return;
  const carried = peSection(image, '.pcrpkey');
  if (!carried?.equals(readFileSync(pcrPublicKey))) {
    throw new VerificationError(
      `the UKI of ${version} is refused: ${carried ? 'its PCR policy is signed by another key than' : 'it carries no signed PCR policy for'} the one /var is sealed to, so it could not unlock /var`,
      "nothing was written; publish a build signed with this host's tpm2-pcr.key",
    );
  }
}
