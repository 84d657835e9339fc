// How a finished pod counts for its Job: failed or not, what the pod
// failure policy says about it, when it finished, and how long the Job
// waits before replacing it (exponential backoff per Job, or per index).
// Pure functions of the Job and its pods; the controller keeps the state.
import type { Pod } from '../framework/types.ts';
import { countIndexes, overlapCount, parseIndexes, type Intervals } from './indexes.ts';
import {
  INDEX_FAILURE_COUNT_ANNOTATION, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, onlyReplaceFailedPods, type Job, type PodFailurePolicyRule,
} from './types.ts';

interface TerminatedState {
  exitCode?: number;
  finishedAt?: string;
}

interface ContainerStatus {
  name?: string;
  restartCount?: number;
  state?: { terminated?: TerminatedState };
}

const containerStatuses = (pod: Pod) => (pod.status?.containerStatuses ?? []) as ContainerStatus[];
const initContainerStatuses = (pod: Pod) => (pod.status?.initContainerStatuses ?? []) as ContainerStatus[];

/**
 * Failed for the Job: phase Failed, or — unless only failed pods are
 * replaced — being deleted before succeeding (an evicted or orphaned pod
 * may never reach a phase; its deletion is its failure).
 */
export function isPodFailed(pod: Pod, job: Job): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return Boolean(pod.metadata.deletionTimestamp) && phase !== 'Succeeded';
}

/** Being deleted but not yet finished: its replacement may have to wait (podReplacementPolicy Failed). */
export const isPodTerminating = (pod: Pod) =>
  Boolean(pod.metadata.deletionTimestamp) && pod.status?.phase !== 'Failed' && pod.status?.phase !== 'Succeeded';

export interface PolicyMatch {
  /** Set when a FailJob rule matched: why the Job fails. */
  failJobMessage?: string;
  /** False when an Ignore rule matched: the failure does not count toward backoffLimit. */
  countFailed: boolean;
  action?: PodFailurePolicyRule['action'];
}

/** The first rule of the Job's pod failure policy that matches a failed pod. */
export function matchPodFailurePolicy(job: Job, pod: Pod): PolicyMatch {
  const rules = job.spec.podFailurePolicy?.rules ?? [];
  for (const [index, rule] of rules.entries()) {
    let message: string | undefined;
    if (rule.onExitCodes) {
      const container = matchExitCodes(pod, rule.onExitCodes);
      if (!container) continue;
      message = `Container ${container.name} for pod ${pod.metadata.namespace}/${pod.metadata.name} failed with exit code ${container.state!.terminated!.exitCode} matching ${rule.action} rule at index ${index}`;
    } else if (rule.onPodConditions) {
      const condition = (pod.status?.conditions ?? []).find((c) => rule.onPodConditions!.some((p) => p.type === c.type && (p.status ?? 'True') === c.status));
      if (!condition) continue;
      message = `Pod ${pod.metadata.namespace}/${pod.metadata.name} has condition ${condition.type} matching ${rule.action} rule at index ${index}`;
    } else {
      continue;
    }
    switch (rule.action) {
      case 'Ignore': return { countFailed: false, action: 'Ignore' };
      case 'FailJob': return { failJobMessage: message, countFailed: true, action: 'FailJob' };
      default: return { countFailed: true, action: rule.action };
    }
  }
  return { countFailed: true };
}

/** Exit code 0 never matches: a container that succeeded did not cause the failure. */
function matchExitCodes(pod: Pod, requirement: NonNullable<PodFailurePolicyRule['onExitCodes']>): ContainerStatus | undefined {
  const matching = (statuses: ContainerStatus[]) => statuses.find((s) => {
    const code = s.state?.terminated?.exitCode;
    if (code === undefined || code === 0) return false;
    if (requirement.containerName && requirement.containerName !== s.name) return false;
    const listed = requirement.values.includes(code);
    return requirement.operator === 'In' ? listed : requirement.operator === 'NotIn' ? !listed : false;
  });
  return matching(containerStatuses(pod)) ?? matching(initContainerStatuses(pod));
}

/** The FailJob message of the first failed pod a FailJob rule matches. */
export function failJobMessage(job: Job, pods: readonly Pod[]): string | undefined {
  if (!job.spec.podFailurePolicy) return undefined;
  for (const pod of pods) {
    if (!isPodFailed(pod, job)) continue;
    const message = matchPodFailurePolicy(job, pod).failJobMessage;
    if (message) return message;
  }
  return undefined;
}

/** Failed pods that count toward backoffLimit (those no Ignore rule matched). */
export function countedFailures(job: Job, failed: readonly Pod[]): number {
  if (!job.spec.podFailurePolicy) return failed.length;
  return failed.filter((pod) => matchPodFailurePolicy(job, pod).countFailed).length;
}

/** restartPolicy OnFailure: the kubelet restarts containers in place; their restarts are the failures. */
export function pastBackoffLimitOnFailure(job: Job, pods: readonly Pod[]): boolean {
  if ((job.spec.template.spec as { restartPolicy?: string } | undefined)?.restartPolicy !== 'OnFailure') return false;
  let restarts = 0;
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase !== 'Running' && phase !== 'Pending') continue;
    for (const s of [...initContainerStatuses(pod), ...containerStatuses(pod)]) restarts += s.restartCount ?? 0;
  }
  const limit = job.spec.backoffLimit ?? 6;
  return limit === 0 ? restarts > 0 : restarts >= limit;
}

/** The successPolicy rule the succeeded indexes meet, as the condition message ("Matched rules at index 0"). */
export function matchSuccessPolicy(job: Job, succeeded: Intervals): string | undefined {
  const rules = job.spec.successPolicy?.rules;
  if (!rules || succeeded.length === 0) return undefined;
  const completions = job.spec.completions ?? 0;
  for (const [index, rule] of rules.entries()) {
    if (rule.succeededIndexes !== undefined) {
      const required = parseIndexes(rule.succeededIndexes, completions);
      if (required.length === 0) continue;
      const have = overlapCount(required, succeeded);
      if (have === countIndexes(required) || (rule.succeededCount !== undefined && have >= rule.succeededCount)) return `Matched rules at index ${index}`;
    } else if (rule.succeededCount !== undefined && countIndexes(succeeded) >= rule.succeededCount) {
      return `Matched rules at index ${index}`;
    }
  }
  return undefined;
}

// ---- timing ------------------------------------------------------------------

const parseTime = (text: string | undefined) => {
  const t = text ? Date.parse(text) : NaN;
  return Number.isFinite(t) ? t : undefined;
};

/**
 * When a pod finished, best guess first: the last container's finishedAt
 * (all containers terminated), the Ready=False transition, the moment of
 * deletion, or else its creation.
 */
export function finishedAt(pod: Pod): number {
  const statuses = containerStatuses(pod);
  if (statuses.length && statuses.every((s) => parseTime(s.state?.terminated?.finishedAt) !== undefined)) {
    return Math.max(...statuses.map((s) => parseTime(s.state!.terminated!.finishedAt)!));
  }
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const readyFalse = ready?.status === 'False' ? parseTime(ready.lastTransitionTime) : undefined;
  if (readyFalse !== undefined) return readyFalse;
  const deleted = parseTime(pod.metadata.deletionTimestamp);
  if (deleted !== undefined) return deleted - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
  return parseTime(pod.metadata.creationTimestamp) ?? 0;
}

export interface BackoffTiming {
  baseMs: number;
  maxMs: number;
}

/** The wait after `failures` consecutive failures, the last at `lastFailure`: base, doubling, capped; what remains of it at `now`. */
export function remainingBackoffMs(timing: BackoffTiming, failures: number, lastFailure: number | undefined, now: number): number {
  if (failures <= 0 || lastFailure === undefined) return 0;
  let delay = timing.baseMs;
  for (let i = 1; i < failures && delay < timing.maxMs; i++) delay *= 2;
  delay = Math.min(delay, timing.maxMs);
  return Math.max(0, delay - (now - lastFailure));
}

/** The per-Job backoff state: consecutive failures since the last success, and when the last one happened. */
export interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailure?: number;
}

/**
 * The record after this sync's newly finished pods: a success resets the
 * count, except for failures that happened after the last success.
 */
export function nextBackoffRecord(previous: BackoffRecord, newSucceeded: readonly Pod[], newFailed: readonly Pod[]): BackoffRecord {
  const failedTimes = newFailed.map(finishedAt).sort((a, b) => a - b);
  if (newSucceeded.length === 0) {
    if (failedTimes.length === 0) return previous;
    return { failuresAfterLastSuccess: previous.failuresAfterLastSuccess + failedTimes.length, lastFailure: failedTimes.at(-1) };
  }
  const lastSuccess = Math.max(...newSucceeded.map(finishedAt));
  const after = failedTimes.filter((t) => t > lastSuccess);
  return { failuresAfterLastSuccess: after.length, lastFailure: after.at(-1) };
}

// ---- per-index failure counts ---------------------------------------------------

function annotationCount(pod: Pod, key: string): number {
  const value = pod.metadata.annotations?.[key];
  if (value === undefined || !/^\d+$/.test(value)) return 0;
  const n = Number(value);
  return n <= 2147483647 ? n : 0;
}

export const indexFailureCount = (pod: Pod) => annotationCount(pod, INDEX_FAILURE_COUNT_ANNOTATION);
export const indexAbsoluteFailureCount = (pod: Pod) => indexFailureCount(pod) + annotationCount(pod, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);

/** The failure counts a replacement of `replaced` starts with (its own failure included). */
export function nextIndexFailureCounts(job: Job, replaced: Pod | undefined): { failed: number; ignored: number } {
  if (!replaced) return { failed: 0, ignored: 0 };
  const failed = indexFailureCount(replaced);
  const ignored = annotationCount(replaced, INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
  const counts = !job.spec.podFailurePolicy || matchPodFailurePolicy(job, replaced).countFailed;
  return counts ? { failed: failed + 1, ignored } : { failed, ignored: ignored + 1 };
}

/** Whether this failed pod fails its whole index (backoffLimitPerIndex reached, or a FailIndex rule). */
export function isIndexFailed(job: Job, pod: Pod): boolean {
  if (!isPodFailed(pod, job)) return false;
  let counts = true;
  if (job.spec.podFailurePolicy) {
    const match = matchPodFailurePolicy(job, pod);
    if (match.action === 'FailIndex') return true;
    counts = match.countFailed;
  }
  return counts && indexFailureCount(pod) >= (job.spec.backoffLimitPerIndex ?? 0);
}
