/** sha256 digests, as hex: of bytes in memory, and of a file read in large chunks (artifacts are hundreds of MB). */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const CHUNK = 4 * 1024 * 1024;

/** Reads the next chunk while the current one is hashed: a disk image of 2 GB takes a second, not two. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  try {
    const buffers = [Buffer.alloc(CHUNK), Buffer.alloc(CHUNK)];
    let turn = 0;
    let pending = file.read(buffers[0]!, 0, CHUNK, null);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      if (bytesRead === 0) break;
      turn ^= 1;
      pending = file.read(buffers[turn]!, 0, CHUNK, null);
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await file.close();
  }
}
