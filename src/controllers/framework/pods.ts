// Pod facts the workload controllers share (upstream's podutil and
// controller_utils): readiness, availability after minReadySeconds, which
// pods still count, and the order in which surplus pods are deleted.
import type { Pod, PodCondition } from './types.ts';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

export function podReadyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return podReadyCondition(pod)?.status === 'True';
}

/**
 * Ready for at least minReadySeconds (by the Ready condition's last
 * transition) at `now`. Without a transition time a ready pod counts as
 * available only when no wait is asked for.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, now: Date): boolean {
  const ready = podReadyCondition(pod);
  if (ready?.status !== 'True') return false;
  if (!minReadySeconds) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 < now.getTime();
}

/** Still counts toward replicas: not finished and not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: Pod): number {
  const value = Number(pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION] ?? 0);
  return Number.isInteger(value) ? value : 0;
}

function readySince(pod: Pod): number | undefined {
  const c = podReadyCondition(pod);
  if (c?.status !== 'True' || !c.lastTransitionTime) return undefined;
  const t = Date.parse(c.lastTransitionTime);
  return Number.isFinite(t) ? t : undefined;
}

function createdAt(pod: Pod): number | undefined {
  const t = pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

const maxRestarts = (pod: Pod) => Math.max(0, ...(pod.status?.containerStatuses ?? []).map((s) => s.restartCount ?? 0));

/**
 * Upstream's logarithmic age buckets: two pods whose ages differ by less
 * than a factor of two rank alike, so scale-down does not always pick the
 * very newest pod when many were made at nearly the same time. Ages are in
 * nanoseconds, as upstream's durations, so the buckets fall the same way.
 */
function ageBucket(t: number, now: number): number {
  const age = (now - t) * 1e6;
  return age > 0 ? Math.floor(Math.log2(age)) : -1;
}

/** "Sooner to delete" for times where a missing (zero) time sorts first, then the later time. */
function compareTimes(a: number | undefined, b: number | undefined, now: number, ua: string, ub: string): number {
  if (a === b) return 0;
  if (a === undefined || b === undefined) return a === undefined ? -1 : 1;
  const diff = ageBucket(a, now) - ageBucket(b, now);
  if (diff === 0) return ua < ub ? -1 : ua > ub ? 1 : 0;
  return diff;
}

export interface RankedPod {
  pod: Pod;
  /** Active pods of the same owner family on this pod's node: more means doubled up, deleted sooner. */
  rank: number;
}

/**
 * Comparator putting the pod to delete first (upstream's ActivePodsWithRanks):
 * unscheduled < scheduled; Pending < Unknown < Running; not ready < ready;
 * lower pod-deletion-cost; more pods of the family on the same node; ready
 * for a shorter time; more container restarts; younger.
 */
export function compareForDeletion(a: RankedPod, b: RankedPod, now: number): number {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '' ? -1 : 1;
  const oa = phaseOrdinal[pa.status?.phase ?? ''] ?? 0;
  const ob = phaseOrdinal[pb.status?.phase ?? ''] ?? 0;
  if (oa !== ob) return oa - ob;
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return ra ? 1 : -1;
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca - cb;
  if (a.rank !== b.rank) return b.rank - a.rank;
  const ua = pa.metadata.uid ?? '';
  const ub = pb.metadata.uid ?? '';
  if (ra && rb) {
    const byReady = compareTimes(readySince(pa), readySince(pb), now, ua, ub);
    if (byReady !== 0) return byReady;
  }
  const restarts = maxRestarts(pb) - maxRestarts(pa);
  if (restarts !== 0) return restarts;
  return compareTimes(createdAt(pa), createdAt(pb), now, ua, ub);
}

/**
 * The `count` pods to delete first. `related` are the pods of the whole
 * owner family (for a Deployment's ReplicaSet, every ReplicaSet of that
 * Deployment), used to spread what remains across nodes.
 */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], count: number, now: Date): Pod[] {
  if (count >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    const node = p.spec?.nodeName;
    if (node && isPodActive(p)) onNode.set(node, (onNode.get(node) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  const t = now.getTime();
  ranked.sort((a, b) => compareForDeletion(a, b, t));
  return ranked.slice(0, count).map((r) => r.pod);
}
