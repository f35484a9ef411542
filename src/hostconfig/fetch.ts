/**
 * The first boot's HTTP(S) fetches: a platform's metadata, a config at a URL, what an Ignition config
 * names by URL. Bounded in size (the body is refused as soon as it passes the limit, never buffered
 * past it) and in time: connection failures, timeouts, 5xx and 429 are tried again with backoff (1,
 * 2, 4, then every 8 s) until the time allowed is spent; other answers are final, and 404 is told
 * apart (a metadata service's "no user data"). Redirects are followed, up to 5, never from https to
 * plain http. Runs in the image's Node 18 (node: built-ins only, no global fetch), in the initrd,
 * where the image's /etc/resolv.conf is not usable: host names are resolved through the DHCP lease's
 * servers when the initrd passes them in SLIPWAY_DNS.
 */
import { Resolver } from 'node:dns';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

export interface FetchOptions {
  method?: 'GET' | 'PUT';
  headers?: Record<string, string>;
  /** The most bytes the body may have; more is an error naming the limit (reading stops at once). */
  maxBytes: number;
  /** How long to keep retrying, in ms, in all (default 60 s). Each attempt also has its own timeout (10 s, never past the deadline). */
  retryForMs?: number;
  /** Called before each retry with its number (1 for the first), the delay before it and the reason. */
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** How time passes: tests give a clock whose `sleep` advances `now` at once. */
  clock?: Clock;
}

export interface Clock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** A fetch that failed for good: `status` is the HTTP status when the server answered (404: nothing there). */
export class FetchError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly status?: number,
  ) {
    super(`${url}: ${reason}`);
    this.name = 'FetchError';
  }
}

const DEFAULT_RETRY_FOR_MS = 60_000;
const ATTEMPT_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 5;
/** Headers that carry credentials: not sent on to another host a redirect names. */
const CREDENTIALS = new Set(['authorization', 'cookie', 'proxy-authorization']);

const realClock: Clock = { now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

/** The delay before retry number `retry` (1-based): 1, 2, 4, then 8 s. */
export function backoffMs(retry: number): number {
  return Math.min(1000 * 2 ** (retry - 1), 8000);
}

/** `1.2.3.4`, `1.2.3.4:53`, `::1` or `[::1]:53`: what dns.Resolver.setServers takes. */
function isServer(entry: string): boolean {
  return isIP(entry) !== 0 || /^(\d{1,3}\.){3}\d{1,3}:\d{1,5}$/.test(entry) || /^\[[0-9A-Fa-f:.]+\]:\d{1,5}$/.test(entry);
}

/** A lookup through the DNS servers in SLIPWAY_DNS (the DHCP lease's), or none when it names none. */
export function leaseLookup(env: NodeJS.ProcessEnv = process.env): LookupFunction | undefined {
  const servers = (env.SLIPWAY_DNS ?? '').split(',').map((entry) => entry.trim()).filter(isServer);
  if (servers.length === 0) return undefined;
  const resolver = new Resolver();
  resolver.setServers(servers);
  return (hostname, options, callback) => {
    const answer = (error: NodeJS.ErrnoException | null, addresses: string[], family: 4 | 6) => {
      if (error || addresses.length === 0) return callback(error ?? Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', family);
      // Node 20's net asks for every address (autoSelectFamily); Debian 12's Node 18 for one.
      if (options.all) return (callback as unknown as (error: null, all: Array<{ address: string; family: number }>) => void)(null, addresses.map((address) => ({ address, family })));
      callback(null, addresses[0]!, family);
    };
    resolver.resolve4(hostname, (error4, addresses4) => {
      if (!error4 && addresses4.length > 0) return answer(null, addresses4, 4);
      resolver.resolve6(hostname, (error6, addresses6) => answer(error6 ? error4 : null, addresses6 ?? [], 6));
    });
  };
}

/** How one attempt ended: a body, a redirect, or a failure that is worth trying again or final. */
type Outcome = { body: Buffer } | { redirect: URL } | { retry: string; status?: number } | { fail: string; status?: number };

interface Attempt {
  url: URL;
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
  maxBytes: number;
  timeoutMs: number;
  lookup: LookupFunction | undefined;
}

function attempt({ url, method, headers, maxBytes, timeoutMs, lookup }: Attempt): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(outcome);
    };
    const sent: OutgoingHttpHeaders = method === 'PUT' ? { 'content-length': '0', ...headers } : { ...headers };
    let request: ClientRequest;
    try {
      request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers: sent, ...(lookup ? { lookup } : {}) });
    } catch (error) {
      // A header node:http refuses (a line break in a value, say): no server would answer it otherwise.
      return resolve({ fail: (error as Error).message });
    }
    // One timer for the whole attempt, connecting and reading alike: a server that trickles bytes is cut off too.
    const timer = setTimeout(() => settle({ retry: `no answer in ${formatSeconds(timeoutMs)}` }), timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) => settle({ retry: describeSocketError(error) }));
    request.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      const reason = `HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`;
      if (status >= 300 && status < 400) {
        const location = response.headers.location;
        return settle(location ? { redirect: new URL(location, url) } : { fail: `${reason} without a Location to follow`, status });
      }
      if (status !== 200) return settle(status >= 500 || status === 429 ? { retry: reason, status } : { fail: reason, status });
      const declared = Number(response.headers['content-length']);
      if (declared > maxBytes) return settle({ fail: `the body is ${declared} bytes, more than the ${maxBytes} allowed` });
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return settle({ fail: `the body is more than the ${maxBytes} bytes allowed` });
        chunks.push(chunk);
      });
      response.on('end', () => settle(response.complete ? { body: Buffer.concat(chunks, size) } : { retry: 'the connection closed before the whole body came' }));
      response.on('error', (error: NodeJS.ErrnoException) => settle({ retry: describeSocketError(error) }));
    });
    request.end();
  });
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed for now',
    ETIMEDOUT: 'connection timed out',
  };
  return (error.code && known[error.code]) ?? error.message;
}

function formatSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** The headers for the next hop: credentials stay with the host they were meant for. */
function headersFor(to: URL, from: URL, headers: Record<string, string>): Record<string, string> {
  if (to.host === from.host) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIALS.has(name.toLowerCase())));
}

/** Fetches `url` (http or https), trying again while the server does not answer, within the time and size allowed. */
export async function fetchBytes(url: string, options: FetchOptions): Promise<Buffer> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + (options.retryForMs ?? DEFAULT_RETRY_FOR_MS);
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new FetchError(url, 'not a URL');
  }
  if (current.protocol !== 'http:' && current.protocol !== 'https:') throw new FetchError(url, `${current.protocol} URLs cannot be fetched (http: or https: only)`);
  const lookup = leaseLookup();
  const method = options.method ?? 'GET';
  let headers = options.headers ?? {};
  let redirects = 0;
  for (let retry = 1; ; ) {
    const timeoutMs = Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, deadline - clock.now()));
    const outcome = await attempt({ url: current, method, headers, maxBytes: options.maxBytes, timeoutMs, lookup });
    if ('body' in outcome) return outcome.body;
    if ('fail' in outcome) throw new FetchError(url, outcome.fail, outcome.status);
    if ('redirect' in outcome) {
      const next = outcome.redirect;
      if (++redirects > MAX_REDIRECTS) throw new FetchError(url, `more than ${MAX_REDIRECTS} redirects`);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new FetchError(url, `redirected to a ${next.protocol} URL (http: or https: only)`);
      if (current.protocol === 'https:' && next.protocol === 'http:') throw new FetchError(url, `redirected from https to plain http (${next.href})`);
      headers = headersFor(next, current, headers);
      current = next;
      continue;
    }
    const delay = backoffMs(retry);
    if (clock.now() + delay >= deadline) throw new FetchError(url, outcome.retry, outcome.status);
    options.onRetry?.(retry, delay, outcome.retry);
    await clock.sleep(delay);
    retry++;
  }
}
