import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../../../src/recipe/size.ts';

describe('parseSize', () => {
  it.each([
    ['512MiB', 512 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['1.5GiB', 1610612736],
    ['64mib', 64 * 1024 ** 2],
    ['4k', 4096],
    ['1T', 1024 ** 4],
    ['100', 100],
    ['100B', 100],
    [' 3 MiB ', 3 * 1024 ** 2],
    ['0', 0],
  ])('reads "%s" as %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', 'MiB', '-1M', '1.5.2G', '2GB', '2 megabytes', '1e3', '.5G', '99999999999T'])('rejects "%s"', (text) => {
    expect(parseSize(text)).toBeUndefined();
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [768 * 1024 ** 2, '768.0 MiB'],
    [1610612736, '1.5 GiB'],
    [3 * 1024 ** 5, '3072.0 TiB'],
  ])('writes %d as "%s"', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});
