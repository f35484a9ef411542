/** Reading JSON files that a person or a damaged disk may have changed. */
import { readFileSync } from 'node:fs';
import { errorMessage } from '../errors.ts';

/** The file's value; a file that cannot be read or is not JSON throws what `fail` makes of the reason. */
export function readJsonFile(path: string, fail: (reason: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(errorMessage(error));
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw fail(`it is not valid JSON (${errorMessage(error)})`);
  }
}
