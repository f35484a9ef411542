/**
 * One QMP connection held for a QEMU process's whole life: it carries commands (the power button)
 * and keeps the reason QEMU gave when it shut down, so the runner can tell a guest that asked for
 * a reset from one that powered off or a QEMU that was stopped.
 */
import type { Socket } from 'node:net';
import { connectWhenListening } from './unix-socket.ts';

export class QmpConnection {
  private buffer = '';
  private shutdownReason?: string;
  /** Resolves when QEMU has closed its end: every event it sent has been read. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk.toString('utf8')));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  /** Connects once QEMU has made the socket (it does so as it starts), within `timeoutMs`. */
  static async open(path: string, timeoutMs: number, stillStarting: () => boolean): Promise<QmpConnection | undefined> {
    const deadline = Date.now() + timeoutMs;
    try {
      const connection = new QmpConnection(await connectWhenListening(path, () => stillStarting() && Date.now() < deadline, 20));
      connection.send('qmp_capabilities');
      return connection;
    } catch {
      return undefined;
    }
  }

  /** Why QEMU shut down, once it has said so: guest-reset, guest-shutdown, host-signal, … */
  get reason(): string | undefined {
    return this.shutdownReason;
  }

  send(command: string): void {
    if (!this.socket.destroyed) this.socket.write(`${JSON.stringify({ execute: command })}\n`);
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(text: string): void {
    this.buffer += text;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (!line) continue;
      try {
        const message = JSON.parse(line) as { event?: string; data?: { reason?: string } };
        if (message.event === 'SHUTDOWN') this.shutdownReason = message.data?.reason ?? 'unknown';
      } catch {
        // QMP only writes JSON lines; anything else is not ours to read.
      }
    }
  }
}
