import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UpdateError } from '../../../src/errors.ts';
import { ukisSize } from '../../../src/updater/agent/esp.ts';
import { roomProblem } from '../../../src/updater/agent/room.ts';
import { tempDir } from '../../helpers/archive.ts';

const MiB = 1048576;
const release = (root: number, verity: number, uki: number) => ({
  version: '2.0.0',
  root: { length: root * MiB },
  verity: { length: verity * MiB },
  uki: { length: uki * MiB },
}) as Parameters<typeof roomProblem>[0];
const room = { rootPartition: 700 * MiB, verityPartition: 68 * MiB, espFree: 40 * MiB };

describe('room for a release, checked before anything is written', () => {
  it('lets a release through that fits', () => {
    expect(roomProblem(release(700, 68, 40), 'b', room)).toBeUndefined();
  });

  it('refuses a root image larger than the slot, naming both sizes', () => {
    const problem = roomProblem(release(701, 5, 20), 'b', room);
    expect(problem).toBeInstanceOf(UpdateError);
    expect(problem?.message).toBe("2.0.0's root image is 701.0 MiB, but slot b's root partition holds 700.0 MiB");
    expect(problem?.hint).toMatch(/disk\.slotSize/);
  });

  it('refuses a verity image larger than its partition', () => {
    expect(roomProblem(release(100, 69, 20), 'a', room)?.message).toBe("2.0.0's verity image is 69.0 MiB, but slot a's verity partition holds 68.0 MiB");
  });

  it('refuses a UKI the ESP has no room for', () => {
    const problem = roomProblem(release(100, 5, 41), 'b', room);
    expect(problem?.message).toBe("2.0.0's UKI is 41.0 MiB, but the ESP has 40.0 MiB free");
    expect(problem?.hint).toMatch(/disk\.espSize/);
  });

  it('counts the bytes of the entries a version has on the ESP (what an update frees first)', () => {
    const esp = tempDir('esp');
    mkdirSync(join(esp, 'EFI/Linux'), { recursive: true });
    writeFileSync(join(esp, 'EFI/Linux/host_1.0.0+0-3.efi'), Buffer.alloc(3000));
    writeFileSync(join(esp, 'EFI/Linux/host_2.0.0.efi'), Buffer.alloc(5000));
    expect(ukisSize(esp, 'host_1.0.0')).toBe(3000);
    expect(ukisSize(esp, 'host_3.0.0')).toBe(0);
  });
});
