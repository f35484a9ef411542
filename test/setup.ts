/** Every test file removes the temporary folders it made: built images are gigabytes each. */
import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/archive.ts';

afterAll(() => removeTempDirs());
