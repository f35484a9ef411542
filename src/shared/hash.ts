/**
 * sha256 digests, as hex: of bytes in memory, of a file read in large chunks (artifacts are hundreds
 * of MB), and of bytes fed to another thread as they are written.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

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

// Plain JavaScript, evaluated as the thread's program: a worker cannot load the TypeScript sources.
const HASH_THREAD = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
const zeros = Buffer.alloc(${CHUNK});
parentPort.on('message', (message) => {
  if (message.data) {
    hash.update(message.data);
    parentPort.postMessage({ hashed: message.data.byteLength });
  } else if (message.zeros !== undefined) {
    for (let left = message.zeros; left > 0; left -= zeros.length) hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
  } else {
    parentPort.postMessage({ digest: hash.digest('hex') });
  }
});
`;

/** How many bytes may wait for the hashing thread before the writer waits for it. */
const IN_FLIGHT_LIMIT = 4 * CHUNK;

/**
 * A sha256 computed on a thread of its own, fed in order, so whoever writes the bytes goes on
 * while they are hashed; a run of zeros is only counted. Once `digest` is asked for, the thread
 * finishes on its own time and the writer need not wait for it.
 */
export class ThreadedSha256 {
  private readonly worker = new Worker(HASH_THREAD, { eval: true });
  private inFlight = 0;
  private drained?: () => void;
  private finished?: (digest: string) => void;
  private failure?: Error;

  constructor() {
    this.worker.on('message', (message: { hashed?: number; digest?: string }) => {
      if (message.digest !== undefined) {
        this.finished?.(message.digest);
        void this.worker.terminate();
        return;
      }
      this.inFlight -= message.hashed!;
      if (this.inFlight <= IN_FLIGHT_LIMIT) this.drained?.();
    });
    this.worker.on('error', (error) => {
      this.failure = error;
      this.drained?.();
    });
  }

  /** Hashes a copy of `data`; waits while too much is still unhashed. */
  async update(data: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    this.inFlight += data.byteLength;
    this.worker.postMessage({ data });
    if (this.inFlight > IN_FLIGHT_LIMIT) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
      this.drained = undefined;
      if (this.failure) throw this.failure;
    }
  }

  zeros(length: number): void {
    this.worker.postMessage({ zeros: length });
  }

  /** Stops the thread without a digest (the writing failed). */
  abandon(): void {
    void this.worker.terminate();
  }

  digest(): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.finished = resolve;
      this.worker.once('error', reject);
      this.worker.postMessage({ finish: true });
    });
  }
}
