// The scheduling queue, as kube-scheduler's: an active heap ordered by the
// profile's QueueSort (priority, then age), a backoff area for pods that just
// failed (exponential per pod, 1 s doubling to 10 s), and an unschedulable
// area whose pods go back to active when a cluster event might help them
// (node added or changed, pod deleted …) or after a maximum stay. A pod is in
// at most one area; `pop()` waits until a pod is ready or the queue closes.
import { Heap } from './heap.ts';

export interface QueuedPodInfo<P> {
  key: string;
  pod: P;
  /** Scheduling attempts so far (for backoff). */
  attempts: number;
  /** When the pod first entered the queue (ms). */
  initialAttemptTimestamp: number;
  /** When it was last added to an area (ms). */
  timestamp: number;
}

export interface SchedulingQueueOptions<P> {
  /** QueueSort: true when a should be scheduled before b. */
  less: (a: QueuedPodInfo<P>, b: QueuedPodInfo<P>) => boolean;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Longest stay in the unschedulable area before another try (upstream: 5 minutes). */
  maxUnschedulableMs?: number;
  /** How often backoff expiry and the unschedulable stay are checked. */
  flushIntervalMs?: number;
  now?: () => number;
}

export class SchedulingQueue<P> {
  private readonly active: Heap<QueuedPodInfo<P>>;
  private readonly backoff = new Map<string, { info: QueuedPodInfo<P>; readyAt: number }>();
  private readonly unschedulable = new Map<string, QueuedPodInfo<P>>();
  /** Pods popped and being scheduled: an update meanwhile is remembered and re-queued. */
  private readonly inFlight = new Map<string, { updated?: P }>();
  private readonly waiters: ((info: QueuedPodInfo<P> | undefined) => void)[] = [];
  private readonly options: Required<Omit<SchedulingQueueOptions<P>, 'less'>>;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  /** Incremented on every move request: a pod that failed during one is retried at once (upstream's "moveRequestCycle"). */
  private moveCycle = 0;
  private readonly popCycle = new Map<string, number>();

  constructor(options: SchedulingQueueOptions<P>) {
    this.options = {
      initialBackoffMs: options.initialBackoffMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 10_000,
      maxUnschedulableMs: options.maxUnschedulableMs ?? 5 * 60_000,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      now: options.now ?? Date.now,
    };
    this.active = new Heap((a, b) => options.less(a, b));
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** A new or changed unscheduled pod. */
  add(key: string, pod: P): void {
    if (this.closed) return;
    const flight = this.inFlight.get(key);
    if (flight) {
      flight.updated = pod;
      return;
    }
    const now = this.options.now();
    const existing = this.active.get(key)?.item ?? this.backoff.get(key)?.info ?? this.unschedulable.get(key);
    if (existing) {
      existing.pod = pod;
      // A changed pod may now fit: leave the unschedulable area (not the backoff wait).
      if (this.unschedulable.delete(key)) this.pushActive(existing, now);
      else if (this.active.has(key)) this.active.update(key, existing);
      return;
    }
    this.pushActive({ key, pod, attempts: 0, initialAttemptTimestamp: now, timestamp: now }, now);
  }

  /** The pod was scheduled elsewhere or deleted. */
  delete(key: string): void {
    this.active.remove(key);
    this.backoff.delete(key);
    this.unschedulable.delete(key);
    const flight = this.inFlight.get(key);
    if (flight) flight.updated = undefined;
  }

  /** The next pod to schedule, in QueueSort order; undefined once closed. */
  pop(): Promise<QueuedPodInfo<P> | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const next = this.active.pop();
    if (next) return Promise.resolve(this.startFlight(next));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Scheduling finished (bound or assumed): forget the pod. */
  done(key: string): void {
    this.inFlight.delete(key);
    this.popCycle.delete(key);
  }

  /**
   * The attempt failed. Unschedulable pods wait for a cluster event (unless one
   * happened during the attempt); errors back off and retry.
   */
  requeue(info: QueuedPodInfo<P>, reason: 'unschedulable' | 'error'): void {
    const flight = this.inFlight.get(info.key);
    this.inFlight.delete(info.key);
    const poppedAt = this.popCycle.get(info.key) ?? 0;
    this.popCycle.delete(info.key);
    if (this.closed || !flight) return; // deleted meanwhile
    if (flight.updated) info.pod = flight.updated;
    const now = this.options.now();
    info.timestamp = now;
    if (reason === 'unschedulable' && poppedAt >= this.moveCycle && !flight.updated) {
      this.unschedulable.set(info.key, info);
      return;
    }
    this.backoff.set(info.key, { info, readyAt: now + this.backoffFor(info) });
  }

  /**
   * Something changed that may make unschedulable pods fit (a node added or
   * updated, a pod deleted): move them to active (through backoff if theirs
   * has not expired).
   */
  moveAllToActive(): void {
    this.moveCycle++;
    const now = this.options.now();
    for (const [key, info] of this.unschedulable) {
      this.unschedulable.delete(key);
      const readyAt = info.timestamp + this.backoffFor(info);
      if (readyAt > now) this.backoff.set(key, { info, readyAt });
      else this.pushActive(info, now);
    }
  }

  /** Counts per area (for metrics and tests). */
  lengths(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size, inFlight: this.inFlight.size };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
  }

  /** Move expired backoffs and over-long unschedulable stays to active. */
  flush(): void {
    const now = this.options.now();
    for (const [key, entry] of this.backoff) {
      if (entry.readyAt <= now) {
        this.backoff.delete(key);
        this.pushActive(entry.info, now);
      }
    }
    for (const [key, info] of this.unschedulable) {
      if (now - info.timestamp >= this.options.maxUnschedulableMs) {
        this.unschedulable.delete(key);
        this.pushActive(info, now);
      }
    }
  }

  private backoffFor(info: QueuedPodInfo<P>): number {
    const exponent = Math.max(0, info.attempts - 1);
    return Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** Math.min(exponent, 30));
  }

  private pushActive(info: QueuedPodInfo<P>, now: number): void {
    info.timestamp = now;
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.startFlight(info));
    else this.active.push(info.key, info);
  }

  private startFlight(info: QueuedPodInfo<P>): QueuedPodInfo<P> {
    info.attempts++;
    this.inFlight.set(info.key, {});
    this.popCycle.set(info.key, this.moveCycle);
    return info;
  }
}
