import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareStaging } from '../../../src/pipeline/staging.ts';

describe('prepareStaging', () => {
  let out: string;
  beforeEach(() => {
    out = mkdtempSync(join(tmpdir(), 'slipway-unit-staging-'));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('removes the staging folders of killed builds, names them, and leaves a live build\'s and other files alone', () => {
    const dead = spawnSync('true').pid!; // exited: its pid names no process now
    const live = process.ppid;
    for (const name of [`.staging-host_1.0.0-${dead}`, `.staging-host_2.0.0-${live}`]) {
      mkdirSync(join(out, name, 'work'), { recursive: true });
      writeFileSync(join(out, name, 'work', 'disk.raw'), 'partial');
    }
    writeFileSync(join(out, 'host_0.9.0.raw'), 'an earlier output');
    const { staging, removed } = prepareStaging(out, 'host_3.0.0');
    expect(removed).toEqual([`.staging-host_1.0.0-${dead}`]);
    expect(readdirSync(out).sort()).toEqual([`.staging-host_2.0.0-${live}`, `.staging-host_3.0.0-${process.pid}`, 'host_0.9.0.raw'].sort());
    expect(existsSync(join(staging, 'work', 'boot'))).toBe(true);
  });
});
