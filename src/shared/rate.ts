/** How much went by, and how fast: "34.5 MiB at 12.3 MiB/s". */
export function transferRate(bytes: number, startedAt: number, now = performance.now()): string {
  const mib = bytes / 1048576;
  const seconds = Math.max((now - startedAt) / 1000, 0.001);
  return `${mib.toFixed(1)} MiB at ${(mib / seconds).toFixed(1)} MiB/s`;
}

/** "12/140, 34.5 MiB at 12.3 MiB/s": a count, with the rate once any bytes went by. */
export function countWithRate(done: number, total: number, bytes: number, startedAt: number, now = performance.now()): string {
  return `${done}/${total}${bytes > 0 ? `, ${transferRate(bytes, startedAt, now)}` : ''}`;
}
