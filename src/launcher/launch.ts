/**
 * Starts programs through a small process of slipway's own (./child.mjs), started at the first
 * request and gone with this one. The build runs hundreds of decompressors; forking each from a
 * process holding hundreds of MiB cost 26 ms of that process's time apiece.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LaunchOutcome, LaunchRequest } from './protocol.ts';

export type { FileRange } from './protocol.ts';

let launcher: ChildProcess | undefined;
let nextId = 0;
/** An idle launcher goes away after this long, so it holds no memory while the build does other work. */
const IDLE_MS = 500;
let idleTimer: NodeJS.Timeout | undefined;
const waiting = new Map<number, { resolve: (outcome: LaunchOutcome) => void; reject: (error: Error) => void }>();

function start(): ChildProcess {
  const child = fork(fileURLToPath(new URL('./child.mjs', import.meta.url)), [], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (outcome: LaunchOutcome) => {
    const request = waiting.get(outcome.id);
    waiting.delete(outcome.id);
    idleWhenDone(child);
    request?.resolve(outcome);
  });
  child.on('exit', (code, signal) => {
    if (launcher === child) launcher = undefined;
    for (const request of waiting.values()) request.reject(new Error(`slipway's launcher process stopped (${signal ?? `exit status ${code}`})`));
    waiting.clear();
  });
  return child;
}

/** With nothing under way the launcher does not keep this process running, and soon stops. */
function idleWhenDone(child: ChildProcess): void {
  if (waiting.size > 0) return;
  child.unref();
  child.channel?.unref();
  idleTimer = setTimeout(() => {
    if (launcher === child) launcher = undefined;
    child.disconnect();
  }, IDLE_MS);
  idleTimer.unref();
}

/** Lets the launcher go now rather than once it has been idle a while (its memory is wanted). */
export function releaseLauncher(): void {
  if (!launcher || waiting.size > 0) return;
  clearTimeout(idleTimer);
  launcher.disconnect();
  launcher = undefined;
}

/** Runs `program` (an absolute path) on the bytes of `input`; resolves however the program ends. */
export function launch(request: Omit<LaunchRequest, 'id'>): Promise<LaunchOutcome> {
  clearTimeout(idleTimer);
  launcher ??= start();
  const child = launcher;
  child.ref();
  child.channel?.ref();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    child.send({ ...request, id } satisfies LaunchRequest);
  });
}
