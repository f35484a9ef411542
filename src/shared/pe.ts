/**
 * The headers of a PE32+ file (an EFI program): what the UKI builder places sections after and
 * stamps, and what the Authenticode check hashes around.
 */

/** A file that is not a PE32+ image; the message completes "the file …" (`is not a PE file`). */
export class PeFormatError extends Error {}

export interface PeSection {
  name: string;
  virtualAddress: number;
  virtualSize: number;
  /** Where the section's bytes are in the file, and how many. */
  rawOffset: number;
  rawSize: number;
}

export interface PeHeaders {
  imageBase: bigint;
  sizeOfImage: number;
  sizeOfHeaders: number;
  /** Where the header's timestamp, image checksum and certificate table entry (the fifth data directory) are. */
  timestampOffset: number;
  checksumOffset: number;
  certificateEntryOffset: number;
  sections: PeSection[];
}

export function readPeHeaders(image: Buffer): PeHeaders {
  if (image.length < 0x40 || image.toString('latin1', 0, 2) !== 'MZ') throw new PeFormatError('is not a PE file');
  const pe = image.readUInt32LE(0x3c);
  if (pe + 24 > image.length || image.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new PeFormatError('has no PE header');
  const sectionCount = image.readUInt16LE(pe + 6);
  const optional = pe + 24;
  const table = optional + image.readUInt16LE(pe + 20);
  if (optional + 152 > image.length || table + sectionCount * 40 > image.length) throw new PeFormatError('has headers cut short');
  if (image.readUInt16LE(optional) !== 0x20b) throw new PeFormatError('is not a PE32+ image');
  const sections = Array.from({ length: sectionCount }, (_, i) => {
    const at = table + i * 40;
    return {
      name: image.toString('latin1', at, at + 8).replace(/\0+$/, ''),
      virtualSize: image.readUInt32LE(at + 8),
      virtualAddress: image.readUInt32LE(at + 12),
      rawSize: image.readUInt32LE(at + 16),
      rawOffset: image.readUInt32LE(at + 20),
    };
  });
  return {
    imageBase: image.readBigUInt64LE(optional + 24),
    sizeOfImage: image.readUInt32LE(optional + 56),
    sizeOfHeaders: image.readUInt32LE(optional + 60),
    timestampOffset: pe + 8,
    checksumOffset: optional + 64,
    certificateEntryOffset: optional + 112 + 4 * 8,
    sections,
  };
}

/** A section's bytes in the file (as long as its virtual size, at most). */
export function sectionBytes(image: Buffer, section: PeSection): Buffer {
  return image.subarray(section.rawOffset, section.rawOffset + Math.min(section.virtualSize, section.rawSize));
}

/** A section's bytes by name (`.sbat`), or undefined. */
export function peSection(image: Buffer, name: string): Buffer | undefined {
  const section = readPeHeaders(image).sections.find((candidate) => candidate.name === name);
  return section && sectionBytes(image, section);
}
