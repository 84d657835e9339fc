// One worker per pod, as kubelet's podWorkers: syncs of one pod run one at a
// time (an update arriving meanwhile runs one more sync right after), syncs
// of different pods run in parallel — a pod waiting out a 30 s grace period
// or a slow pull holds up no other pod. A sync may ask to run again later
// (back-off expiry); a failed sync is retried with a growing delay.
export interface PodWorkersOptions {
  sync: (key: string) => Promise<{ requeueAfterMs?: number; finished?: boolean }>;
  onError: (key: string, error: unknown) => void;
  /** First retry delay after a failed sync (doubling to maxRetryMs). */
  retryMs?: number;
  maxRetryMs?: number;
}

interface Worker {
  running: boolean;
  dirty: boolean;
  timer: NodeJS.Timeout | undefined;
  timerAt: number;
  failures: number;
}

export class PodWorkers {
  private readonly options: PodWorkersOptions;
  private readonly workers = new Map<string, Worker>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: PodWorkersOptions) {
    this.options = options;
  }

  /** Sync the pod now (or right after its current sync). */
  update(key: string): void {
    if (this.stopped) return;
    const worker = this.workerFor(key);
    if (worker.running) {
      worker.dirty = true;
      return;
    }
    this.run(key, worker);
  }

  /** Sync the pod after `ms` (an earlier pending request wins). */
  updateAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const worker = this.workerFor(key);
    const at = Date.now() + ms;
    if (worker.timer && worker.timerAt <= at) return;
    if (worker.timer) clearTimeout(worker.timer);
    worker.timerAt = at;
    worker.timer = setTimeout(() => {
      worker.timer = undefined;
      this.update(key);
    }, Math.max(0, ms));
  }

  keys(): string[] {
    return [...this.workers.keys()];
  }

  /** Stop starting syncs; resolves when those running have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const worker of this.workers.values()) if (worker.timer) clearTimeout(worker.timer);
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when no sync is running (delayed ones may still come). */
  idle(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private workerFor(key: string): Worker {
    let worker = this.workers.get(key);
    if (!worker) {
      worker = { running: false, dirty: false, timer: undefined, timerAt: 0, failures: 0 };
      this.workers.set(key, worker);
    }
    return worker;
  }

  private run(key: string, worker: Worker): void {
    worker.running = true;
    const work = (async () => {
      do {
        worker.dirty = false;
        try {
          const result = await this.options.sync(key);
          worker.failures = 0;
          if (result.finished) {
            if (worker.timer) clearTimeout(worker.timer);
            this.workers.delete(key);
            return;
          }
          if (result.requeueAfterMs !== undefined) this.updateAfter(key, result.requeueAfterMs);
        } catch (error) {
          this.options.onError(key, error);
          worker.failures++;
          const delay = Math.min(this.options.maxRetryMs ?? 30_000, (this.options.retryMs ?? 500) * 2 ** (worker.failures - 1));
          this.updateAfter(key, delay);
        }
      } while (worker.dirty && !this.stopped);
    })().finally(() => {
      worker.running = false;
      this.inFlight.delete(work);
      if (this.inFlight.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    });
    this.inFlight.add(work);
  }
}
