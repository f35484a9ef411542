/**
 * A real HTTP server on loopback that serves the real archive through itself, and can alter what it
 * serves: the man in the middle that signature and checksum checks must catch.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Tamper = (path: string, body: Buffer) => Buffer;

export interface ArchiveProxy {
  url: string;
  /** Paths requested so far. */
  requests: string[];
  close(): Promise<void>;
}

export async function startArchiveProxy(upstream: string, tamper: Tamper = (_path, body) => body): Promise<ArchiveProxy> {
  const requests: string[] = [];
  const server: Server = createServer(async (request, response) => {
    const path = request.url ?? '/';
    requests.push(path);
    try {
      const answer = await fetch(`${upstream}${path}`);
      const body = Buffer.from(await answer.arrayBuffer());
      const served = answer.ok ? tamper(path, body) : body;
      response.writeHead(answer.status, { 'content-length': served.length });
      response.end(served);
    } catch (error) {
      response.writeHead(502);
      response.end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Flips one byte in the middle: same length, different hash. */
export function flipByte(body: Buffer): Buffer {
  const copy = Buffer.from(body);
  const at = Math.floor(copy.length / 2);
  copy[at] = copy[at]! ^ 0xff;
  return copy;
}
