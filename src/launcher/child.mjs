// @ts-check
/**
 * The launcher's process: it starts programs for the build's process and feeds them their input.
 * A fork copies the page tables of the process that forks, so starting xz from a build holding
 * 400 MiB took 26 ms and stopped that process meanwhile; from this small one it takes 2 ms.
 *
 * Plain JavaScript (checked by tsc through its JSDoc types) so that it starts on Node alone: with
 * the TypeScript loader the process held 35 MiB more, beside a build that counts its memory.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** @typedef {import('./protocol.ts').FileRange} FileRange */
/** @typedef {import('./protocol.ts').LaunchOutcome} LaunchOutcome */
/** @typedef {import('./protocol.ts').LaunchRequest} LaunchRequest */

const STDERR_KEPT = 4096;
/** @type {Set<import('node:child_process').ChildProcess>} */
const running = new Set();

process.on('message', (/** @type {LaunchRequest} */ request) => {
  void run(request).then((outcome) => process.send?.(outcome));
});

// The build's process went away (finished, failed or killed): nothing it started outlives it.
process.on('disconnect', () => {
  for (const child of running) child.kill();
  process.exit(0);
});

const PUMP_CHUNK = 256 * 1024;

/** Why the input could not be read; a program that stops reading early is told by its exit status. */
class InputError extends Error {}

/**
 * Copies a range of a file into the program's stdin through one buffer, each write finished before
 * the next read.
 * @param {FileRange} input
 * @param {import('node:stream').Writable} stdin
 */
async function pump(input, stdin) {
  const file = await open(input.path, 'r').catch((/** @type {Error} */ cause) => {
    throw new InputError(cause.message);
  });
  try {
    const buffer = Buffer.alloc(PUMP_CHUNK);
    const end = input.offset + input.length;
    for (let position = input.offset; position < end && !stdin.destroyed;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(PUMP_CHUNK, end - position), position).catch((/** @type {Error} */ cause) => {
        throw new InputError(cause.message);
      });
      if (bytesRead === 0) throw new InputError(`it ends ${end - position} bytes before the range does`);
      position += bytesRead;
      // The buffer is read into again only once the pipe has taken all of this write.
      await new Promise((resolve, reject) => stdin.write(buffer.subarray(0, bytesRead), (error) => (error ? reject(error) : resolve(undefined))));
    }
  } finally {
    await file.close();
    stdin.end();
  }
}

/**
 * @param {LaunchRequest} request
 * @returns {Promise<LaunchOutcome>}
 */
async function run(request) {
  /** @type {number | undefined} */
  let fd;
  try {
    fd = request.output === 'return' ? undefined : openSync(request.output.file, 'w');
    return await feed(request, fd);
  } catch (error) {
    return { id: request.id, code: null, signal: null, stderr: '', error: /** @type {Error} */ (error).message };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * @param {LaunchRequest} request
 * @param {number | undefined} fd
 * @returns {Promise<LaunchOutcome>}
 */
function feed(request, fd) {
  return new Promise((resolve) => {
    const child = spawn(request.program, request.args, { stdio: ['pipe', fd ?? 'pipe', 'pipe'], env: request.env });
    running.add(child);
    let stderr = '';
    /** @type {string | undefined} */
    let error;
    /** @type {Buffer[]} */
    const stdout = [];
    // Both are pipes, as stdio above asks.
    const stdin = /** @type {import('node:stream').Writable} */ (child.stdin);
    const errors = /** @type {import('node:stream').Readable} */ (child.stderr);
    errors.setEncoding('utf8').on('data', (/** @type {string} */ chunk) => {
      stderr = (stderr + chunk).slice(-STDERR_KEPT);
    });
    child.stdout?.on('data', (/** @type {Buffer} */ chunk) => stdout.push(chunk));
    child.on('error', (cause) => {
      error = cause.message;
    });
    // The exit status says what went wrong when the program stops reading early.
    stdin.on('error', () => undefined);
    pump(request.input, stdin).catch((/** @type {Error} */ cause) => {
      if (!(cause instanceof InputError)) return;
      error = `cannot read ${request.input.path}: ${cause.message}`;
      child.kill();
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ id: request.id, code, signal, stderr, ...(error === undefined ? {} : { error }), ...(fd === undefined ? { stdout: Buffer.concat(stdout) } : {}) });
    });
  });
}
