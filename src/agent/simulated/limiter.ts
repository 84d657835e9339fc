// Bounded concurrency for API writes, and a keyed work queue on top of it.
// Thousands of hollow nodes and tens of thousands of pods must not turn into
// thousands of simultaneous requests: every write waits for one of a few
// slots, as a fleet of kubelets each with its own QPS limit would pace itself.

/** At most `limit` tasks run at once; the rest wait in FIFO order. */
export class Limiter {
  private readonly limit: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`concurrency limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  get inFlight(): number {
    return this.running;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter (running stays the same), else free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

/**
 * Keys to process, each at most once at a time (Kubernetes' workqueue
 * semantics): a key added while queued is merged; a key added while being
 * processed runs again afterwards, so the last change is never lost. The
 * handler reads the newest state itself; the key only says "look again".
 * A handler that throws gets its key retried after a growing delay.
 */
export class KeyedQueue {
  private readonly limiter: Limiter;
  private readonly handler: (key: string) => Promise<void>;
  private readonly onError: (key: string, error: unknown) => void;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(options: { limiter: Limiter; handler: (key: string) => Promise<void>; onError: (key: string, error: unknown) => void }) {
    this.limiter = options.limiter;
    this.handler = options.handler;
    this.onError = options.onError;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    void this.limiter.run(() => this.process(key));
  }

  /** Keys queued, running or waiting for a retry. */
  get pending(): number {
    return this.queued.size + this.processing.size + this.retryTimers.size;
  }

  /** Resolves when nothing is queued or running (retries still waiting do not count). */
  idle(): Promise<void> {
    if (this.queued.size === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
  }

  private async process(key: string): Promise<void> {
    this.queued.delete(key);
    if (this.stopped) return this.checkIdle();
    this.processing.add(key);
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (error) {
      this.onError(key, error);
      this.retryLater(key);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.checkIdle();
    }
  }

  private retryLater(key: string): void {
    if (this.stopped || this.retryTimers.has(key)) return;
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    // 50 ms doubling to 30 s: quick after a conflict storm, gentle on a down server.
    const delay = Math.min(30_000, 50 * 2 ** Math.min(failures - 1, 10));
    this.retryTimers.set(key, setTimeout(() => {
      this.retryTimers.delete(key);
      this.add(key);
    }, delay));
  }

  /** Forget a key's failure history (its object is gone). */
  forget(key: string): void {
    this.failures.delete(key);
    const timer = this.retryTimers.get(key);
    if (timer) clearTimeout(timer);
    this.retryTimers.delete(key);
  }

  private checkIdle(): void {
    if (this.queued.size || this.processing.size) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
