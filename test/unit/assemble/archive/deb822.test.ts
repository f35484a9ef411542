import { describe, expect, it } from 'vitest';
import { parseDeb822 } from '../../../../src/assemble/archive/deb822.ts';

const asObjects = (text: string, fields?: ReadonlySet<string>) =>
  parseDeb822(text, fields).map((paragraph) => Object.fromEntries(paragraph));

describe('parseDeb822', () => {
  it('reads paragraphs separated by a blank line', () => {
    expect(asObjects('Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n')).toEqual([
      { Package: 'a', Version: '1' },
      { Package: 'b', Version: '2' },
    ]);
  });

  it('joins continuation lines with newlines, trimmed', () => {
    const text = 'Package: a\nDescription: short\n long line one\n\tline two\n .\nVersion: 1\n';
    expect(asObjects(text)).toEqual([{ Package: 'a', Description: 'short\nlong line one\nline two\n.', Version: '1' }]);
  });

  it('keeps a value that is empty on the field line', () => {
    expect(asObjects('Files:\n abc 1 x.dsc\n def 2 x.tar\n')).toEqual([{ Files: '\nabc 1 x.dsc\ndef 2 x.tar' }]);
  });

  it('handles CRLF line ends', () => {
    expect(asObjects('Package: a\r\nDepends: b,\r\n c\r\n\r\nPackage: d\r\n')).toEqual([
      { Package: 'a', Depends: 'b,\nc' },
      { Package: 'd' },
    ]);
  });

  it('reads the last field without a trailing newline', () => {
    expect(asObjects('Package: a\n\nPackage: b\nVersion: 2')).toEqual([{ Package: 'a' }, { Package: 'b', Version: '2' }]);
    expect(asObjects('Package: a\nDescription: x\n more')).toEqual([{ Package: 'a', Description: 'x\nmore' }]);
  });

  it('treats several blank (or white-space) lines as one separator', () => {
    expect(asObjects('\n\nPackage: a\n\n\n  \n\t\nPackage: b\n\n\n')).toEqual([{ Package: 'a' }, { Package: 'b' }]);
  });

  it('keeps only the wanted fields, with their continuation lines', () => {
    const text = 'Package: a\nDescription: x\n more\nVersion: 1\nSHA256: f00\n';
    expect(asObjects(text, new Set(['Package', 'SHA256']))).toEqual([{ Package: 'a', SHA256: 'f00' }]);
  });

  it('drops a paragraph with none of the wanted fields', () => {
    expect(asObjects('Origin: x\n\nPackage: a\n', new Set(['Package']))).toEqual([{ Package: 'a' }]);
  });

  it('keeps colons inside values', () => {
    expect(asObjects('Version: 1:2.0-1\nHomepage: https://example.org/x\n')).toEqual([
      { Version: '1:2.0-1', Homepage: 'https://example.org/x' },
    ]);
  });

  it('returns nothing for empty text', () => {
    expect(parseDeb822('')).toEqual([]);
    expect(parseDeb822('\n\n')).toEqual([]);
  });
});
