import { createSocket } from 'node:dgram';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs, FetchError, fetchBytes, leaseLookup, type Clock } from '../../../src/hostconfig/fetch.ts';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** How to stop each server a test started. */
const stops: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

/** A server on 127.0.0.1 that answers with `handler`, and the requests it got. */
async function serve(handler: Handler): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    requests.push(request);
    handler(request, response);
  });
  stops.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A port nothing listens on: a server's, once it closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A clock whose sleeps pass at once, recording each. */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: async (ms) => void (slept.push(ms), (now += ms)) };
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError;
}

describe('fetchBytes', () => {
  it('returns the body of a 200', async () => {
    const { url } = await serve((_request, response) => response.end('user data\n'));
    expect((await fetchBytes(`${url}/latest/user-data`, { maxBytes: 1024 })).toString()).toBe('user data\n');
  });

  it('sends the headers it is given', async () => {
    const { url, requests } = await serve((request, response) => response.end(request.headers['metadata-flavor'] === 'Google' ? 'ok' : 'no'));
    expect((await fetchBytes(url, { maxBytes: 10, headers: { 'Metadata-Flavor': 'Google' } })).toString()).toBe('ok');
    expect(requests[0]!.method).toBe('GET');
  });

  it('PUTs with headers and an empty body, as IMDSv2 asks for its token', async () => {
    const { url, requests } = await serve((request, response) => {
      const ttl = request.headers['x-aws-ec2-metadata-token-ttl-seconds'];
      response.statusCode = request.method === 'PUT' && ttl === '300' ? 200 : 400;
      response.end('token-1');
    });
    expect((await fetchBytes(`${url}/latest/api/token`, { method: 'PUT', maxBytes: 100, headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } })).toString()).toBe('token-1');
    expect(requests[0]!.method).toBe('PUT');
    expect(requests[0]!.headers['content-length']).toBe('0');
  });

  it('tells a 404 apart and does not ask again', async () => {
    const { url, requests } = await serve((_request, response) => {
      response.statusCode = 404;
      response.end('not found');
    });
    const clock = fakeClock();
    const error = await failure(fetchBytes(`${url}/latest/user-data`, { maxBytes: 100, clock }));
    expect(error.status).toBe(404);
    expect(error.url).toBe(`${url}/latest/user-data`);
    expect(error.message).toBe(`${url}/latest/user-data: HTTP 404 Not Found`);
    expect(requests).toHaveLength(1);
    expect(clock.slept).toEqual([]);
  });

  it('does not retry other 4xx either', async () => {
    const { url, requests } = await serve((_request, response) => {
      response.statusCode = 401;
      response.end();
    });
    expect((await failure(fetchBytes(url, { maxBytes: 100, clock: fakeClock() }))).status).toBe(401);
    expect(requests).toHaveLength(1);
  });

  it('retries 5xx with backoff, telling why before each retry', async () => {
    let answers = 0;
    const { url, requests } = await serve((_request, response) => {
      response.statusCode = ++answers <= 2 ? 500 : 200;
      response.end(answers <= 2 ? 'busy' : 'finally');
    });
    const clock = fakeClock();
    const retries: Array<[number, number, string]> = [];
    const body = await fetchBytes(url, { maxBytes: 100, clock, onRetry: (attempt, delayMs, reason) => retries.push([attempt, delayMs, reason]) });
    expect(body.toString()).toBe('finally');
    expect(requests).toHaveLength(3);
    expect(retries).toEqual([
      [1, 1000, 'HTTP 500 Internal Server Error'],
      [2, 2000, 'HTTP 500 Internal Server Error'],
    ]);
    expect(clock.slept).toEqual([1000, 2000]);
  });

  it('backs off 1, 2, 4, then every 8 s, until the time allowed is spent, keeping the last status', async () => {
    const { url, requests } = await serve((_request, response) => {
      response.statusCode = 429;
      response.end();
    });
    const clock = fakeClock();
    const error = await failure(fetchBytes(url, { maxBytes: 100, retryForMs: 30_000, clock }));
    // Tries at 0, 1, 3, 7, 15 and 23 s; the next would start at 31 s, past the 30 s allowed.
    expect(clock.slept).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(requests).toHaveLength(6);
    expect(error.status).toBe(429);
    expect(error.reason).toBe('HTTP 429 Too Many Requests');
    expect([1, 2, 3, 4, 5, 9].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('retries a refused connection until the time allowed is spent, then names the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/config.ign`;
    const clock = fakeClock();
    const reasons: string[] = [];
    const error = await failure(fetchBytes(url, { maxBytes: 100, retryForMs: 20_000, clock, onRetry: (_attempt, _delay, reason) => reasons.push(reason) }));
    expect(clock.slept).toEqual([1000, 2000, 4000, 8000]);
    expect(reasons).toEqual(Array(4).fill('connection refused'));
    expect(error.url).toBe(url);
    expect(error.status).toBeUndefined();
    expect(error.message).toBe(`${url}: connection refused`);
  });

  it('waits for real by default, and gives up once the time allowed is spent', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const started = Date.now();
    const delays: number[] = [];
    await failure(fetchBytes(url, { maxBytes: 100, retryForMs: 1500, onRetry: (_attempt, delayMs) => delays.push(delayMs) }));
    // One retry after 1 s; the next (2 s later) would pass the 1.5 s allowed.
    expect(delays).toEqual([1000]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('gives each attempt a timeout that ends by the deadline', async () => {
    const { url, requests } = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    const error = await failure(fetchBytes(url, { maxBytes: 100, retryForMs: 300 }));
    expect(error.reason).toMatch(/^no answer in (2[5-9]\d|300) ms$/); // the deadline less the moment spent before the attempt
    expect(requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('cuts off a server that trickles its body, within the attempt\'s timeout', async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      const timer = setInterval(() => response.write('x'), 20);
      response.on('close', () => clearInterval(timer));
    });
    const error = await failure(fetchBytes(url, { maxBytes: 1000, retryForMs: 400 }));
    expect(error.reason).toMatch(/^no answer in (3[5-9]\d|400) ms$/);
  });

  it('refuses a body past maxBytes without reading the rest', async () => {
    const total = 64 * 1024 ** 2;
    let written = 0;
    let finished = false;
    const { url } = await serve((_request, response) => {
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const write = () => {
        while (written < total) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', write);
        }
        finished = true;
        response.end();
      };
      response.on('close', () => response.removeAllListeners('drain'));
      write();
    });
    const error = await failure(fetchBytes(url, { maxBytes: 100_000, clock: fakeClock() }));
    expect(error.reason).toBe('the body is more than the 100000 bytes allowed');
    expect(error.status).toBeUndefined();
    expect(finished).toBe(false);
    expect(written).toBeLessThan(total / 4);
  });

  it('refuses a body whose length says it is too large before reading any of it', async () => {
    const { url } = await serve((_request, response) => {
      response.writeHead(200, { 'content-length': String(2 * 1024 ** 2) });
      response.write(Buffer.alloc(1024));
    });
    expect((await failure(fetchBytes(url, { maxBytes: 1024 ** 2, clock: fakeClock() }))).reason).toBe('the body is 2097152 bytes, more than the 1048576 allowed');
  });

  it('takes a body of exactly maxBytes', async () => {
    const { url } = await serve((_request, response) => response.end(Buffer.alloc(4096, 1)));
    expect(await fetchBytes(url, { maxBytes: 4096 })).toHaveLength(4096);
  });

  it('follows redirects, relative or not, with the headers', async () => {
    const { url, requests } = await serve((request, response) => {
      if (request.url === '/a') return void response.writeHead(302, { location: '/b' }).end();
      if (request.url === '/b') return void response.writeHead(301, { location: `${url}/c` }).end();
      response.end(`at ${request.url} with ${request.headers['x-token']}`);
    });
    expect((await fetchBytes(`${url}/a`, { maxBytes: 100, headers: { 'X-Token': 't' } })).toString()).toBe('at /c with t');
    expect(requests.map((r) => r.url)).toEqual(['/a', '/b', '/c']);
  });

  it('keeps credentials from another host a redirect names', async () => {
    const other = await serve((request, response) => response.end(`${request.headers.authorization ?? 'none'} ${request.headers['x-other'] ?? ''}`));
    const first = await serve((_request, response) => response.writeHead(307, { location: other.url.replace('127.0.0.1', 'localhost') }).end());
    expect((await fetchBytes(first.url, { maxBytes: 100, headers: { Authorization: 'Bearer secret', 'X-Other': 'kept' } })).toString()).toBe('none kept');
  });

  it('stops after 5 redirects, and at a redirect without a Location', async () => {
    const { url, requests } = await serve((request, response) => {
      if (request.url === '/nowhere') return void response.writeHead(302).end();
      response.writeHead(302, { location: `/r${requests.length}` }).end();
    });
    expect((await failure(fetchBytes(`${url}/r0`, { maxBytes: 100, clock: fakeClock() }))).reason).toBe('more than 5 redirects');
    expect(requests).toHaveLength(6);
    const error = await failure(fetchBytes(`${url}/nowhere`, { maxBytes: 100, clock: fakeClock() }));
    expect([error.status, error.reason]).toEqual([302, 'HTTP 302 Found without a Location to follow']);
  });

  it('follows http and https only', async () => {
    const { url } = await serve((_request, response) => response.writeHead(302, { location: 'file:///etc/shadow' }).end());
    expect((await failure(fetchBytes(url, { maxBytes: 100 }))).reason).toBe('redirected to a file: URL (http: or https: only)');
    for (const other of ['file:///etc/passwd', 'tftp://192.0.2.1/c.ign', 's3://bucket/c.ign']) {
      const error = await failure(fetchBytes(other, { maxBytes: 100 }));
      expect(error.url).toBe(other);
      expect(error.reason).toMatch(/^[a-z0-9]+: URLs cannot be fetched \(http: or https: only\)$/);
    }
    expect((await failure(fetchBytes('not a url', { maxBytes: 100 }))).reason).toBe('not a URL');
  });
});

/** A DNS server on 127.0.0.1 that knows one name (A records only), as a DHCP lease's server would. */
async function dnsServer(name: string, address: string): Promise<{ server: string; queries: string[] }> {
  const socket = createSocket('udp4');
  stops.push(() => new Promise((resolve) => socket.close(() => resolve())));
  const queries: string[] = [];
  socket.on('message', (query, peer) => {
    // The question: labels from byte 12, then type and class.
    const labels: string[] = [];
    let at = 12;
    while (query[at]! > 0) {
      labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString());
      at += query[at]! + 1;
    }
    const question = query.subarray(12, at + 5);
    const type = query.readUInt16BE(at + 1);
    queries.push(`${labels.join('.')} ${type}`);
    const known = labels.join('.') === name && type === 1;
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(known ? 1 : 0, 6);
    const answer = Buffer.concat([Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from(address.split('.').map(Number))]);
    socket.send(Buffer.concat([header, question, ...(known ? [answer] : [])]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: `127.0.0.1:${socket.address().port}`, queries };
}

describe('names resolved through the DHCP lease\'s servers (SLIPWAY_DNS)', () => {
  afterEach(() => {
    delete process.env.SLIPWAY_DNS;
  });

  it('resolves a host name through the servers SLIPWAY_DNS names', async () => {
    const dns = await dnsServer('config.slipway.test', '127.0.0.1');
    const { url } = await serve((request, response) => response.end(`host ${request.headers.host}`));
    process.env.SLIPWAY_DNS = `${dns.server}`;
    const port = new URL(url).port;
    expect((await fetchBytes(`http://config.slipway.test:${port}/c.ign`, { maxBytes: 100, retryForMs: 2000 })).toString()).toBe(`host config.slipway.test:${port}`);
    expect(dns.queries).toContain('config.slipway.test 1');
  });

  it('needs no lookup for an IP literal', async () => {
    const dns = await dnsServer('config.slipway.test', '127.0.0.1');
    const { url } = await serve((_request, response) => response.end('ok'));
    process.env.SLIPWAY_DNS = dns.server;
    expect((await fetchBytes(url, { maxBytes: 100 })).toString()).toBe('ok');
    expect(dns.queries).toEqual([]);
  });

  it('retries a name the servers do not know, as the network may still be coming up', async () => {
    const dns = await dnsServer('config.slipway.test', '127.0.0.1');
    process.env.SLIPWAY_DNS = dns.server;
    const clock = fakeClock();
    const error = await failure(fetchBytes('http://unknown.slipway.test/c.ign', { maxBytes: 100, retryForMs: 2500, clock }));
    expect(error.reason).toBe('host name not found');
    expect(clock.slept).toEqual([1000]);
  });

  it('uses the default lookup when SLIPWAY_DNS names no server', () => {
    expect(leaseLookup({})).toBeUndefined();
    expect(leaseLookup({ SLIPWAY_DNS: '' })).toBeUndefined();
    expect(leaseLookup({ SLIPWAY_DNS: 'not-an-ip, ' })).toBeUndefined();
    expect(leaseLookup({ SLIPWAY_DNS: '192.0.2.53,192.0.2.54' })).toBeTypeOf('function');
  });

  it('answers a lookup that asks for every address, as Node 20\'s connections do', async () => {
    const dns = await dnsServer('config.slipway.test', '192.0.2.7');
    const lookup = leaseLookup({ SLIPWAY_DNS: dns.server })!;
    const all = await new Promise((resolve, reject) => lookup('config.slipway.test', { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses))));
    expect(all).toEqual([{ address: '192.0.2.7', family: 4 }]);
    const one = await new Promise((resolve, reject) => lookup('config.slipway.test', {}, (error, address, family) => (error ? reject(error) : resolve([address, family]))));
    expect(one).toEqual(['192.0.2.7', 4]);
  });
});
