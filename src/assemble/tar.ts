/** Reading chosen files out of a tar stream into memory (small files: control scripts, index.json). */
import { extract } from 'tar-stream';

/** Every regular file whose name (without a leading ./) passes the test, by that name. */
export async function readTarFiles(stream: NodeJS.ReadableStream, wanted: (name: string) => boolean): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const tar = extract();
  tar.on('entry', (header, body, next) => {
    const name = header.name.replace(/^\.\//, '');
    const chunks: Buffer[] = [];
    body.on('data', (chunk) => chunks.push(chunk as Buffer));
    body.on('end', () => {
      if (header.type === 'file' && wanted(name)) files.set(name, Buffer.concat(chunks));
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tar.on('finish', resolve);
    tar.on('error', reject);
    stream.on('error', reject);
    stream.pipe(tar);
  });
  return files;
}
