import { describe, expect, it } from 'vitest';
import { compareVersions, satisfiesRelation } from '../../../src/shared/debian-version.ts';

// Every expected ordering below was confirmed by hand with `dpkg --compare-versions` (dpkg 1.21).
const ORDERED: [lower: string, higher: string][] = [
  ['2.0', '1:1.0'], // an epoch beats any upstream version
  ['0:99', '1:0.5'],
  ['1.0~rc1', '1.0'], // ~ sorts before the end of the string
  ['1.0~', '1.0'],
  ['1.0~~', '1.0~'],
  ['1.0~~', '1.0~~a'],
  ['1.0a~', '1.0a'],
  ['1.0-1~bpo1', '1.0-1'],
  ['1.0', '1.0-1'], // no revision is lower than revision 1
  ['1.0-1', '1.0-2'],
  ['1.0-1', '1.0-1.1'],
  ['1.0-1', '1.0-1+b1'],
  ['2.36-9', '2.36-9+deb12u4'],
  ['1.0', '1.0-rc1'], // "rc1" is a revision here, not a pre-release
  ['1.0-beta-1', '1.0-beta-2'], // only the last dash starts the revision
  ['1.0-1', '1.0--1'],
  ['1.2.9', '1.2.10'], // digits compare as numbers
  ['9', '10'],
  ['2.3-1', '2.30-1'],
  ['1.0', '1.0a'], // a letter sorts after the end of the string
  ['1.0a', '1.0+'], // letters sort before non-letters
  ['1.0', '1.0+'],
  ['1.0', '1.0.'],
  ['1.0a', '1.0.'],
  ['1A', '1a'], // upper case before lower case
  ['1.0', '1.0.0'],
  ['1.0-1', '1.0+dfsg-1'],
];

const EQUAL: [string, string][] = [
  ['1.01', '1.1'], // leading zeros are ignored
  ['000', '0'],
  ['1.0', '1.0-0'], // an empty revision equals revision 0
  ['0:1.0', '1.0'], // epoch 0 is the default
  ['1:2.3-4', '1:2.3-4'],
];

describe('compareVersions', () => {
  it.each(ORDERED)('%s < %s', (lower, higher) => {
    expect(Math.sign(compareVersions(lower, higher))).toBe(-1);
    expect(Math.sign(compareVersions(higher, lower))).toBe(1);
  });

  it.each(EQUAL)('%s == %s', (a, b) => {
    expect(compareVersions(a, b)).toBe(0);
    expect(compareVersions(b, a)).toBe(0);
  });

  it('sorts a list the way dpkg does', () => {
    const versions = ['1.0', '1:0.1', '1.0~rc1', '1.0-1', '0.9', '1.0+b1', '1.0~~'];
    expect([...versions].sort(compareVersions)).toEqual(['0.9', '1.0~~', '1.0~rc1', '1.0', '1.0-1', '1.0+b1', '1:0.1']);
  });
});

describe('satisfiesRelation', () => {
  it.each([
    ['1.0', '<<', '1.1', true],
    ['1.1', '<<', '1.1', false],
    ['1.1', '<=', '1.1', true],
    ['1.2', '<=', '1.1', false],
    ['1.01', '=', '1.1', true],
    ['1.0-1', '=', '1.0', false],
    ['1.0', '>=', '1.0~rc1', true],
    ['1.0~rc1', '>=', '1.0', false],
    ['1:0.1', '>>', '9.9', true],
    ['1.0', '>>', '1.0', false],
  ] as const)('%s %s %s is %s', (version, relation, wanted, expected) => {
    expect(satisfiesRelation(version, relation, wanted)).toBe(expected);
  });
});
