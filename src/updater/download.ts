/**
 * Streams a target from the repository into a file or partition at an offset, hashing as it
 * writes. A dropped connection resumes with an HTTP Range request; a 5xx is retried after a
 * backoff; bytes past the target's length, or a sha256 that does not match at the end, stop it.
 * The bytes are fsynced before it returns: what it reports written is on the disk.
 *
 * It uses node:http rather than fetch: under emulation, fetch's WebAssembly parser and web streams
 * moved a third of the bytes per second that node:http does, and held more memory.
 */
import { createHash, type Hash } from 'node:crypto';
import { fsyncSync, writeSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
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

const GC_EVERY = 4 * 1024 * 1024;

/**
 * Each socket read is a fresh buffer outside V8's heap, and V8 only collects them once tens of
 * MiB have piled up: a young-generation collection every few MiB keeps the agent's memory flat
 * (the agent's Node runs with --expose-gc; elsewhere this does nothing).
 */
function releaseChunks(): void {
  (globalThis as { gc?: (options: { type: string }) => void }).gc?.({ type: 'minor' });
}

/**
 * A GET that follows redirects, as object stores and CDNs send them. With `timeoutMs`, a socket
 * that stays silent that long fails the request (and the body's reads).
 */
export async function request(url: string, headers: Record<string, string>, redirects = 5, timeoutMs?: number): Promise<IncomingMessage> {
  const get = url.startsWith('https:') ? httpsGet : httpGet;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const sent = get(url, { headers }, resolve).on('error', reject);
    if (timeoutMs) sent.setTimeout(timeoutMs, () => sent.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
  });
  const location = response.headers.location;
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400 && location && redirects > 0) {
    response.resume();
    return request(new URL(location, url).href, headers, redirects - 1, timeoutMs);
  }
  return response;
}

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
      const response = await request(url, written > 0 ? { range: `bytes=${written}-` } : {}).catch((cause: unknown) => {
        throw new Retryable(`cannot reach ${url}: ${errorMessage(cause)}`);
      });
      const status = response.statusCode ?? 0;
      if (status >= 500) {
        response.resume();
        throw new Retryable(`${url} answered ${status}`);
      }
      if (written > 0 && status === 200) {
        // The server ignored the range: start over.
        written = 0;
        hash = createHash('sha256');
      } else if (status !== 200 && status !== 206) {
        response.resume();
        throw new NetworkError(`${url} answered ${status}`, 'check the repository URL; the target may have been removed');
      }
      try {
        for await (const chunk of response as AsyncIterable<Buffer>) {
          if (written + chunk.length > expected.length) {
            response.destroy();
            throw new VerificationError(`${url} runs past its length of ${expected.length} bytes`, 'the repository or something between it and the host is not serving what the signed metadata says');
          }
          writeSync(fd, chunk, 0, chunk.length, offset + written);
          hash.update(chunk);
          written += chunk.length;
          if (written % GC_EVERY < chunk.length) releaseChunks();
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
