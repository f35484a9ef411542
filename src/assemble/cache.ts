/**
 * A content-addressed store: every entry is named by the sha256 of its bytes and is written by
 * rename, so an interrupted download never leaves a file that looks valid.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'slipway');
}

export class ContentCache {
  constructor(readonly root: string) {}

  /** Where the entry with this sha256 lives in this kind's folder (`debs`, `indices`). */
  pathFor(kind: string, sha256: string, suffix = ''): string {
    return join(this.root, kind, `${sha256}${suffix}`);
  }

  has(kind: string, sha256: string, suffix = ''): boolean {
    return existsSync(this.pathFor(kind, sha256, suffix));
  }

  /** A fresh temporary path in the same folder as the final entry, so the rename is atomic. */
  tempPathFor(kind: string): string {
    const dir = join(this.root, kind);
    mkdirSync(dir, { recursive: true });
    return join(dir, `.partial-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  commit(tempPath: string, kind: string, sha256: string, suffix = ''): string {
    const final = this.pathFor(kind, sha256, suffix);
    renameSync(tempPath, final);
    return final;
  }

  /** Removes partial files left by processes that were killed; they never look like entries. */
  sweepPartials(kind: string, olderThanMs = 60 * 60 * 1000): void {
    const dir = join(this.root, kind);
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('.partial-')) continue;
      const path = join(dir, name);
      if (Date.now() - statSync(path).mtimeMs > olderThanMs) rmSync(path, { force: true });
    }
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
