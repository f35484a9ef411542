/** Reading a .deb's maintainer scripts, only to learn what they would declare (never to run them). */
import { extract } from 'tar-stream';
import { openDeb } from './deb.ts';

export async function readControlFile(debPath: string, label: string, name: string): Promise<string | undefined> {
  const { stream, done } = openDeb(debPath, label).control();
  const tar = extract();
  let found: string | undefined;
  tar.on('entry', (header, body, next) => {
    const chunks: Buffer[] = [];
    body.on('data', (chunk) => chunks.push(chunk as Buffer));
    body.on('end', () => {
      if (header.name.replace(/^\.\//, '') === name) found = Buffer.concat(chunks).toString('utf8');
      next();
    });
  });
  await Promise.all([
    new Promise<void>((resolve, reject) => {
      tar.on('finish', resolve);
      tar.on('error', reject);
      stream.pipe(tar);
    }),
    done,
  ]);
  return found;
}
