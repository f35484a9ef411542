import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ToolMissing } from '../../src/errors.ts';
import { checkTools, findTool, missingPackages } from '../../src/tools.ts';

// PATH points at a temporary folder holding only fake programs (never run). findTool also looks in
// /usr/local/sbin, /usr/sbin and /sbin, so "missing" tools are ones that live in /usr/bin: xz, gpgv, skopeo,
// qemu-img, ssh, ssh-keygen.
let bin: string;

beforeEach(() => {
  bin = mkdtempSync(join(tmpdir(), 'slipway-unit-path-'));
  vi.stubEnv('PATH', bin);
});

afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(bin, { recursive: true, force: true });
});

function fakeProgram(name: string, mode = 0o755): string {
  const path = join(bin, name);
  writeFileSync(path, '#!/bin/sh\nexit 0\n');
  chmodSync(path, mode);
  return path;
}

describe('findTool', () => {
  it('finds an executable in PATH', () => {
    const path = fakeProgram('zstd');
    expect(findTool('zstd')).toBe(path);
  });

  it('ignores a file that is not executable', () => {
    fakeProgram('skopeo', 0o644);
    expect(findTool('skopeo')).toBeUndefined();
  });
});

describe('missingPackages', () => {
  it('names the Debian package of each missing tool, once, sorted', () => {
    fakeProgram('zstd');
    expect(missingPackages(['zstd', 'xz', 'ssh', 'ssh-keygen', 'qemu-img'])).toEqual(['openssh-client', 'qemu-utils', 'xz-utils']);
  });

  it('returns nothing when every tool is there', () => {
    fakeProgram('zstd');
    fakeProgram('xz');
    expect(missingPackages(['zstd', 'xz'])).toEqual([]);
  });
});

describe('checkTools', () => {
  it('passes when every tool is there', () => {
    fakeProgram('gpgv');
    expect(() => checkTools(['gpgv'])).not.toThrow();
  });

  it('throws ToolMissing naming the tool and its Debian package', () => {
    fakeProgram('zstd');
    let error: unknown;
    try {
      checkTools(['zstd', 'xz']);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ToolMissing);
    expect((error as ToolMissing).exitCode).toBe(4);
    expect((error as ToolMissing).message).toBe('missing xz (Debian package xz-utils)');
    expect((error as ToolMissing).hint).toBe("run 'scripts/setup' as root, or: apt-get install -y xz-utils");
  });

  it('lists several missing tools and their packages', () => {
    expect(() => checkTools(['skopeo', 'ssh', 'ssh-keygen'])).toThrow(
      'missing skopeo, ssh, ssh-keygen (Debian packages openssh-client, skopeo)',
    );
  });
});
