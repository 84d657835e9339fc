// The arithmetic of a PodDisruptionBudget's status, after upstream's
// disruption controller; pure (no I/O, the clock passed in) so it is tested
// on its own.
//
//   desiredHealthy  minAvailable (a number), or minAvailable% of the expected
//                   pods (rounded up), or expected − maxUnavailable (that
//                   rounded up too), never below 0;
//   expectedPods    the pods selected (minAvailable a number), else the sum of
//                   the scales of the pods' controllers;
//   currentHealthy  selected pods that are Ready, not being deleted and not
//                   recently approved for eviction (status.disruptedPods);
//   disruptionsAllowed  currentHealthy − desiredHealthy, but 0 when negative
//                   or when no pods are expected (a budget whose pods have just
//                   appeared must not allow anything before it is synced).
import type { PodDisruptionBudget, PodDisruptionBudgetStatus } from '../../api/disruption/budget.ts';
import { isPodReady } from '../framework/pods.ts';
import type { Pod } from '../framework/types.ts';

/**
 * How long an approved eviction may take to show as a deletion before the
 * controller assumes it will not happen and counts the pod again (upstream's
 * DeletionTimeout).
 */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

/** "50%" of `total` (rounded up or down), or a plain integer; anything else is an error, as intstr's. */
export function scaledIntOrPercent(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const match = /^(-?\d+)%$/.exec(value);
  if (!match) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** True when the budget's size depends on its pods' controllers (a percentage minAvailable, or maxUnavailable). */
export function needsControllerScale(pdb: PodDisruptionBudget): boolean {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable != null) return true;
  return typeof spec.minAvailable === 'string';
}

export interface Expected {
  expectedPods: number;
  desiredHealthy: number;
}

/**
 * expectedPods and desiredHealthy. `controllerScale` is only called when the
 * budget needs it (see needsControllerScale); it may throw.
 */
export function expectedAndDesired(pdb: PodDisruptionBudget, podCount: number, controllerScale: () => number): Expected {
  const spec = pdb.spec ?? {};
  if (spec.maxUnavailable != null) {
    const expectedPods = controllerScale();
    const maxUnavailable = scaledIntOrPercent(spec.maxUnavailable, expectedPods, true);
    return { expectedPods, desiredHealthy: Math.max(0, expectedPods - maxUnavailable) };
  }
  if (spec.minAvailable != null) {
    if (typeof spec.minAvailable === 'number') return { expectedPods: podCount, desiredHealthy: spec.minAvailable };
    const expectedPods = controllerScale();
    return { expectedPods, desiredHealthy: scaledIntOrPercent(spec.minAvailable, expectedPods, true) };
  }
  return { expectedPods: 0, desiredHealthy: 0 };
}

export interface DisruptedPods {
  /** Entries still awaiting their pod's deletion. */
  kept: Record<string, string>;
  /** When the earliest kept entry times out: sync again then. */
  recheckAt?: number;
  /** Pods whose approved eviction did not happen in time. */
  expired: Pod[];
}

/**
 * Carry over status.disruptedPods: drop entries whose pod is gone or already
 * being deleted (the deletion is visible now), and entries older than the
 * deletion timeout (the eviction approved for them did not happen).
 */
export function pruneDisruptedPods(pods: readonly Pod[], previous: Record<string, string> | undefined, now: number): DisruptedPods {
  const result: DisruptedPods = { kept: {}, expired: [] };
  if (!previous) return result;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const name = pod.metadata.name!;
    if (!Object.hasOwn(previous, name)) continue;
    const approvedAt = Date.parse(previous[name]);
    const expectedBy = (Number.isFinite(approvedAt) ? approvedAt : 0) + DELETION_TIMEOUT_MS;
    if (expectedBy < now) {
      result.expired.push(pod);
      continue;
    }
    result.kept[name] = previous[name];
    if (result.recheckAt === undefined || expectedBy < result.recheckAt) result.recheckAt = expectedBy;
  }
  return result;
}

/** Ready pods that are neither being deleted nor about to be (an approved eviction still in time). */
export function countHealthyPods(pods: readonly Pod[], disrupted: Record<string, string>, now: number): number {
  let healthy = 0;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    const name = pod.metadata.name!;
    if (Object.hasOwn(disrupted, name)) {
      const approvedAt = Date.parse(disrupted[name]);
      if (Number.isFinite(approvedAt) && approvedAt + DELETION_TIMEOUT_MS > now) continue;
    }
    if (isPodReady(pod)) healthy++;
  }
  return healthy;
}

export interface ComputedCounts {
  currentHealthy: number;
  desiredHealthy: number;
  expectedPods: number;
  disruptedPods: Record<string, string>;
}

export function disruptionsAllowed(counts: Pick<ComputedCounts, 'currentHealthy' | 'desiredHealthy' | 'expectedPods'>): number {
  const allowed = counts.currentHealthy - counts.desiredHealthy;
  return counts.expectedPods <= 0 || allowed <= 0 ? 0 : allowed;
}

const sameMap = (a: Record<string, string> | undefined, b: Record<string, string>) => {
  const left = Object.entries(a ?? {});
  return left.length === Object.keys(b).length && left.every(([k, v]) => b[k] === v);
};

/** Whether the stored status already says all of this (then nothing is written). */
export function statusMatches(pdb: PodDisruptionBudget, counts: ComputedCounts): boolean {
  const s: PodDisruptionBudgetStatus = pdb.status ?? {};
  return (s.currentHealthy ?? 0) === counts.currentHealthy
    && (s.desiredHealthy ?? 0) === counts.desiredHealthy
    && (s.expectedPods ?? 0) === counts.expectedPods
    && (s.disruptionsAllowed ?? 0) === disruptionsAllowed(counts)
    && sameMap(s.disruptedPods, counts.disruptedPods)
    && (s.observedGeneration ?? 0) === (pdb.metadata.generation ?? 0);
}
