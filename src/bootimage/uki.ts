/**
 * The unified kernel image: systemd's EFI stub with the kernel, initrd, command line and os-release
 * added as PE sections by objcopy, each placed after the stub's own image, page-aligned.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildError } from '../errors.ts';
import { PeFormatError, peSection, readPeHeaders, type PeHeaders } from '../shared/pe.ts';
import { runTool } from '../tools.ts';
import { signPcrPolicy } from './pcr-policy.ts';

export interface UkiParts {
  stub: string;
  kernel: Buffer;
  initrd: Buffer;
  cmdline: string;
  osRelease: string;
  /** SOURCE_DATE_EPOCH, for the PE timestamp. */
  epoch: number;
  /** The UKI's own SBAT entries, after the stub's (which stay in force for the stub's code). */
  sbat: string;
  /** The PCR policy key: the UKI then carries its public half (.pcrpkey) and its signature of PCR 11 (.pcrsig). */
  pcrKey?: { privateKey: string; publicKey: string };
}

const PAGE = 4096;

/** The stub's headers; a stub that is not a PE32+ file is a broken systemd-boot-efi. */
function stubHeaders(stub: Buffer): PeHeaders {
  try {
    return readPeHeaders(stub);
  } catch (error) {
    if (error instanceof PeFormatError) throw new BuildError(`the EFI stub ${error.message}`, 'reinstall systemd-boot-efi');
    throw error;
  }
}

/** ImageBase and the end of the stub's last section, from its PE headers. */
export function peLayout(stub: Buffer): { imageBase: bigint; end: number } {
  const { imageBase, sizeOfImage, sections } = stubHeaders(stub);
  return { imageBase, end: Math.max(sizeOfImage, ...sections.map((s) => s.virtualAddress + s.virtualSize)) };
}

/** The SBAT entries of a UKI slipway made: the UKI format's, then the image's own. */
export function ukiSbat(name: string, version: string): string {
  const spec = 'https://uapi-group.org/specifications/specs/unified_kernel_image/';
  return `uki,1,UKI,uki,1,${spec}\nuki.slipway,1,slipway,${name},${version},${spec}\n`;
}

function alignPage(value: number): number {
  return Math.ceil(value / PAGE) * PAGE;
}

/** The PE image checksum: 16-bit one's-complement sum of the file (checksum field as zero) plus its length. */
export function peChecksum(image: Buffer, checksumOffset: number): number {
  let sum = 0;
  for (let i = 0; i + 1 < image.length; i += 2) {
    if (i === checksumOffset || i === checksumOffset + 2) continue;
    sum += image.readUInt16LE(i);
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (image.length % 2) sum += image[image.length - 1]!;
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum + image.length) >>> 0;
}

/**
 * objcopy stamps the PE header with the current time; a reproducible image carries the build's
 * SOURCE_DATE_EPOCH there instead, and a checksum to match.
 */
export function stampPe(image: Buffer, epoch: number): void {
  const { timestampOffset, checksumOffset } = stubHeaders(image);
  image.writeUInt32LE(epoch >>> 0, timestampOffset);
  image.writeUInt32LE(peChecksum(image, checksumOffset), checksumOffset);
}

export async function makeUki(parts: UkiParts, workDir: string, output: string): Promise<void> {
  const stub = readFileSync(parts.stub);
  const { imageBase, end } = peLayout(stub);
  // The stub's .sbat has no room to grow in place: it is replaced by one after the stub that holds
  // the stub's entries and the UKI's, as ukify does.
  const stubSbat = peSection(stub, '.sbat')?.toString('utf8').replace(/\0+$/, '') ?? '';
  const sections: Array<[string, Buffer]> = [
    ['.sbat', Buffer.from(`${stubSbat}${stubSbat.endsWith('\n') || stubSbat === '' ? '' : '\n'}${parts.sbat}`)],
    ['.osrel', Buffer.from(parts.osRelease)],
    ['.cmdline', Buffer.from(`${parts.cmdline}\0`)],
    ...(parts.pcrKey ? [['.pcrpkey', readFileSync(parts.pcrKey.publicKey)] as [string, Buffer]] : []),
    ['.linux', parts.kernel],
    ['.initrd', parts.initrd],
  ];
  const file = (name: string) => join(workDir, `uki${name}`);
  for (const [name, data] of sections) writeFileSync(file(name), data);
  if (parts.pcrKey) {
    // Signed over the very bytes the sections hold, which are what systemd-stub measures; the
    // signature itself is not measured.
    const measured = { linux: file('.linux'), osrel: file('.osrel'), cmdline: file('.cmdline'), initrd: file('.initrd'), pcrpkey: file('.pcrpkey') };
    const signature = await signPcrPolicy(measured, parts.pcrKey);
    writeFileSync(file('.pcrsig'), signature);
    sections.push(['.pcrsig', signature]);
  }
  const args: string[] = stubSbat ? ['--remove-section', '.sbat'] : [];
  let offset = alignPage(end);
  for (const [name, data] of sections) {
    args.push('--add-section', `${name}=${file(name)}`, '--change-section-vma', `${name}=0x${(imageBase + BigInt(offset)).toString(16)}`);
    offset = alignPage(offset + data.length);
  }
  await runTool('objcopy', [...args, parts.stub, output]);
  const image = readFileSync(output);
  stampPe(image, parts.epoch);
  writeFileSync(output, image);
}
