/**
 * The filters slipway starts through its launcher process (src/launcher), with real xz: a range of
 * a file goes in, the program's output comes back or lands in a file, and a failure says what ran.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolFailed } from '../../src/errors.ts';
import { filterToBuffer, filterToFile } from '../../src/tools.ts';

const XZ = ['--decompress', '--stdout', '--threads=1'];
let dir: string;
let file: string;
const plain = Buffer.from('a tar, say\n'.repeat(5000));
let compressed: Buffer;
const before = Buffer.from('ar header bytes before the member\n');

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-launcher-'));
  compressed = execFileSync('xz', ['--stdout', '--threads=1'], { input: plain });
  file = join(dir, 'archive');
  // The member sits between other bytes, as a .deb's members do.
  writeFileSync(file, Buffer.concat([before, compressed, Buffer.from('\nthe next member')]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const member = () => ({ path: file, offset: before.length, length: compressed.length });

describe('filters started through the launcher', () => {
  it('feeds a program exactly the range asked for and returns what it wrote', async () => {
    expect((await filterToBuffer('xz', XZ, member())).equals(plain)).toBe(true);
  });

  it('lets a program write its output into a file itself', async () => {
    const output = join(dir, 'out.tar');
    await filterToFile('xz', XZ, member(), output);
    expect(readFileSync(output).equals(plain)).toBe(true);
  });

  it('runs many at once, each with its own input', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => filterToBuffer('xz', XZ, member())));
    expect(results.every((result) => result.equals(plain))).toBe(true);
  });

  it('names the program, its exit status and what it printed when it fails', async () => {
    const wrong = { path: file, offset: 0, length: compressed.length };
    const failure = await filterToBuffer('xz', XZ, wrong).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ToolFailed);
    expect((failure as ToolFailed).message).toMatch(/^xz failed \(exit status 1\): xz --decompress/);
    expect((failure as ToolFailed).message).toMatch(/format not recognized/);
  });

  it('says which input could not be read', async () => {
    const missing = { path: join(dir, 'gone'), offset: 0, length: 10 };
    const failure = await filterToBuffer('xz', XZ, missing).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ToolFailed);
    expect((failure as ToolFailed).message).toContain(`cannot read ${join(dir, 'gone')}`);
  });

  it('feeds an empty range as an empty input', async () => {
    const failure = await filterToBuffer('xz', XZ, { path: file, offset: 0, length: 0 }).catch((error: unknown) => error);
    expect((failure as ToolFailed).message).toMatch(/xz failed \(exit status 1\)/);
  });
});
