/** A plain HTTP server for a folder of static files on loopback (with Range), as any web server would serve a repository. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';

export interface StaticServer {
  url: string;
  port: number;
  requests: string[];
  /** Bytes sent so far, per path. */
  sent: Map<string, number>;
  close: () => Promise<void>;
}

export async function serveFolder(root: string, port = 0): Promise<StaticServer> {
  const requests: string[] = [];
  const sent = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    requests.push(path);
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    const size = statSync(file).size;
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    if (range) response.writeHead(206, { 'content-length': size - from, 'content-range': `bytes ${from}-${size - 1}/${size}` });
    else response.writeHead(200, { 'content-length': size });
    const stream = createReadStream(file, { start: from });
    stream.on('data', (chunk) => sent.set(path, (sent.get(path) ?? 0) + chunk.length));
    stream.pipe(response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    sent,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
