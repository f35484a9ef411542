/**
 * The debug shell's protocol (images built with debugShell: true serve a root shell on a virtio
 * console): a command is sent between two markers that carry a fresh nonce, the shell's echo is
 * turned off, and the reply is what the shell wrote between the start marker and the end marker,
 * which also carries the command's exit status. Framing and parsing are pure; GuestShell holds the
 * socket and what came back on it. Waiting, and giving up, is the runner's.
 */
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { connectWhenListening } from './unix-socket.ts';

/** A command as written to the shell, and the markers its reply is found by. */
export interface ShellExchange {
  input: string;
  start: string;
  end: RegExp;
}

export interface ShellResult {
  stdout: string;
  exitCode: number;
}

/** Frames `command` for the shell: echo off, the start marker, the command, then the end marker with `$?`. */
export function frameCommand(command: string, nonce: string): ShellExchange {
  const end = new RegExp(`__SLIPWAY_END_${nonce}_(\\d+)__`);
  const start = `__SLIPWAY_START_${nonce}__`;
  const input = `stty -echo 2>/dev/null; echo ${start}; ${command}\nprintf '\\n__SLIPWAY_END_%s_%d__\\n' ${nonce} $?\n`;
  return { input, start, end };
}

/** The command's output and exit status, once `received` (all the shell wrote since it was sent) holds the end marker. */
export function parseReply(exchange: ShellExchange, received: string): ShellResult | undefined {
  const text = received.replace(/\r/g, '');
  const match = exchange.end.exec(text);
  if (!match) return undefined;
  const output = text.slice(text.lastIndexOf(exchange.start) + exchange.start.length, match.index).replace(/^\n/, '').replace(/\n+$/, '');
  return { stdout: output, exitCode: Number(match[1]) };
}

/** A connection to the guest's debug shell, collecting what it writes. */
export class GuestShell {
  private received = '';

  private constructor(private readonly socket: Socket) {
    // A character split across two chunks is decoded whole.
    const decoder = new StringDecoder('utf8');
    socket.on('data', (chunk: Buffer) => {
      this.received += decoder.write(chunk);
    });
  }

  /** Connects to the shell's socket, trying while `keepTrying()` holds (QEMU makes it as it starts). */
  static async connect(path: string, keepTrying: () => boolean): Promise<GuestShell> {
    return new GuestShell(await connectWhenListening(path, keepTrying, 200));
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Sends a command, forgetting what the shell wrote before it; reply(exchange) finds the command's result. */
  send(command: string): ShellExchange {
    const exchange = frameCommand(command, Math.random().toString(36).slice(2));
    this.received = '';
    this.socket.write(exchange.input);
    return exchange;
  }

  /** The command's result, once the shell has written all of it. */
  reply(exchange: ShellExchange): ShellResult | undefined {
    return parseReply(exchange, this.received);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
