/**
 * Where the installer reads the image from: the ISO's /slipway folder, or, booted over the network,
 * the folder URL the netboot UKI fetched its root from (HTTP Range requests). Either way what it
 * reads is checked against the install map's sha256 before the install counts as done.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { InstallError } from '../errors.ts';

const CHUNK = 4 * 1024 * 1024;

export interface Medium {
  /** "the medium" or the URL, for messages. */
  readonly name: string;
  /** `length` bytes of `file` from byte `at`, in chunks of at most 4 MiB. */
  chunks(file: string, at: number, length: number): AsyncIterable<Buffer>;
}

export async function readWhole(medium: Medium, file: string, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of medium.chunks(file, 0, limit)) {
    parts.push(Buffer.from(chunk));
    size += chunk.length;
  }
  return Buffer.concat(parts, size);
}

/** A folder: the ISO's /slipway. A file shorter than asked ends the chunks early (readWhole's files are). */
export function folderMedium(dir: string): Medium {
  return {
    name: 'the medium',
    async *chunks(file, at, length) {
      const fd = openSync(join(dir, file), 'r');
      const buffer = Buffer.alloc(CHUNK);
      try {
        for (let done = 0; done < length;) {
          const read = readSync(fd, buffer, 0, Math.min(CHUNK, length - done), at + done);
          if (read === 0) return;
          yield buffer.subarray(0, read);
          done += read;
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * A folder over HTTP, as the netboot UKI's root came: each range one GET, from its first byte to
 * the end of the file (a Range every server takes), closed once the range is read.
 */
export function httpMedium(folderUrl: string): Medium {
  const base = folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`;
  return {
    name: base,
    async *chunks(file, at, length) {
      const url = `${base}${file}`;
      const response = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
        get(url, { headers: at > 0 ? { Range: `bytes=${at}-` } : {}, timeout: 60_000 }, resolve).on('error', reject).on('timeout', function (this: { destroy(e: Error): void }) {
          this.destroy(new Error('no answer in 60 s'));
        });
      }).catch((error: Error) => {
        throw new InstallError(`cannot fetch ${url}: ${error.message}`, 'check that the server that served the netboot root is still up');
      });
      // A range past the end of a short file (the map, read whole) is answered 416 or with what there is.
      if (response.statusCode === 416) {
        response.resume();
        return;
      }
      if (response.statusCode !== 206 && !(response.statusCode === 200 && at === 0)) {
        response.resume();
        throw new InstallError(`cannot fetch ${url}: the server answered ${response.statusCode}`, 'serve the build\'s whole folder, install map included, at the netboot URL');
      }
      const start = response.statusCode === 206 ? /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''))?.[1] : '0';
      if (Number(start) !== at) {
        response.destroy();
        throw new InstallError(`${url}: asked from byte ${at}, the server answered ${response.headers['content-range'] ?? 'without a Content-Range'}`, 'serve the folder with a web server that honours Range requests');
      }
      let done = 0;
      try {
        for await (const chunk of response as AsyncIterable<Buffer>) {
          const wanted = Math.min(chunk.length, length - done);
          yield chunk.subarray(0, wanted);
          done += wanted;
          if (done >= length) break;
        }
      } catch (error) {
        throw new InstallError(`cannot fetch ${url}: ${(error as Error).message} after ${done} bytes`, 'check the network and the server, then boot again');
      } finally {
        response.destroy();
      }
    },
  };
}
