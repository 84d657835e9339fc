// Bulk creation that does not flood the API server with requests doomed to
// fail (upstream's slowStartBatch): run 1 call, then 2, 4, 8 … at once, and
// stop at the first batch with a failure. A quota or admission error then
// costs a handful of requests instead of hundreds.

export interface SlowStartResult {
  /** Calls that succeeded. Calls never made are count - successes - (failed in the last batch). */
  successes: number;
  /** The first error of the batch that failed. */
  error?: unknown;
}

export async function slowStartBatch(count: number, initialBatchSize: number, fn: (index: number) => Promise<void>): Promise<SlowStartResult> {
  let remaining = count;
  let successes = 0;
  let index = 0;
  for (let batch = Math.min(remaining, Math.max(1, initialBatchSize)); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(index++)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failures.length;
    if (failures.length) return { successes, error: failures[0].reason };
    remaining -= batch;
  }
  return { successes };
}
