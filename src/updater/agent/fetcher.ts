/**
 * How tuf-js fetches the repository's metadata on a host: over node:http, as the targets are.
 * tuf-js's own fetcher brings make-fetch-happen and its HTTP stack (iconv-lite's tables, caches,
 * proxies): 800 KB of the agent's 930 KB bundle, parsed at every start of slipway-update, which
 * under emulation took seconds. The bundle leaves that stack out (src/pipeline/bundle.ts).
 */
import type { IncomingMessage } from 'node:http';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { request } from '../download.ts';

/** tuf-js's defaults: 100 s of silence fails a request, which is tried twice more. */
const TIMEOUT_MS = 100_000;
const RETRIES = 2;
const RETRY_WAIT_MS = 1000;

export class MetadataFetcher extends BaseFetcher {
  async fetch(url: string): Promise<NodeJS.ReadableStream> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_WAIT_MS));
      let response: IncomingMessage;
      try {
        response = await request(url, {}, 5, TIMEOUT_MS);
      } catch (error) {
        if (attempt >= RETRIES) throw error;
        continue;
      }
      const status = response.statusCode ?? 0;
      if (status === 200) return response;
      response.resume();
      // tuf-js reads a 403 or 404 for the next root version as "no newer root".
      if (status < 500 || attempt >= RETRIES) throw new DownloadHTTPError(`${url} answered ${status}`, status);
    }
  }
}
