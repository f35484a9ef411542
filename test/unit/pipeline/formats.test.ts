import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../src/errors.ts';
import { manifestFor } from '../../../src/hostconfig/read.ts';
import { FORMATS, FORMAT_NAMES, isDiskFormat, stampVhdFooter, vmdkDescriptorPlace, withVmdkCid } from '../../../src/pipeline/formats.ts';

const MiB = 1024 * 1024;
const UUID = '0123abcd-4567-489a-bcde-f0123456789a';
/** 2025-05-10T09:30:00Z */
const EPOCH = 1_746_869_400;

/** A fixed VHD footer laid out as the specification has it (and qemu-img writes it), with a checksum. */
function vhdFooter(size: number, diskType = 2): Buffer {
  const footer = Buffer.alloc(512);
  footer.write('conectix', 0, 'latin1');
  footer.writeUInt32BE(2, 8); // features: reserved bit
  footer.writeUInt32BE(0x00010000, 12); // version 1.0
  footer.writeBigUInt64BE(0xffffffffffffffffn, 16); // no dynamic header
  footer.writeUInt32BE(12345, 24); // a time of qemu-img's clock
  footer.write('qem2', 28, 'latin1');
  footer.writeBigUInt64BE(BigInt(size), 40);
  footer.writeBigUInt64BE(BigInt(size), 48);
  footer.writeUInt32BE(diskType, 60);
  footer.fill(0x5a, 68, 84); // qemu-img's random UUID
  footer.writeUInt32BE(checksum(footer), 64);
  return footer;
}

/** The VHD specification's checksum: the ones' complement of the sum of the footer's bytes but its own four. */
function checksum(footer: Buffer): number {
  let sum = 0;
  footer.forEach((byte, i) => {
    if (i < 64 || i > 67) sum += byte;
  });
  return (0xffffffff - sum) >>> 0;
}

describe('the format registry', () => {
  it('names the cloud formats beside raw and qcow2, each a disk with its extension', () => {
    expect(FORMAT_NAMES).toEqual(['raw', 'qcow2', 'vhd', 'vmdk', 'gce', 'netboot', 'iso']);
    expect(Object.fromEntries(Object.entries(FORMATS).map(([name, f]) => [name, f.extension]))).toEqual({ raw: 'raw', qcow2: 'qcow2', vhd: 'vhd', vmdk: 'vmdk', gce: 'tar.gz' });
    for (const name of ['vhd', 'vmdk', 'gce']) expect(isDiskFormat(name)).toBe(true);
  });

  // `boot --config`, `config validate --image` and `boot`'s sealing check find the manifest beside
  // the image they are given, whichever disk format it is.
  it('maps every disk format\'s file back to the manifest beside it', () => {
    for (const { extension } of Object.values(FORMATS)) expect(manifestFor(`out/host_1.0.0.${extension}`)).toBe('out/host_1.0.0.manifest.json');
  });
});

describe('stampVhdFooter', () => {
  const size = 64 * MiB;

  it('sets the time from SOURCE_DATE_EPOCH (seconds since 2000) and the UUID, with a checksum that holds', () => {
    const footer = vhdFooter(size);
    const stamped = stampVhdFooter(footer, { size, sourceDateEpoch: EPOCH, uuid: UUID });
    expect(stamped.readUInt32BE(24)).toBe(EPOCH - Date.UTC(2000, 0, 1) / 1000);
    expect(stamped.subarray(68, 84).toString('hex')).toBe(UUID.replace(/-/g, ''));
    expect(stamped.readUInt32BE(64)).toBe(checksum(stamped));
    expect(stamped.readUInt32BE(64)).not.toBe(footer.readUInt32BE(64));
    // Everything else is qemu-img's, and the footer given is left alone.
    const differs = [...stamped.keys()].filter((i) => stamped[i] !== footer[i]);
    expect(differs.every((i) => (i >= 24 && i < 28) || (i >= 64 && i < 84))).toBe(true);
    expect(footer.readUInt32BE(24)).toBe(12345);
  });

  it('gives the same footer for the same build, whatever qemu-img stamped', () => {
    const other = vhdFooter(size);
    other.writeUInt32BE(99999, 24);
    other.fill(0x11, 68, 84);
    other.writeUInt32BE(checksum(other), 64);
    const stamp = { size, sourceDateEpoch: EPOCH, uuid: UUID };
    expect(stampVhdFooter(other, stamp).equals(stampVhdFooter(vhdFooter(size), stamp))).toBe(true);
  });

  it('counts a time before 2000 as 2000', () => {
    expect(stampVhdFooter(vhdFooter(size), { size, sourceDateEpoch: 0, uuid: UUID }).readUInt32BE(24)).toBe(0);
  });

  it('refuses what is not a fixed VHD footer of the disk\'s size', () => {
    const stamp = { size, sourceDateEpoch: EPOCH, uuid: UUID };
    expect(() => stampVhdFooter(Buffer.alloc(512), stamp)).toThrow(new ImageError('the VHD qemu-img made has no VHD footer', 'check the qemu-img version (qemu-utils)'));
    expect(() => stampVhdFooter(vhdFooter(size, 3), stamp)).toThrow('is a VHD of disk type 3, not fixed (2)');
    expect(() => stampVhdFooter(vhdFooter(size + 512), stamp)).toThrow(`says the disk has ${size + 512} bytes, not ${size}`);
  });
});

describe('the VMDK descriptor', () => {
  const descriptor = '# Disk DescriptorFile\nversion=1\nCID=838caee\nparentCID=ffffffff\ncreateType="streamOptimized"\n\n# Extent description\nRW 131072 SPARSE "host_1.0.0.vmdk"\n';

  it('is where the sparse extent header says', () => {
    const header = Buffer.alloc(512);
    header.write('KDMV', 0, 'latin1');
    header.writeBigUInt64LE(1n, 28);
    header.writeBigUInt64LE(20n, 36);
    expect(vmdkDescriptorPlace(header)).toEqual({ offset: 512, length: 20 * 512 });
    expect(() => vmdkDescriptorPlace(Buffer.alloc(512))).toThrow('has no sparse extent header');
  });

  it('gets the CID given, and keeps the rest of its text and the zeros after it', () => {
    const area = Buffer.alloc(10 * 512);
    area.write(descriptor, 'latin1');
    const out = withVmdkCid(area, '8164642b');
    expect(out.length).toBe(area.length);
    const text = out.toString('latin1', 0, out.indexOf(0));
    expect(text).toBe(descriptor.replace('CID=838caee', 'CID=8164642b'));
    expect(out.subarray(text.length).every((b) => b === 0)).toBe(true);
    // parentCID is another line, and stays.
    expect(text).toContain('\nparentCID=ffffffff\n');
  });

  it('refuses a descriptor without a CID', () => {
    const area = Buffer.alloc(512);
    area.write('# Disk DescriptorFile\nversion=1\n', 'latin1');
    expect(() => withVmdkCid(area, '8164642b')).toThrow('has no CID in its descriptor');
  });
});
