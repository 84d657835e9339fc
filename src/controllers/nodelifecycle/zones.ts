// Eviction pacing per zone, as upstream's node lifecycle controller: nodes
// that need the NoExecute taint wait in their zone's queue, and a token
// bucket (burst 1) lets them through at --node-eviction-rate, so a network
// partition that silences many nodes at once evicts their pods gradually.
// A zone's state — Normal, PartialDisruption, FullDisruption — picks the
// rate; when every zone is fully disrupted (most likely the control plane
// lost the network, not the nodes), nothing is evicted at all.

export type ZoneState = 'Initial' | 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** Token bucket with burst 1 (upstream's EvictionRateLimiterBurst); a rate of 0 never lets anything through. */
export class TokenBucket {
  readonly qps: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(options: { qps: number; now: () => number; full?: boolean }) {
    this.qps = options.qps;
    this.now = options.now;
    this.tokens = options.full === false ? 0 : 1;
    this.last = options.now();
  }

  tryAccept(): boolean {
    if (this.qps <= 0) return false;
    const now = this.now();
    this.tokens = Math.min(1, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface Entry {
  value: string;
  uid: string;
  processAt: number;
}

/**
 * A set-like queue of node names ordered by when to process them, drained
 * through a token bucket (upstream's RateLimitedTimedQueue). A value once
 * added is not added again until remove() (the node became healthy) —
 * processing it successfully does not forget it either.
 */
export class RateLimitedTimedQueue {
  private entries: Entry[] = [];
  private readonly members = new Set<string>();
  private limiter: TokenBucket;
  private readonly now: () => number;

  constructor(options: { qps: number; now: () => number }) {
    this.now = options.now;
    this.limiter = new TokenBucket({ qps: options.qps, now: options.now });
  }

  get qps(): number {
    return this.limiter.qps;
  }

  /** Returns false when the value is already a member. */
  add(value: string, uid: string): boolean {
    if (this.members.has(value)) return false;
    this.members.add(value);
    this.entries.push({ value, uid, processAt: this.now() });
    this.sort();
    return true;
  }

  /** Forget the value so it may be added again; false when it was not a member. */
  remove(value: string): boolean {
    if (!this.members.delete(value)) return false;
    this.entries = this.entries.filter((e) => e.value !== value);
    return true;
  }

  /** Values waiting to be processed. */
  pending(): number {
    return this.entries.length;
  }

  /**
   * Process due values while the limiter allows; `fn` answers done, or not
   * done with a delay before the next try.
   */
  async drain(fn: (value: string, uid: string) => Promise<{ done: true } | { done: false; retryAfterMs: number }>): Promise<void> {
    for (let head = this.entries[0]; head; head = this.entries[0]) {
      if (!this.limiter.tryAccept()) return;
      const now = this.now();
      if (now < head.processAt) return;
      const result = await fn(head.value, head.uid);
      // The value may have been removed (node healthy again) while fn ran.
      if (!this.entries.includes(head)) continue;
      if (result.done) {
        this.entries = this.entries.filter((e) => e !== head);
      } else {
        head.processAt = now + result.retryAfterMs + 1;
        this.sort();
      }
    }
  }

  /**
   * Change the rate. When the old limiter is out of tokens the new one
   * starts empty too (upstream drains it), so a rate change is no burst.
   */
  swapLimiter(qps: number): void {
    if (this.limiter.qps === qps) return;
    const exhausted = !this.limiter.tryAccept();
    this.limiter = new TokenBucket({ qps, now: this.now, full: !exhausted });
  }

  private sort(): void {
    this.entries.sort((a, b) => a.processAt - b.processAt);
  }
}

export interface ZoneStateOptions {
  /** --unhealthy-zone-threshold (upstream default 0.55). */
  unhealthyZoneThreshold: number;
}

/**
 * A zone's state from its nodes' Ready statuses (undefined: no Ready
 * condition): FullDisruption when none is ready, PartialDisruption when more
 * than two and at least the threshold share are not, else Normal.
 */
export function computeZoneState(readyStatuses: readonly (string | undefined)[], options: ZoneStateOptions): { unhealthy: number; state: ZoneState } {
  let ready = 0;
  let notReady = 0;
  for (const status of readyStatuses) {
    if (status === 'True') ready++;
    else notReady++;
  }
  if (ready === 0 && notReady > 0) return { unhealthy: notReady, state: 'FullDisruption' };
  if (notReady > 2 && notReady / (notReady + ready) >= options.unhealthyZoneThreshold) return { unhealthy: notReady, state: 'PartialDisruption' };
  return { unhealthy: notReady, state: 'Normal' };
}

export interface EvictionRates {
  nodeEvictionRate: number;
  secondaryNodeEvictionRate: number;
  largeClusterSizeThreshold: number;
}

/** The eviction rate for a zone of `size` nodes in `state` (upstream's setLimiterInZone). */
export function zoneEvictionRate(state: ZoneState, size: number, rates: EvictionRates): number {
  switch (state) {
    case 'PartialDisruption':
      // Small clusters stop evicting: with few nodes a partial outage more likely means a wider problem.
      return size > rates.largeClusterSizeThreshold ? rates.secondaryNodeEvictionRate : 0;
    default:
      return rates.nodeEvictionRate;
  }
}
