/** HTTP downloads with retries, verified against a sha256 and size before they are kept. */
import { createHash } from 'node:crypto';
import { createWriteStream, rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NetworkError, VerificationError, errorMessage } from '../errors.ts';
import type { ContentCache } from './cache.ts';

const ATTEMPTS = 3;
const USER_AGENT = 'slipway';

export interface Expected {
  sha256: string;
  size: number;
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`${url}: HTTP ${status}`);
  }
}

async function withRetries<T>(url: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < ATTEMPTS; i++) {
    try {
      return await attempt();
    } catch (error) {
      lastError = error;
      if (signal?.aborted) throw signal.reason;
      const retryable = !(error instanceof HttpStatusError) || error.status >= 500 || error.status === 429;
      if (!retryable || error instanceof VerificationError) break;
      await new Promise((resolve) => setTimeout(resolve, 300 * 2 ** i));
    }
  }
  if (lastError instanceof VerificationError) throw lastError;
  const status = lastError instanceof HttpStatusError ? lastError.status : undefined;
  throw new NetworkError(
    status ? `${url}: the server answered HTTP ${status}` : `${url}: ${errorMessage(lastError)}`,
    status === 404
      ? 'the archive no longer has this file; check the suite, or re-pin with `slipway lock`'
      : 'check the mirror URL and your network, then try again',
    { cause: lastError },
  );
}

async function get(url: string, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { 'user-agent': USER_AGENT }, signal });
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(cause ? errorMessage(cause) : errorMessage(error), { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpStatusError(response.status, url);
  }
  return response;
}

export async function fetchBuffer(url: string): Promise<Buffer> {
  return withRetries(url, async () => Buffer.from(await (await get(url)).arrayBuffer()));
}

/** Bytes that are not what was expected; `sha256` is theirs when they were the expected length. */
export class ContentMismatch extends VerificationError {
  constructor(url: string, what: string, readonly sha256?: string) {
    super(`${url}: ${what}`, 'the mirror served other bytes than its signed index promises; try again later or use another mirror');
  }
}

function mismatch(url: string, what: string, sha256?: string): ContentMismatch {
  return new ContentMismatch(url, what, sha256);
}

/**
 * Downloads into the cache under the expected sha256, unless it is there already. The bytes are
 * hashed as they arrive; nothing is kept unless both hash and size match.
 */
export async function downloadToCache(
  url: string,
  cache: ContentCache,
  kind: string,
  expected: Expected,
  suffix = '',
  signal?: AbortSignal,
): Promise<{ path: string; downloaded: boolean }> {
  if (cache.has(kind, expected.sha256, suffix)) return { path: cache.pathFor(kind, expected.sha256, suffix), downloaded: false };
  return withRetries(url, async () => {
    const temp = cache.tempPathFor(kind);
    try {
      const response = await get(url, signal);
      const hash = createHash('sha256');
      let size = 0;
      const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
      body.on('data', (chunk: Buffer) => {
        size += chunk.length;
        hash.update(chunk);
        if (size > expected.size) body.destroy(mismatch(url, `longer than the ${expected.size} bytes the index promises`));
      });
      await pipeline(body, createWriteStream(temp));
      if (size !== expected.size) throw mismatch(url, `${size} bytes where the index promises ${expected.size}`);
      const actual = hash.digest('hex');
      if (actual !== expected.sha256) throw mismatch(url, `sha256 ${actual} where the index promises ${expected.sha256}`, actual);
      return { path: cache.commit(temp, kind, expected.sha256, suffix), downloaded: true };
    } finally {
      rmSync(temp, { force: true });
    }
  }, signal);
}
