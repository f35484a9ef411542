import { describe, expect, it } from 'vitest';
import { probeBios } from '../../../qemu/kvm.ts';

describe('probeBios', () => {
  const bios = probeBios();

  it('is 64 KiB, so it maps to the top of the first megabyte and of 4 GiB', () => {
    expect(bios.length).toBe(64 * 1024);
  });

  it('writes K to the serial port from the reset vector, then halts', () => {
    // fninit; fwait; mov dx,0x3f8; mov al,'K'; out dx,al; cli; hlt
    expect([...bios.subarray(0xfff0, 0xfffb)]).toEqual([0xdb, 0xe3, 0x9b, 0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xfa, 0xf4]);
  });

  it('fills the rest with hlt', () => {
    expect(bios.subarray(0, 0xfff0).every((b) => b === 0xf4)).toBe(true);
    expect(bios.subarray(0xfffb).every((b) => b === 0xf4)).toBe(true);
  });
});
