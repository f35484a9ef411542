import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ThreadedSha256 } from '../../../src/shared/hash.ts';

describe('ThreadedSha256', () => {
  it('hashes data and runs of zeros in the order they were fed, as one sha256 of all of it', async () => {
    const parts = [randomBytes(1000), Buffer.alloc(9 * 1024 * 1024), randomBytes(3 * 1024 * 1024 + 7), Buffer.alloc(5)];
    const threaded = new ThreadedSha256();
    for (const [index, part] of parts.entries()) {
      if (index % 2 === 1) threaded.zeros(part.length);
      else await threaded.update(part);
    }
    expect(await threaded.digest()).toBe(createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
  });

  it('keeps the hash right when the writer outruns the thread (more than its in-flight limit)', async () => {
    const chunk = randomBytes(4 * 1024 * 1024);
    const threaded = new ThreadedSha256();
    const plain = createHash('sha256');
    for (let i = 0; i < 12; i++) {
      chunk[0] = i;
      await threaded.update(chunk);
      plain.update(chunk);
    }
    expect(await threaded.digest()).toBe(plain.digest('hex'));
  });

  it('digests nothing as the sha256 of nothing', async () => {
    expect(await new ThreadedSha256().digest()).toBe(createHash('sha256').digest('hex'));
  });
});
