/** Connecting to the unix sockets QEMU serves (QMP, the debug shell), which appear once it has started. */
import { createConnection, type Socket } from 'node:net';

/** Tries every `intervalMs` while `keepTrying()` holds; rejects with the last attempt's error. */
export async function connectWhenListening(path: string, keepTrying: () => boolean, intervalMs: number): Promise<Socket> {
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = createConnection(path, () => resolve(socket));
        socket.once('error', reject);
      });
    } catch (error) {
      if (!keepTrying()) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
