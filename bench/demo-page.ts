/** Waiting for a machine's demo page, as the boot benchmarks time it. */
import type { VirtualMachine } from '../qemu/runner.ts';

/** Seconds from `start` (a performance.now() moment) until the demo page answers on localhost:`port`. */
export async function secondsToDemoPage(vm: VirtualMachine, port: number, start: number): Promise<number> {
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false);
    if (ok) return (performance.now() - start) / 1000;
    if (!vm.running || performance.now() - start > 600_000) throw new Error(`the demo page never answered:\n${vm.excerpt()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
