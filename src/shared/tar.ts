/** Tar archives in memory: reading chosen files out of a stream (control scripts, index.json), and packing small archives. */
import { extract, pack, type ExtractEvents, type Header } from 'tar-stream';

export interface TarEntry {
  header: Partial<Header> & Pick<Header, 'name'>;
  body?: Buffer;
}

/** A tar archive of these entries, in this order. */
export async function packTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const { header, body } of entries) {
    await new Promise<void>((resolve, reject) => tar.entry(header, body ?? '', (error) => (error ? reject(error) : resolve())));
  }
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** An entry's contents, as tar-stream hands them out. */
type TarBody = ExtractEvents['entry'][1];

/** Calls `onEntry` for each entry of the tar stream, in order; it must end or resume the body and call `next`. */
function eachTarEntry(stream: NodeJS.ReadableStream, onEntry: (header: Header, body: TarBody, next: () => void) => void): Promise<void> {
  const tar = extract();
  tar.on('entry', (header, body, next) => onEntry(header, body, () => next()));
  return new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    stream.on('error', reject);
    stream.pipe(tar);
  });
}

/** Every regular file whose name (without a leading ./) passes the test, by that name. */
export async function readTarFiles(stream: NodeJS.ReadableStream, wanted: (name: string) => boolean): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await eachTarEntry(stream, (header, body, next) => {
    const name = header.name.replace(/^\.\//, '');
    const chunks: Buffer[] = [];
    body.on('data', (chunk) => chunks.push(chunk as Buffer));
    body.on('end', () => {
      if (header.type === 'file' && wanted(name)) files.set(name, Buffer.concat(chunks));
      next();
    });
  });
  return files;
}

/** The name of every entry but folders, without a leading ./, reading no contents into memory. */
export async function listTarNames(stream: NodeJS.ReadableStream): Promise<string[]> {
  const names: string[] = [];
  await eachTarEntry(stream, (header, body, next) => {
    if (header.type !== 'directory') names.push(header.name.replace(/^\.\//, ''));
    body.on('end', next);
    body.resume();
  });
  return names;
}
