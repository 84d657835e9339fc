// A DisruptionTarget=True pod condition that never led to a deletion (an
// eviction approved, then the delete failed) is reset to False after a
// while, as upstream's disruption controller does, so the pod does not look
// doomed forever. Conditions the kubelet set are left alone: its
// terminations may take arbitrarily long to begin.
import type { Pod, PodCondition } from '../framework/types.ts';
import { rfc3339 } from '../framework/types.ts';

export const DISRUPTION_TARGET = 'DisruptionTarget';
export const STALE_POD_DISRUPTION_TIMEOUT_MS = 2 * 60 * 1000;
const TERMINATION_BY_KUBELET = 'TerminationByKubelet';

/**
 * Undefined when the pod has no stale-able condition; else the milliseconds
 * left until it counts as stale (0: reset it now).
 */
export function staleDisruptionWait(pod: Pod, now: number, timeoutMs = STALE_POD_DISRUPTION_TIMEOUT_MS): number | undefined {
  if (pod.metadata.deletionTimestamp) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return undefined;
  const condition = pod.status?.conditions?.find((c) => c.type === DISRUPTION_TARGET);
  if (!condition || condition.status !== 'True' || condition.reason === TERMINATION_BY_KUBELET) return undefined;
  const since = condition.lastTransitionTime ? Date.parse(condition.lastTransitionTime) : NaN;
  const elapsed = Number.isFinite(since) ? now - since : timeoutMs;
  return Math.max(0, timeoutMs - elapsed);
}

/** The pod with its DisruptionTarget condition replaced by a bare False one (a copy). */
export function withDisruptionTargetReset(pod: Pod, now: Date): Pod {
  const next: Pod = structuredClone(pod);
  const conditions: PodCondition[] = next.status?.conditions ?? [];
  const index = conditions.findIndex((c) => c.type === DISRUPTION_TARGET);
  const reset: PodCondition = { type: DISRUPTION_TARGET, status: 'False', lastProbeTime: null, lastTransitionTime: rfc3339(now) };
  if (index < 0) conditions.push(reset);
  else conditions[index] = reset;
  return next;
}
