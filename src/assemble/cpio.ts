/** A cpio "newc" writer for initrds: pure, deterministic (every mtime is the one given). */

export interface CpioEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'char';
  mode: number;
  data?: Buffer;
  target?: string;
  devMajor?: number;
  devMinor?: number;
}

const TYPE_BITS = { file: 0o100000, directory: 0o040000, symlink: 0o120000, char: 0o020000 } as const;

function hex8(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function record(ino: number, entry: CpioEntry, mtime: number): Buffer[] {
  const body = entry.type === 'symlink' ? Buffer.from(entry.target ?? '') : (entry.data ?? Buffer.alloc(0));
  const name = Buffer.from(`${entry.path}\0`);
  const header = Buffer.from(
    [
      '070701',
      hex8(ino),
      hex8(TYPE_BITS[entry.type] | (entry.mode & 0o7777)),
      hex8(0), // uid
      hex8(0), // gid
      hex8(entry.type === 'directory' ? 2 : 1),
      hex8(mtime),
      hex8(entry.type === 'directory' || entry.type === 'char' ? 0 : body.length),
      hex8(0),
      hex8(0),
      hex8(entry.devMajor ?? 0),
      hex8(entry.devMinor ?? 0),
      hex8(name.length),
      hex8(0),
    ].join(''),
    'latin1',
  );
  const parts = [header, name, pad4(header.length + name.length)];
  if (entry.type === 'file' || entry.type === 'symlink') parts.push(body, pad4(body.length));
  return parts;
}

/** Entries are written sorted by path, parents before children. */
export function writeCpio(entries: readonly CpioEntry[], mtime: number): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  sorted.forEach((entry, i) => parts.push(...record(i + 1, entry, mtime)));
  parts.push(...record(0, { path: 'TRAILER!!!', type: 'file', mode: 0 }, 0));
  return Buffer.concat(parts);
}
