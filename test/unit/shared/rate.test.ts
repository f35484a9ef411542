import { describe, expect, it } from 'vitest';
import { countWithRate, transferRate } from '../../../src/shared/rate.ts';

describe('transfer rates in progress lines', () => {
  it('says how much went by and how fast', () => {
    expect(transferRate(64 * 1048576, 1000, 5000)).toBe('64.0 MiB at 16.0 MiB/s');
  });

  it('adds the rate to a count once bytes went by, and not before', () => {
    expect(countWithRate(3, 10, 0, 0)).toBe('3/10');
    expect(countWithRate(3, 10, 10 * 1048576, 0, 2000)).toBe('3/10, 10.0 MiB at 5.0 MiB/s');
  });
});
