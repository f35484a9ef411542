/**
 * Authenticode, as UEFI firmware checks an EFI program before it runs it: the PE image's digest
 * (its headers without the checksum and the certificate table entry, its sections in file order,
 * then whatever follows them but the certificate table), and the PKCS#7 signature in the
 * certificate table over that digest. The updater uses it to refuse a UKI the running host's
 * firmware would refuse, before it writes anything.
 */
import { createHash, verify, X509Certificate } from 'node:crypto';
import { PeFormatError, readPeHeaders } from './pe.ts';

interface Node {
  tag: number;
  /** Where the whole element starts, where its contents start, and where it ends. */
  start: number;
  contents: number;
  end: number;
}

class MalformedSignature extends Error {}

/** One DER element at `offset`. */
function element(data: Buffer, offset: number, limit = data.length): Node {
  if (offset + 2 > limit) throw new MalformedSignature('DER element runs past its container');
  const tag = data[offset]!;
  let length = data[offset + 1]!;
  let contents = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || contents + bytes > limit) throw new MalformedSignature('DER length is not definite');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + data[contents + i]!;
    contents += bytes;
  }
  const end = contents + length;
  if (end > limit) throw new MalformedSignature('DER element runs past its container');
  return { tag, start: offset, contents, end };
}

function children(data: Buffer, parent: Node): Node[] {
  const nodes: Node[] = [];
  for (let at = parent.contents; at < parent.end; ) {
    const node = element(data, at, parent.end);
    nodes.push(node);
    at = node.end;
  }
  return nodes;
}

function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (!node || node.tag !== tag) throw new MalformedSignature(`${what} is missing`);
  return node;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OCTET_STRING = 0x04;
const CONTEXT_0 = 0xa0;
/** 1.2.840.113549.1.9.4, the messageDigest attribute. */
const MESSAGE_DIGEST_OID = Buffer.from('06092a864886f70d010904', 'hex');

/** The headers the digest hashes around, and the certificate table (the fifth data directory). */
function peLayout(image: Buffer) {
  const headers = readPeHeaders(image);
  const entry = headers.certificateEntryOffset;
  const sections = headers.sections
    .filter((section) => section.rawSize > 0)
    .map((section) => ({ offset: section.rawOffset, size: section.rawSize }))
    .sort((a, b) => a.offset - b.offset);
  return { ...headers, sections, certificateTable: { offset: image.readUInt32LE(entry), size: image.readUInt32LE(entry + 4) } };
}

/** The sha256 Authenticode digest of a PE32+ image, as EDK2's firmware computes it. */
export function authenticodeDigest(image: Buffer): Buffer {
  const layout = peLayout(image);
  const hash = createHash('sha256');
  hash.update(image.subarray(0, layout.checksumOffset));
  hash.update(image.subarray(layout.checksumOffset + 4, layout.certificateEntryOffset));
  hash.update(image.subarray(layout.certificateEntryOffset + 8, layout.sizeOfHeaders));
  let hashed = layout.sizeOfHeaders;
  for (const section of layout.sections) {
    if (section.offset + section.size > image.length) throw new MalformedSignature('a section runs past the end of the file');
    hash.update(image.subarray(section.offset, section.offset + section.size));
    hashed += section.size;
  }
  const rest = image.length - layout.certificateTable.size - hashed;
  if (rest < 0) throw new MalformedSignature('the certificate table overlaps the sections');
  if (rest > 0) hash.update(image.subarray(hashed, hashed + rest));
  return hash.digest();
}

interface Signature {
  /** What SpcIndirectDataContent says the image's digest is. */
  imageDigest: Buffer;
  /** The bytes the signer's key signed, and the signature. */
  signed: Buffer;
  signature: Buffer;
  certificates: X509Certificate[];
}

/** The first PKCS#7 signature in the certificate table (WIN_CERTIFICATE, revision 2, type PKCS_SIGNED_DATA). */
function readSignature(image: Buffer): Signature | undefined {
  const { certificateTable } = peLayout(image);
  if (certificateTable.size === 0) return undefined;
  const { offset } = certificateTable;
  if (offset + 8 > image.length) throw new MalformedSignature('the certificate table is past the end of the file');
  const length = image.readUInt32LE(offset);
  if (image.readUInt16LE(offset + 6) !== 0x0002 || offset + length > image.length) throw new MalformedSignature('the certificate table holds no PKCS#7 signature');
  const der = image.subarray(offset + 8, offset + length);
  const contentInfo = element(der, 0);
  const signedData = expectTag(children(der, expectTag(children(der, contentInfo)[1], CONTEXT_0, 'signed data')).at(0), SEQUENCE, 'signed data');
  const [, , encapsulated, ...rest] = children(der, signedData);
  // SpcIndirectDataContent: the image data description, then DigestInfo { algorithm, digest }.
  const indirect = expectTag(children(der, expectTag(children(der, expectTag(encapsulated, SEQUENCE, 'signed content'))[1], CONTEXT_0, 'signed content')).at(0), SEQUENCE, 'indirect data');
  const digestInfo = expectTag(children(der, indirect)[1], SEQUENCE, 'image digest');
  const imageDigest = expectTag(children(der, digestInfo)[1], OCTET_STRING, 'image digest');
  const certificatesNode = rest.find((node) => node.tag === CONTEXT_0);
  const certificates = certificatesNode ? children(der, certificatesNode).map((node) => new X509Certificate(der.subarray(node.start, node.end))) : [];
  const signerInfos = expectTag(rest.at(-1), SET, 'signer information');
  const signer = expectTag(children(der, signerInfos)[0], SEQUENCE, 'signer information');
  const fields = children(der, signer);
  const attributes = fields.find((node) => node.tag === CONTEXT_0);
  const signature = expectTag(fields.at(-1), OCTET_STRING, 'signature');
  let signed: Buffer;
  if (attributes) {
    // The signed attributes name the digest of the indirect data's contents; the signature is over
    // the attributes encoded as a SET.
    const digestAttribute = children(der, attributes).find((attribute) => der.subarray(children(der, attribute)[0]!.start, children(der, attribute)[0]!.end).equals(MESSAGE_DIGEST_OID));
    const values = digestAttribute && expectTag(children(der, digestAttribute)[1], SET, 'message digest');
    const digest = values && expectTag(children(der, values)[0], OCTET_STRING, 'message digest');
    if (!digest) throw new MalformedSignature('the signed attributes have no message digest');
    const contentDigest = createHash('sha256').update(der.subarray(indirect.contents, indirect.end)).digest();
    if (!contentDigest.equals(der.subarray(digest.contents, digest.end))) throw new MalformedSignature('the signed attributes do not match the signed content');
    signed = Buffer.concat([Buffer.from([SET]), der.subarray(attributes.start + 1, attributes.end)]);
  } else {
    signed = der.subarray(indirect.contents, indirect.end);
  }
  return { imageDigest: der.subarray(imageDigest.contents, imageDigest.end), signed, signature: der.subarray(signature.contents, signature.end), certificates };
}

export type AuthenticodeVerdict = { ok: true; signer: string } | { ok: false; reason: string };

/**
 * Whether `image` carries a valid signature by one of `trusted` (or by a certificate one of them
 * issued), as firmware with those certificates in its db would judge it.
 */
export function verifyAuthenticode(image: Buffer, trusted: readonly X509Certificate[]): AuthenticodeVerdict {
  try {
    const signature = readSignature(image);
    if (!signature) return { ok: false, reason: 'it is not signed' };
    if (!signature.imageDigest.equals(authenticodeDigest(image))) return { ok: false, reason: 'it was changed after it was signed (its digest differs from the signed one)' };
    const signers = signature.certificates.filter((certificate) => verify('sha256', signature.signed, certificate.publicKey, signature.signature));
    if (signers.length === 0) return { ok: false, reason: 'its signature does not verify' };
    for (const signer of signers) {
      const anchor = trusted.find((certificate) => certificate.fingerprint256 === signer.fingerprint256 || (signer.checkIssued(certificate) && signer.verify(certificate.publicKey)));
      if (anchor) return { ok: true, signer: signer.subject };
    }
    return { ok: false, reason: `it is signed by ${signers.map((s) => s.subject.replace(/\n/g, ', ')).join('; ')}, which this host does not trust` };
  } catch (error) {
    if (error instanceof PeFormatError) return { ok: false, reason: `it ${error.message}` };
    // Fails closed: a certificate or key node can't parse either (Node's X509Certificate throws).
    return { ok: false, reason: `its signature cannot be read: ${error instanceof Error ? error.message : String(error)}` };
  }
}
