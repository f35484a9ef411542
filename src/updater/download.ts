/**
 * Streams a target from the repository into a file or partition at an offset, hashing as it
 * writes. A dropped connection resumes with an HTTP Range request; a 5xx is retried after a
 * backoff; bytes past the target's length, or a sha256 that does not match at the end, stop it.
 * The bytes are fsynced before it returns: what it reports written is on the disk.
 */
import { createHash, type Hash } from 'node:crypto';
import { fsyncSync, writeSync } from 'node:fs';
import { NetworkError, VerificationError, errorMessage } from '../errors.ts';

export interface Expected {
  length: number;
  sha256: string;
}

export interface DownloadOptions {
  /** Attempts after the first, for dropped connections and 5xx answers. */
  retries?: number;
  /** The first wait between attempts, in ms; it doubles each time. */
  backoffMs?: number;
  onProgress?: (written: number, total: number) => void;
  /** Called before each attempt with the byte it starts from (for tests and logs). */
  onAttempt?: (from: number) => void;
}

export interface DownloadResult {
  bytes: number;
  /** How many HTTP requests it took (1 when nothing broke). */
  requests: number;
}

class Retryable extends Error {}

export async function downloadInto(url: string, fd: number, offset: number, expected: Expected, options: DownloadOptions = {}): Promise<DownloadResult> {
  const retries = options.retries ?? 5;
  let backoff = options.backoffMs ?? 1000;
  let written = 0;
  let hash: Hash = createHash('sha256');
  let requests = 0;
  for (;;) {
    requests++;
    options.onAttempt?.(written);
    try {
      const response = await fetch(url, { headers: written > 0 ? { range: `bytes=${written}-` } : {} }).catch((cause: unknown) => {
        throw new Retryable(`cannot reach ${url}: ${errorMessage(cause)}`);
      });
      if (response.status >= 500) throw new Retryable(`${url} answered ${response.status}`);
      if (written > 0 && response.status === 200) {
        // The server ignored the range: start over.
        written = 0;
        hash = createHash('sha256');
      } else if (response.status !== 200 && response.status !== 206) {
        throw new NetworkError(`${url} answered ${response.status}`, 'check the repository URL; the target may have been removed');
      }
      if (!response.body) throw new Retryable(`${url} sent no body`);
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          if (written + chunk.length > expected.length) {
            throw new VerificationError(`${url} runs past its length of ${expected.length} bytes`, 'the repository or something between it and the host is not serving what the signed metadata says');
          }
          writeSync(fd, chunk, 0, chunk.length, offset + written);
          hash.update(chunk);
          written += chunk.length;
          options.onProgress?.(written, expected.length);
        }
      } catch (error) {
        if (error instanceof VerificationError) throw error;
        throw new Retryable(`the connection to ${url} broke after ${written} bytes: ${errorMessage(error)}`);
      }
      if (written < expected.length) throw new Retryable(`${url} ended after ${written} of ${expected.length} bytes`);
      fsyncSync(fd);
      const actual = hash.digest('hex');
      if (actual !== expected.sha256) {
        throw new VerificationError(`${url} has sha256 ${actual}, not ${expected.sha256} as the signed metadata says`, 'the repository or something between it and the host altered it; nothing was installed');
      }
      return { bytes: written, requests };
    } catch (error) {
      if (!(error instanceof Retryable)) throw error;
      if (requests > retries) throw new NetworkError(`${error.message} (gave up after ${requests} attempts)`, 'check the network and the repository; the running system is untouched');
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff *= 2;
    }
  }
}
