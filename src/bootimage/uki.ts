/**
 * The unified kernel image: systemd's EFI stub with the kernel, initrd, command line and os-release
 * added as PE sections by objcopy, each placed after the stub's own image, page-aligned.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildError } from '../errors.ts';
import { runTool } from '../tools.ts';

export interface UkiParts {
  stub: string;
  kernel: Buffer;
  initrd: Buffer;
  cmdline: string;
  osRelease: string;
  /** SOURCE_DATE_EPOCH, for the PE timestamp. */
  epoch: number;
}

const PAGE = 4096;

/** ImageBase and the end of the stub's last section, from its PE headers. */
export function peLayout(stub: Buffer): { imageBase: bigint; end: number } {
  if (stub.toString('latin1', 0, 2) !== 'MZ') throw new BuildError('the EFI stub is not a PE file', 'reinstall systemd-boot-efi');
  const pe = stub.readUInt32LE(0x3c);
  if (stub.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new BuildError('the EFI stub has no PE header', 'reinstall systemd-boot-efi');
  const sectionCount = stub.readUInt16LE(pe + 6);
  const optionalSize = stub.readUInt16LE(pe + 20);
  const optional = pe + 24;
  const imageBase = stub.readBigUInt64LE(optional + 24); // PE32+
  let end = stub.readUInt32LE(optional + 56); // SizeOfImage
  const sections = optional + optionalSize;
  for (let i = 0; i < sectionCount; i++) {
    const at = sections + i * 40;
    end = Math.max(end, stub.readUInt32LE(at + 12) + stub.readUInt32LE(at + 8));
  }
  return { imageBase, end };
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
  const pe = image.readUInt32LE(0x3c);
  image.writeUInt32LE(epoch >>> 0, pe + 8);
  const checksumOffset = pe + 24 + 64;
  image.writeUInt32LE(peChecksum(image, checksumOffset), checksumOffset);
}

export async function makeUki(parts: UkiParts, workDir: string, output: string): Promise<void> {
  const { imageBase, end } = peLayout(readFileSync(parts.stub));
  const sections: Array<[string, Buffer]> = [
    ['.osrel', Buffer.from(parts.osRelease)],
    ['.cmdline', Buffer.from(`${parts.cmdline}\0`)],
    ['.linux', parts.kernel],
    ['.initrd', parts.initrd],
  ];
  const args: string[] = [];
  let offset = alignPage(end);
  for (const [name, data] of sections) {
    const file = join(workDir, `uki${name}`);
    writeFileSync(file, data);
    args.push('--add-section', `${name}=${file}`, '--change-section-vma', `${name}=0x${(imageBase + BigInt(offset)).toString(16)}`);
    offset = alignPage(offset + data.length);
  }
  await runTool('objcopy', [...args, parts.stub, output]);
  const image = readFileSync(output);
  stampPe(image, parts.epoch);
  writeFileSync(output, image);
}
