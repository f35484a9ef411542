import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { UpdateError } from '../../errors.ts';

const LOCK = '/run/slipway-update.lock';

/** One update at a time: a lock file holding the pid, stale when that process is gone. */
export function lock(): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'));
      if (holder && existsSync(`/proc/${holder}`)) throw new UpdateError(`another update is running (pid ${holder})`, 'wait for it, or see slipway-update status');
      rmSync(LOCK, { force: true });
    }
  }
  throw new UpdateError(`cannot take ${LOCK}`, 'is /run writable?');
}
