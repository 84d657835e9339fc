// A rate-limited work queue with upstream's guarantees, the heart of every
// controller: event handlers only add keys; workers take keys out, sync them,
// and mark them done.
// - A key waits in the queue at most once however often it is added (dirty).
// - A key being processed is never handed to a second worker (processing);
//   adding it meanwhile marks it dirty, and done() puts it back in the queue,
//   so the change that arrived during the sync is not lost.
// - Failures come back through addRateLimited (per-key exponential backoff
//   under an overall token bucket); success forgets the key's failures.
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiter.ts';

export interface WorkQueue<K = string> {
  /** Queue the key unless it is already waiting. Ignored after shutDown. */
  add(key: K): void;
  /** Queue the key after `ms` (sooner wins when it is already waiting to be added). */
  addAfter(key: K, ms: number): void;
  /** Queue the key after its rate limiter's delay (one more failure for it). */
  addRateLimited(key: K): void;
  /** The key succeeded: reset its backoff. */
  forget(key: K): void;
  numRequeues(key: K): number;
  /** The next key (now marked processing), waiting for one; undefined once shut down. */
  get(): Promise<K | undefined>;
  /** Processing of `key` finished; it is queued again if it was added meanwhile. */
  done(key: K): void;
  /** Keys waiting (not those processing or delayed). */
  len(): number;
  /** Stop: pending and future get() answer undefined, delayed adds are dropped. */
  shutDown(): void;
  isShuttingDown(): boolean;
}

export interface WorkQueueOptions<K> {
  /** Default: upstream's controller limiter (5 ms → 1000 s per key; 10 qps, burst 100 overall). */
  rateLimiter?: RateLimiter<K>;
}

/** FIFO with O(1) take: an array read from a moving head, compacted now and then. */
class Fifo<K> {
  private items: K[] = [];
  private head = 0;
  push(item: K): void {
    this.items.push(item);
  }
  shift(): K | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
  get length(): number {
    return this.items.length - this.head;
  }
  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

class RateLimitedQueue<K> implements WorkQueue<K> {
  private readonly queue = new Fifo<K>();
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: ((key: K | undefined) => void)[] = [];
  private readonly delayed = new Map<K, { at: number; timer: NodeJS.Timeout }>();
  private readonly limiter: RateLimiter<K>;
  private shuttingDown = false;

  constructor(options: WorkQueueOptions<K>) {
    this.limiter = options.rateLimiter ?? defaultControllerRateLimiter<K>();
  }

  add(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() requeues it
    this.queue.push(key);
    this.handOut();
  }

  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  addRateLimited(key: K): void {
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: K): void {
    this.limiter.forget(key);
  }

  numRequeues(key: K): number {
    return this.limiter.numRequeues(key);
  }

  get(): Promise<K | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: K): void {
    this.processing.delete(key);
    if (this.shuttingDown || !this.dirty.has(key)) return;
    this.queue.push(key);
    this.handOut();
  }

  len(): number {
    return this.queue.length;
  }

  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.clear();
    this.dirty.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** The next waiting key, moved from dirty to processing. */
  private take(): K | undefined {
    if (this.queue.length === 0) return undefined;
    const key = this.queue.shift()!;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private handOut(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) {
      this.waiters.shift()!(this.take());
    }
  }
}

export function createWorkQueue<K = string>(options: WorkQueueOptions<K> = {}): WorkQueue<K> {
  return new RateLimitedQueue<K>(options);
}

export interface RunWorkersOptions<K> {
  /** Give up on a key after this many consecutive failures (default: never). */
  maxRetries?: number;
  /** Told about every failed sync (default: console.warn). */
  onError?: (key: K, error: unknown) => void;
}

/**
 * Run `count` workers until the queue shuts down: each takes a key, syncs it,
 * forgets its failures on success or requeues it rate-limited on error.
 * Resolves when every worker has finished its last sync.
 */
export async function runWorkers<K>(
  queue: WorkQueue<K>,
  count: number,
  sync: (key: K) => Promise<void>,
  options: RunWorkersOptions<K> = {},
): Promise<void> {
  const onError = options.onError ?? ((key, error) => console.warn(`sync ${String(key)} failed: ${(error as Error)?.message ?? error}`));
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        await sync(key);
        queue.forget(key);
      } catch (error) {
        onError(key, error);
        if (options.maxRetries !== undefined && queue.numRequeues(key) >= options.maxRetries) queue.forget(key);
        else queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  await Promise.all(Array.from({ length: count }, worker));
}
