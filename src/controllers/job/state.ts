// What one sync of a Job works with (built from the caches at the start of
// the sync, changed as it goes), what the sync steps need from the
// controller, and the finalizer expectations that keep a pod from being
// counted twice while the pod cache lags behind our own finalizer removal.
import type { EventRecorder } from '../../client/events.ts';
import type { ApiClient } from '../../client/interface.ts';
import type { Logger } from '../framework/controller.ts';
import type { Expectations } from '../framework/expectations.ts';
import type { Pod } from '../framework/types.ts';
import type { Interval } from './indexes.ts';
import type { BackoffRecord, BackoffTiming } from './policy.ts';
import type { Job, JobCondition } from './types.ts';

/** At most this many pods are created or deleted per sync (upstream's MaxPodCreateDeletePerSync). */
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;
/** At most this many finished pods are moved through uncountedTerminatedPods per sync, keeping status small. */
export const MAX_UNCOUNTED_PODS = 500;

export interface JobSyncState {
  key: string;
  /** Our copy of the Job; its status is what gets written (replaced by the server's answer after each write). */
  job: Job;
  /** Every pod the Job owns, finished ones included. */
  pods: Pod[];
  /** Pods not finished and not being deleted. */
  active: Pod[];
  ready: number;
  terminating: number;
  /** uids in status.uncountedTerminatedPods: finished, recorded, finalizer not yet removed. */
  uncounted: { succeeded: Set<string>; failed: Set<string> };
  /** uids whose finalizer we removed but whose pod the cache still shows with it. */
  expectedRmFinalizers: ReadonlySet<string>;
  succeeded: number;
  failed: number;
  /** The condition the Job is heading to (FailureTarget, SuccessCriteriaMet, or the final one). */
  finished?: JobCondition;
  prevSucceededIndexes: Interval[];
  succeededIndexes: Interval[];
  /** Only with backoffLimitPerIndex. */
  failedIndexes?: Interval[];
  /** Per index, the last failed pod kept (finalizer on) until its replacement has inherited its failure count. */
  delayedDeletionPerIndex: Map<number, Pod>;
  backoff: BackoffRecord;
}

export interface JobSyncDeps {
  client: ApiClient;
  recorder: EventRecorder;
  logger: Logger;
  expectations: Expectations;
  finalizerExpectations: FinalizerExpectations;
  backoffTiming: BackoffTiming;
  backoffRecords: Map<string, BackoffRecord>;
  now: () => Date;
  /** Sync the Job again after `ms` (never sooner than the batch period). */
  enqueueAfter(key: string, ms: number): void;
}

/**
 * Pod uids per Job whose tracking finalizer we removed and whose update the
 * pod informer has not delivered yet. Such a pod is skipped when counting:
 * its outcome is already in the status we wrote. Entries go when the update
 * (or the pod's deletion) is seen, or when the Job goes.
 */
export class FinalizerExpectations {
  private readonly byJob = new Map<string, Set<string>>();

  expectRemoved(jobKey: string, uids: readonly string[]): void {
    let set = this.byJob.get(jobKey);
    if (!set) this.byJob.set(jobKey, (set = new Set()));
    for (const uid of uids) set.add(uid);
  }

  observed(jobKey: string, uid: string): void {
    const set = this.byJob.get(jobKey);
    if (!set?.delete(uid)) return;
    if (set.size === 0) this.byJob.delete(jobKey);
  }

  expected(jobKey: string): ReadonlySet<string> {
    return new Set(this.byJob.get(jobKey) ?? []);
  }

  delete(jobKey: string): void {
    this.byJob.delete(jobKey);
  }
}

export function newCondition(type: string, reason: string, message: string, now: Date, status: JobCondition['status'] = 'True'): JobCondition {
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return { type, status, reason, message, lastProbeTime: at, lastTransitionTime: at };
}

/**
 * Set a condition's status, reason and message (a new transition time only
 * when one of them changes). A False condition is not added when absent:
 * going from nothing to False says nothing. Returns whether anything changed.
 */
export function ensureCondition(job: Job, type: string, status: JobCondition['status'], reason: string, message: string, now: Date): boolean {
  job.status ??= {};
  const conditions = (job.status.conditions ??= []);
  const existing = conditions.find((c) => c.type === type);
  if (existing) {
    if (existing.status === status && existing.reason === reason && existing.message === message) return false;
    Object.assign(existing, newCondition(type, reason, message, now, status));
    return true;
  }
  if (status === 'False') return false;
  conditions.push(newCondition(type, reason, message, now, status));
  return true;
}
