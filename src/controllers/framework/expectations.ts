// Expectations: what a controller is waiting to see in its cache before it
// trusts the cache again (upstream's UIDTrackingControllerExpectations).
//
// After a ReplicaSet creates 3 pods, its pod cache lags: a sync that ran
// before the informer delivered them would count too few and create 3 more.
// So the controller records "expect 3 adds" and skips creating/deleting
// until the informer has seen them (or 5 minutes passed: a watch event may
// be lost for good, and a stuck controller is worse than a late extra pod).
// Deletions are tracked by pod key, so a pod whose deletion is seen twice
// (marked, then gone) counts once.

export const EXPECTATIONS_TTL_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  /** Keys of objects whose deletion we still expect to observe. */
  deleting: Set<string>;
  setAt: number;
}

export interface ExpectationsOptions {
  ttlMs?: number;
  /** Milliseconds clock (fakeable). */
  now?: () => number;
}

export class Expectations {
  private readonly byKey = new Map<string, Expectation>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ExpectationsOptions = {}) {
    this.ttlMs = options.ttlMs ?? EXPECTATIONS_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * True when the controller may act on `key`: nothing is expected, every
   * expectation was observed, or they expired. A key never seen is
   * satisfied (a new controller, or one whose object was deleted).
   */
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.now() - e.setAt > this.ttlMs;
  }

  /** Expect `count` creations (replaces what was expected). */
  expectCreations(key: string, count: number): void {
    this.byKey.set(key, { add: count, del: 0, deleting: new Set(), setAt: this.now() });
  }

  /** Expect the deletion of these objects (replaces what was expected). */
  expectDeletions(key: string, objectKeys: readonly string[]): void {
    const deleting = new Set(objectKeys);
    this.byKey.set(key, { add: 0, del: deleting.size, deleting, setAt: this.now() });
  }

  creationObserved(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.add--;
  }

  /** The deletion of `objectKey` was seen (or will never be: the delete failed). Counted once per object. */
  deletionObserved(key: string, objectKey: string): void {
    const e = this.byKey.get(key);
    if (e?.deleting.delete(objectKey)) e.del--;
  }

  /** Forget the key (its object was deleted). */
  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** For tests and logs: what is still expected. */
  pending(key: string): { add: number; del: number } | undefined {
    const e = this.byKey.get(key);
    return e && { add: e.add, del: e.del };
  }
}
