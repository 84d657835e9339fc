// How long a failed work item waits before it is tried again. Upstream's
// default controller limiter is the slower of two: a per-key exponential
// backoff (one broken object retries ever more slowly without slowing the
// others) and an overall token bucket (a storm of failures cannot turn into a
// storm of requests).

export interface RateLimiter<K> {
  /** How long `key` should wait now; counts as one more failure. */
  when(key: K): number;
  /** The key succeeded: its backoff starts over. */
  forget(key: K): void;
  /** Failures counted for `key` since it was last forgotten. */
  numRequeues(key: K): number;
}

export interface ExponentialOptions {
  /** Delay after the first failure (default 5 ms). */
  baseMs?: number;
  /** Cap (default 1000 s). */
  maxMs?: number;
}

/** baseMs · 2^failures, capped at maxMs, per key. */
export function exponentialFailureRateLimiter<K>(options: ExponentialOptions = {}): RateLimiter<K> {
  const baseMs = options.baseMs ?? 5;
  const maxMs = options.maxMs ?? 1_000_000;
  const failures = new Map<K, number>();
  return {
    when(key) {
      const n = failures.get(key) ?? 0;
      failures.set(key, n + 1);
      // 2^n overflows to Infinity long after passing any cap, so min() suffices.
      return Math.min(maxMs, baseMs * 2 ** n);
    },
    forget(key) {
      failures.delete(key);
    },
    numRequeues(key) {
      return failures.get(key) ?? 0;
    },
  };
}

export interface TokenBucketOptions {
  /** Tokens added per second (default 10). */
  qps?: number;
  /** Bucket size: how many may go at once (default 100). */
  burst?: number;
  /** Milliseconds clock (default Date.now), fakeable in tests. */
  now?: () => number;
}

/**
 * A shared token bucket. Each call reserves a token: at once while tokens
 * remain, otherwise at the time the bucket will have refilled to it (tokens
 * go negative, so reservations queue up behind each other). Not per key.
 */
export function tokenBucketRateLimiter<K>(options: TokenBucketOptions = {}): RateLimiter<K> {
  const qps = options.qps ?? 10;
  const burst = options.burst ?? 100;
  const now = options.now ?? Date.now;
  let tokens = burst;
  let last = now();
  return {
    when() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * qps);
      last = t;
      tokens -= 1;
      return tokens >= 0 ? 0 : Math.ceil((-tokens / qps) * 1000);
    },
    forget() {},
    numRequeues() {
      return 0;
    },
  };
}

/** The longest delay of several limiters; requeues counted by the most pessimistic. */
export function maxOfRateLimiter<K>(...limiters: RateLimiter<K>[]): RateLimiter<K> {
  return {
    when(key) {
      return Math.max(...limiters.map((l) => l.when(key)));
    },
    forget(key) {
      for (const l of limiters) l.forget(key);
    },
    numRequeues(key) {
      return Math.max(...limiters.map((l) => l.numRequeues(key)));
    },
  };
}

/** Upstream's default for controllers: 5 ms → 1000 s per key, and 10 qps with a burst of 100 overall. */
export function defaultControllerRateLimiter<K>(): RateLimiter<K> {
  return maxOfRateLimiter<K>(exponentialFailureRateLimiter<K>(), tokenBucketRateLimiter<K>());
}
