/**
 * dm-verity's root hash, computed from a written slot: the hash tree of the root partition's
 * blocks (format 1: sha256 over salt + block), with the parameters from the verity partition's
 * superblock. An update compares it with the root hash the signed metadata names before it makes
 * the slot bootable, so a slot that would fail verification at boot is never switched to.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { VerificationError } from '../errors.ts';

export interface VeritySuperblock {
  hashType: number;
  algorithm: string;
  dataBlockSize: number;
  hashBlockSize: number;
  dataBlocks: number;
  salt: Buffer;
}

export function parseSuperblock(block: Buffer): VeritySuperblock {
  if (block.toString('latin1', 0, 8) !== 'verity\0\0') throw new VerificationError('the verity partition has no verity superblock', 'the slot was not written completely; apply the update again');
  // struct verity_sb: signature, version, hash_type, uuid, algorithm, block sizes, data_blocks, salt.
  const saltSize = block.readUInt16LE(80);
  return {
    hashType: block.readUInt32LE(12),
    algorithm: block.toString('latin1', 32, 64).replace(/\0.*$/s, ''),
    dataBlockSize: block.readUInt32LE(64),
    hashBlockSize: block.readUInt32LE(68),
    dataBlocks: Number(block.readBigUInt64LE(72)),
    salt: Buffer.from(block.subarray(88, 88 + saltSize)),
  };
}

const READ_CHUNK = 1024 * 1024;

/** Hashes the data blocks of `dataPath` and builds the tree up to its root hash (hex). */
export function computeRootHash(dataPath: string, dataOffset: number, superblock: VeritySuperblock): string {
  const { dataBlockSize, hashBlockSize, dataBlocks, salt, hashType } = superblock;
  if (superblock.algorithm !== 'sha256' || hashType !== 1) throw new VerificationError(`verity with ${superblock.algorithm}, format ${hashType}, is not supported`, 'slipway builds sha256, format 1');
  const salted = createHash('sha256').update(salt);
  const digest = (block: Buffer) => salted.copy().update(block).digest();
  const bytesOfDigestsPerBlock = Math.floor(hashBlockSize / 32) * 32;
  /** One level of the tree: digests packed into hash blocks, zero-padded. */
  const pack = (digests: Buffer): Buffer[] => {
    const blocks: Buffer[] = [];
    for (let at = 0; at < digests.length; at += bytesOfDigestsPerBlock) {
      const block = Buffer.alloc(hashBlockSize);
      digests.copy(block, 0, at, Math.min(at + bytesOfDigestsPerBlock, digests.length));
      blocks.push(block);
    }
    return blocks;
  };
  // The data blocks' digests, in one buffer rather than an object each (a slot has tens of thousands).
  const level0 = Buffer.alloc(dataBlocks * 32);
  const fd = openSync(dataPath, 'r');
  try {
    const buffer = Buffer.alloc(READ_CHUNK - (READ_CHUNK % dataBlockSize));
    let block = 0;
    while (block < dataBlocks) {
      const want = Math.min(buffer.length, (dataBlocks - block) * dataBlockSize);
      const read = readSync(fd, buffer, 0, want, dataOffset + block * dataBlockSize);
      if (read < want) throw new VerificationError(`the root partition ends after ${block * dataBlockSize + read} bytes`, 'the slot is smaller than the image; apply the update again');
      for (let at = 0; at < read; at += dataBlockSize) digest(buffer.subarray(at, at + dataBlockSize)).copy(level0, (block + at / dataBlockSize) * 32);
      block += read / dataBlockSize;
    }
  } finally {
    closeSync(fd);
  }
  let level = pack(level0);
  while (level.length > 1) level = pack(Buffer.concat(level.map(digest)));
  return digest(level[0]!).toString('hex');
}

/** Where a slot half lives: a partition device (offset 0), or a disk or image at an offset. */
export interface SlotPart {
  path: string;
  offset: number;
}

/**
 * Reads the superblock at the start of the verity part and computes the slot's root hash. The agent
 * passes the partition devices it wrote through: the whole disk's device has a page cache of its
 * own, which can still hold what the slot contained before.
 */
export function slotRootHash(root: SlotPart, verity: SlotPart): string {
  const fd = openSync(verity.path, 'r');
  const block = Buffer.alloc(512);
  try {
    readSync(fd, block, 0, 512, verity.offset);
  } finally {
    closeSync(fd);
  }
  return computeRootHash(root.path, root.offset, parseSuperblock(block));
}
