// Bounded parallelism for per-node and per-pod API calls (upstream's
// workqueue.ParallelizeUntil): most time is spent waiting on the server,
// but thousands of requests at once would only queue up there.
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
