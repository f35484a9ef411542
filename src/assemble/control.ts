/** Reading a .deb's maintainer scripts, only to learn what they would declare (never to run them). */
import { openDeb } from './deb.ts';
import { readTarFiles } from './tar.ts';

export async function readControlFile(debPath: string, label: string, name: string): Promise<string | undefined> {
  const { stream, done } = openDeb(debPath, label).control();
  const [files] = await Promise.all([readTarFiles(stream, (file) => file === name), done]);
  return files.get(name)?.toString('utf8');
}
