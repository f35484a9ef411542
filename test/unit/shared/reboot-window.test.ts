import { describe, expect, it } from 'vitest';
import { calendarMoment, isOpen, nextOpening, parseWindow, windowLength } from '../../../src/shared/reboot-window.ts';

const at = (hh: number, mm: number) => new Date(2026, 10, 23, hh, mm, 30);

describe('reboot windows', () => {
  it('parses HH:MM-HH:MM and refuses anything else', () => {
    expect(parseWindow('02:00-04:30')).toEqual({ start: 120, end: 270 });
    for (const bad of ['2:00-04:00', '24:00-01:00', '02:60-03:00', '02:00', '02:00-02:00']) expect(() => parseWindow(bad)).toThrow(/reboot window/);
  });

  it('is open from its start up to (not including) its end', () => {
    const window = parseWindow('02:00-04:00');
    expect([isOpen(window, at(1, 59)), isOpen(window, at(2, 0)), isOpen(window, at(3, 59)), isOpen(window, at(4, 0))]).toEqual([false, true, true, false]);
  });

  it('runs past midnight', () => {
    const window = parseWindow('23:00-01:00');
    expect([isOpen(window, at(22, 59)), isOpen(window, at(23, 30)), isOpen(window, at(0, 30)), isOpen(window, at(1, 0))]).toEqual([false, true, true, false]);
    expect(windowLength(window)).toBe(120);
  });

  it('opens next today if its start is still ahead, else tomorrow', () => {
    const window = parseWindow('02:00-04:00');
    expect(calendarMoment(nextOpening(window, at(1, 0)))).toBe('2026-11-23 02:00:00');
    expect(calendarMoment(nextOpening(window, at(5, 0)))).toBe('2026-11-24 02:00:00');
    expect(calendarMoment(nextOpening(parseWindow('23:00-01:00'), at(23, 30)))).toBe('2026-11-24 23:00:00');
  });
});
