/** Running async tasks a few at a time. */

/**
 * Runs tasks with at most `limit` under way. The first failure aborts the others (through the
 * signal they are given) and is the one reported once all have stopped.
 */
export async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: { error: unknown } | undefined;
  const controller = new AbortController();
  const worker = async (): Promise<void> => {
    while (next < items.length && !firstError) {
      const item = items[next++]!;
      try {
        await task(item, controller.signal);
      } catch (error) {
        if (!firstError) {
          firstError = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError) throw firstError.error;
}
