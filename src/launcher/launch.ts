/**
 * Starts programs through a small process of slipway's own (./child.ts), started at the first
 * request and gone with this one. The build runs hundreds of decompressors; forking each from a
 * process holding hundreds of MiB cost 26 ms of that process's time apiece.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LaunchOutcome, LaunchRequest } from './protocol.ts';

export type { FileRange } from './protocol.ts';

let launcher: ChildProcess | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve: (outcome: LaunchOutcome) => void; reject: (error: Error) => void }>();

function start(): ChildProcess {
  const child = fork(fileURLToPath(new URL('./child.ts', import.meta.url)), [], {
    execArgv: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href],
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

/** With nothing under way the launcher does not keep this process running. */
function idleWhenDone(child: ChildProcess): void {
  if (waiting.size > 0) return;
  child.unref();
  child.channel?.unref();
}

/** Runs `program` (an absolute path) on the bytes of `input`; resolves however the program ends. */
export function launch(request: Omit<LaunchRequest, 'id'>): Promise<LaunchOutcome> {
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
