/**
 * Carries out a provisioning plan. /etc paths go to the /etc overlay's upper folder (the root stays
 * read-only), /var paths to /var. Each file is written beside its place and renamed over it, so a
 * power cut leaves either the old or the new file; the stamp that says provisioning ran is written
 * last, so an interrupted first boot applies the whole config again on the next.
 */
import { chownSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, symlinkSync, writeSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Write } from './plan.ts';

export interface ProvisionTarget {
  /** Where /etc's files go: the overlay's upper folder at boot. */
  etc: string;
  /** The /var folder. */
  var: string;
}

export function hostPath(target: ProvisionTarget, path: string): string {
  if (path.startsWith('/etc/')) return join(target.etc, path.slice('/etc/'.length));
  if (path.startsWith('/var/')) return join(target.var, path.slice('/var/'.length));
  throw new Error(`${path} is neither under /etc nor under /var`);
}

function writeAtomically(path: string, content: Buffer, mode: number, uid: number, gid: number): void {
  const temporary = `${path}.slipway-new`;
  const fd = openSync(temporary, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chownSync(temporary, uid, gid);
  chmodSync(temporary, mode); // after chown, which clears setuid bits
  renameSync(temporary, path);
}

export function applyWrites(writes: readonly Write[], target: ProvisionTarget): void {
  for (const write of writes) {
    const path = hostPath(target, write.path);
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    if (write.kind === 'dir') {
      mkdirSync(path, { recursive: true });
      chownSync(path, write.uid, write.gid);
      chmodSync(path, write.mode);
    } else if (write.kind === 'symlink') {
      rmSync(path, { force: true });
      symlinkSync(write.target, path);
    } else {
      writeAtomically(path, write.content, write.mode, write.uid, write.gid);
    }
  }
}
