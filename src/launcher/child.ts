/**
 * The launcher's process: it starts programs for the build's process and feeds them their input.
 * A fork copies the page tables of the process that forks, so starting xz from a build holding
 * 400 MiB took 26 ms and stopped that process meanwhile; from this small one it takes 2 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, openSync } from 'node:fs';
import type { LaunchOutcome, LaunchRequest } from './protocol.ts';

const STDERR_KEPT = 4096;
const running = new Set<ChildProcess>();

process.on('message', (request: LaunchRequest) => {
  void run(request).then((outcome) => process.send!(outcome));
});

// The build's process went away (finished, failed or killed): nothing it started outlives it.
process.on('disconnect', () => {
  for (const child of running) child.kill();
  process.exit(0);
});

async function run(request: LaunchRequest): Promise<LaunchOutcome> {
  let fd: number | undefined;
  try {
    fd = request.output === 'return' ? undefined : openSync(request.output.file, 'w');
    return await feed(request, fd);
  } catch (error) {
    return { id: request.id, code: null, signal: null, stderr: '', error: (error as Error).message };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function feed(request: LaunchRequest, fd: number | undefined): Promise<LaunchOutcome> {
  return new Promise((resolve) => {
    const child = spawn(request.program, request.args, { stdio: ['pipe', fd ?? 'pipe', 'pipe'], env: request.env });
    running.add(child);
    let stderr = '';
    let error: string | undefined;
    const stdout: Buffer[] = [];
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.on('error', (cause) => {
      error = cause.message;
    });
    // The exit status says what went wrong when the program stops reading early.
    child.stdin!.on('error', () => undefined);
    const { path, offset, length } = request.input;
    if (length === 0) {
      child.stdin!.end();
    } else {
      createReadStream(path, { start: offset, end: offset + length - 1 })
        .on('error', (cause) => {
          error = `cannot read ${path}: ${cause.message}`;
          child.kill();
        })
        .pipe(child.stdin!);
    }
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ id: request.id, code, signal, stderr, error, ...(fd === undefined ? { stdout: Buffer.concat(stdout) } : {}) });
    });
  });
}
