/**
 * gzip inflated within a bound, as input from elsewhere must be: a few kilobytes of gzip can
 * inflate into gigabytes. Host configs, their files and a platform's user data share one bound,
 * what a whole host config may be.
 */
import { gunzipSync } from 'node:zlib';
import { MAX_DOCUMENT_BYTES } from './yaml.ts';

/** As much as a host config, or anything in it, may be once inflated (and fetched): 16 MiB. */
export const MAX_CONFIG_BYTES = MAX_DOCUMENT_BYTES;

export class InflateError extends Error {
  constructor(readonly tooLarge: boolean) {
    super(tooLarge ? `inflates past ${MAX_CONFIG_BYTES / 1024 ** 2} MiB, the most a host config may be` : 'is not valid gzip');
  }
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The inflated bytes; throws InflateError for what does not inflate or inflates past `limit`. */
export function inflateBounded(bytes: Uint8Array, limit = MAX_CONFIG_BYTES): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (error) {
    throw new InflateError((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE');
  }
}

/**
 * One config's gzip-compressed contents, inflated within one bound for all of them: a hundred small
 * files that each inflate to 16 MiB must not make 1.6 GiB.
 */
export class InflateAllowance {
  private used = 0;

  inflate(bytes: Uint8Array): Buffer {
    const inflated = inflateBounded(bytes, MAX_CONFIG_BYTES - this.used);
    this.used += inflated.length;
    return inflated;
  }
}
