import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { frameCommand, GuestShell, parseReply, type ShellExchange } from '../../../qemu/guest-shell.ts';

/** What the guest's tty sends back: lines end in CR LF. */
function tty(text: string): string {
  return text.replace(/\n/g, '\r\n');
}

/** Runs the framed input through bash, as the debug shell would (without a tty, so stty fails quietly). */
function bash(exchange: ShellExchange): string {
  const result = spawnSync('bash', ['--noprofile', '--norc'], { input: exchange.input, encoding: 'utf8' });
  expect(result.error).toBeUndefined();
  return result.stdout;
}

describe('frameCommand', () => {
  it('turns echo off, brackets the command with the nonce, and prints its status last', () => {
    const exchange = frameCommand('systemctl is-active containerd', 'k3x9q');
    expect(exchange.start).toBe('__SLIPWAY_START_k3x9q__');
    expect(exchange.input).toBe("stty -echo 2>/dev/null; echo __SLIPWAY_START_k3x9q__; systemctl is-active containerd\nprintf '\\n__SLIPWAY_END_%s_%d__\\n' k3x9q $?\n");
    expect(exchange.end.exec('__SLIPWAY_END_k3x9q_3__')?.[1]).toBe('3');
  });

  it("does not take another nonce's end marker for its own", () => {
    expect(frameCommand('true', 'k3x9q').end.test('__SLIPWAY_END_a1b2c_0__')).toBe(false);
  });
});

describe('parseReply', () => {
  const exchange = frameCommand('cat /etc/hostname', 'k3x9q');

  it('returns the output and the exit status once the end marker has come', () => {
    expect(parseReply(exchange, tty('__SLIPWAY_START_k3x9q__\nalpha\n\n__SLIPWAY_END_k3x9q_0__\n'))).toEqual({ stdout: 'alpha', exitCode: 0 });
  });

  it('is not done before the end marker', () => {
    expect(parseReply(exchange, '')).toBeUndefined();
    expect(parseReply(exchange, tty('__SLIPWAY_START_k3x9q__\nalpha\n'))).toBeUndefined();
    expect(parseReply(exchange, tty('__SLIPWAY_START_k3x9q__\nalpha\n\n__SLIPWAY_END_k3x9q_'))).toBeUndefined();
  });

  it("skips the tty's echo of the command, which comes before stty -echo takes effect", () => {
    // The echoed printf line names the nonce but is not an end marker (it says %s_%d).
    const received = tty(`${exchange.input}__SLIPWAY_START_k3x9q__\nalpha\n\n__SLIPWAY_END_k3x9q_0__\n`);
    expect(parseReply(exchange, tty(exchange.input))).toBeUndefined();
    expect(parseReply(exchange, received)).toEqual({ stdout: 'alpha', exitCode: 0 });
  });

  it('keeps blank lines inside the output and its indentation, dropping only the framing newlines', () => {
    const received = tty('__SLIPWAY_START_k3x9q__\n  NAME  STATUS\n\n  web   RUNNING\n\n\n__SLIPWAY_END_k3x9q_0__\n');
    expect(parseReply(exchange, received)).toEqual({ stdout: '  NAME  STATUS\n\n  web   RUNNING', exitCode: 0 });
  });

  it('reads a failing status and empty output', () => {
    expect(parseReply(exchange, tty('__SLIPWAY_START_k3x9q__\n\n__SLIPWAY_END_k3x9q_127__\n'))).toEqual({ stdout: '', exitCode: 127 });
  });

  it("waits for its own end marker, not an earlier command's", () => {
    const stale = tty('__SLIPWAY_START_a1b2c__\nold\n\n__SLIPWAY_END_a1b2c_0__\n');
    expect(parseReply(exchange, stale)).toBeUndefined();
  });
});

describe('the framing, through a real bash', () => {
  it('gives back what the command printed and its exit status', () => {
    const ok = frameCommand("printf 'one\\n\\nthree\\n'", 'n0nce1');
    expect(parseReply(ok, bash(ok))).toEqual({ stdout: 'one\n\nthree', exitCode: 0 });
    const failed = frameCommand('echo partial; (exit 3)', 'n0nce2');
    expect(parseReply(failed, bash(failed))).toEqual({ stdout: 'partial', exitCode: 3 });
  });

  it('reports the status of the last command of a pipeline or list, as $? does', () => {
    const exchange = frameCommand('true | false', 'n0nce3');
    expect(parseReply(exchange, bash(exchange))).toEqual({ stdout: '', exitCode: 1 });
  });
});

describe('GuestShell', () => {
  let dir: string | undefined;
  let server: Server | undefined;
  let shell: GuestShell | undefined;

  afterEach(async () => {
    shell?.destroy();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = server = shell = undefined;
  });

  it('sends the framed command and decodes a reply whose characters are split across chunks', async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-shell-'));
    const path = join(dir, 'shell.sock');
    const written: string[] = [];
    server = createServer((socket) => {
      socket.on('data', (chunk) => {
        written.push(chunk.toString());
        const nonce = /__SLIPWAY_START_(\w+)__/.exec(chunk.toString())![1]!;
        // The reply, with the "ü" of grüße (c3 bc) split between two writes.
        const reply = Buffer.from(tty(`__SLIPWAY_START_${nonce}__\ngrüße\n\n__SLIPWAY_END_${nonce}_0__\n`));
        const split = reply.indexOf(0xbc);
        socket.write(reply.subarray(0, split));
        setTimeout(() => socket.write(reply.subarray(split)), 10);
      });
    });
    await new Promise<void>((resolve) => server!.listen(path, resolve));

    shell = await GuestShell.connect(path, () => true);
    const exchange = shell.send('cat /etc/motd');
    let reply: ReturnType<GuestShell['reply']>;
    for (let i = 0; i < 100 && !(reply = shell.reply(exchange)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(written.join('')).toBe(exchange.input);
    expect(reply!).toEqual({ stdout: 'grüße', exitCode: 0 });
    expect(shell.destroyed).toBe(false);
    shell.destroy();
    expect(shell.destroyed).toBe(true);
  });

  it('gives up when nothing listens and it is told to stop trying', async () => {
    dir = mkdtempSync(join(tmpdir(), 'slipway-shell-'));
    await expect(GuestShell.connect(join(dir, 'absent.sock'), () => false)).rejects.toThrow(/ENOENT/);
  });
});
