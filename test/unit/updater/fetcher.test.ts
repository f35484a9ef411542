/**
 * The agent's metadata fetcher, against a real HTTP server on loopback: what tuf-js needs of it is
 * the body of a 200, a DownloadHTTPError carrying the status otherwise (a 404 for the next root
 * means "no newer root"), and a retry when the server fails for a moment.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MetadataFetcher } from '../../../src/updater/agent/fetcher.ts';

let server: Server;
let base: string;
let answers: number[];
let requests: string[];

beforeEach(async () => {
  answers = [];
  requests = [];
  server = createServer((request, response) => {
    requests.push(request.url!);
    const status = answers.shift() ?? 200;
    if (request.url === '/moved') {
      response.writeHead(302, { location: '/1.root.json' }).end();
      return;
    }
    response.writeHead(status).end(status === 200 ? `body of ${request.url}` : 'no');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('MetadataFetcher', () => {
  it('returns the body of a 200, following a redirect', async () => {
    const fetcher = new MetadataFetcher();
    expect((await fetcher.downloadBytes(`${base}/1.root.json`, 1000)).toString()).toBe('body of /1.root.json');
    expect((await fetcher.downloadBytes(`${base}/moved`, 1000)).toString()).toBe('body of /1.root.json');
  });

  it('fails a 404 at once with the status tuf-js looks for', async () => {
    answers = [404];
    const error = await new MetadataFetcher().downloadBytes(`${base}/2.root.json`, 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadHTTPError);
    expect((error as DownloadHTTPError).statusCode).toBe(404);
    expect(requests).toEqual(['/2.root.json']);
  });

  it('tries a 5xx twice more, then gives up with its status', async () => {
    answers = [503, 200];
    expect((await new MetadataFetcher().downloadBytes(`${base}/timestamp.json`, 1000)).toString()).toBe('body of /timestamp.json');
    answers = [500, 502, 503];
    requests = [];
    const error = await new MetadataFetcher().downloadBytes(`${base}/timestamp.json`, 1000).catch((e: unknown) => e);
    expect((error as DownloadHTTPError).statusCode).toBe(503);
    expect(requests).toHaveLength(3);
  });

  it('refuses a body longer than tuf-js allows the role', async () => {
    await expect(new MetadataFetcher().downloadBytes(`${base}/snapshot.json`, 5)).rejects.toThrow(/Max length reached/);
  });
});
