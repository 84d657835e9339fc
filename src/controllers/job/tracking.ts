// Counting finished pods exactly once (upstream's
// trackJobStatusAndRemoveFinalizers). A Job's pods carry the
// batch.kubernetes.io/job-tracking finalizer, so a finished pod cannot
// vanish before it is counted. Counting is a two-step hand-off through
// status.uncountedTerminatedPods:
//   1. write the finished pods' uids into uncountedTerminatedPods;
//   2. remove their finalizers;
//   3. move each uid whose finalizer is gone from the list into the
//      succeeded/failed counters, and write the status again.
// A crash between any two steps is harmless: a uid in the list is never
// added again, a pod without the finalizer is never looked at again, and a
// uid whose pod lost its finalizer is moved to the counters by the next
// sync. Indexed Jobs need no uid list for successes: the index itself says
// what is counted (status.completedIndexes).
import { resources } from '../../client/interface.ts';
import type { Pod } from '../framework/types.ts';
import { completionIndexOf, countIndexes, formatIndexes, hasIndex, parseIndexes, validIndexOf, withIndexes } from './indexes.ts';
import { removeFinalizerPatch } from './manage.ts';
import { isIndexFailed, isPodFailed, matchPodFailurePolicy } from './policy.ts';
import { ensureCondition, MAX_UNCOUNTED_PODS, newCondition, type JobSyncDeps, type JobSyncState } from './state.ts';
import { hasBackoffLimitPerIndex, hasTrackingFinalizer, isIndexedJob, jobsResource, type Job, type JobStatus } from './types.ts';

/**
 * Record newly finished pods, release their finalizers, update counters,
 * and — once nothing is left uncounted or terminating — add the final
 * Complete/Failed condition. Writes the status only when something changed
 * (or `needsFlush` says the caller changed it).
 */
export async function trackStatusAndRemoveFinalizers(deps: JobSyncDeps, state: JobSyncState, needsFlush: boolean): Promise<void> {
  const job = state.job;
  const status = job.status!;
  const uncounted = (status.uncountedTerminatedPods ??= {});
  const indexed = isIndexedJob(job);
  const completions = job.spec.completions ?? 0;
  // Lower indexes first, so completed indexes are recorded in order when the per-sync cap cuts in.
  const pods = indexed ? [...state.pods].sort((a, b) => (completionIndexOf(a) ?? -1) - (completionIndexOf(b) ?? -1)) : state.pods;
  const withFinalizer = new Set(pods.filter((p) => hasTrackingFinalizer(p) && !state.expectedRmFinalizers.has(p.metadata.uid!)).map((p) => p.metadata.uid!));

  if (countRemovedFinalizers(status, withFinalizer)) needsFlush = true;
  const release: Pod[] = [];
  const newSucceededIndexes: number[] = [];
  let reachedMax = false;
  for (const pod of pods) {
    const uid = pod.metadata.uid!;
    if (!withFinalizer.has(uid)) continue;
    const failed = isPodFailed(pod, job);
    if (!canRemoveFinalizer(state, pod, failed)) continue;
    release.push(pod);
    if (pod.status?.phase === 'Succeeded' && !state.uncounted.failed.has(uid)) {
      if (indexed) {
        const index = validIndexOf(pod, completions);
        if (index !== undefined && !hasIndex(state.prevSucceededIndexes, index)) {
          newSucceededIndexes.push(index);
          needsFlush = true;
        }
      } else if (!state.uncounted.succeeded.has(uid)) {
        (uncounted.succeeded ??= []).push(uid);
        needsFlush = true;
      }
    } else if (failed || (state.finished && state.finished.type !== 'SuccessCriteriaMet')) {
      // Once the Job has failed, every pod not finished yet counts as failed.
      const validIndex = !indexed || validIndexOf(pod, completions) !== undefined;
      if (!state.uncounted.failed.has(uid) && validIndex) {
        if (!job.spec.podFailurePolicy || matchPodFailurePolicy(job, pod).countFailed) {
          (uncounted.failed ??= []).push(uid);
          needsFlush = true;
        }
      }
    }
    if (newSucceededIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
      // The rest waits for the next sync (our own status write triggers it), keeping status small and syncs short.
      reachedMax = true;
      break;
    }
  }

  if (indexed) {
    state.succeededIndexes = withIndexes(state.succeededIndexes, newSucceededIndexes);
    const completed = formatIndexes(state.succeededIndexes);
    if (completed !== (status.completedIndexes ?? '')) needsFlush = true;
    status.succeeded = countIndexes(state.succeededIndexes);
    status.completedIndexes = completed;
    const failedIndexes = state.failedIndexes ? formatIndexes(state.failedIndexes) : undefined;
    if (failedIndexes !== status.failedIndexes) {
      status.failedIndexes = failedIndexes;
      needsFlush = true;
    }
  }

  // The interim condition is written before any finalizer goes, so the reason survives a crash.
  let finished = state.finished;
  if (finished?.type === 'FailureTarget') {
    (status.conditions ??= []).push(finished);
    needsFlush = true;
    finished = newCondition('Failed', finished.reason ?? '', finished.message ?? '', deps.now());
  } else if (finished?.type === 'SuccessCriteriaMet') {
    if (!status.conditions?.some((c) => c.type === 'SuccessCriteriaMet' && c.status === 'True')) {
      (status.conditions ??= []).push(finished);
      needsFlush = true;
    }
    finished = newCondition('Complete', finished.reason ?? '', finished.message ?? '', deps.now());
  }
  state.finished = finished;

  needsFlush = await flushAndRemoveFinalizers(deps, state, release, withFinalizer, needsFlush);
  const jobFinished = !reachedMax && enactFinished(deps, state);
  if (jobFinished) needsFlush = true;
  if (needsFlush) {
    state.job = await writeStatus(deps, state.job);
    if (jobFinished) recordFinished(deps, state);
  }
}

/**
 * The finalizer may go when the Job is being deleted or is finishing, the
 * pod succeeded, or the pod failed — except the last failed pod of an
 * index under backoffLimitPerIndex, kept until its replacement has copied
 * its failure count.
 */
function canRemoveFinalizer(state: JobSyncState, pod: Pod, failed: boolean): boolean {
  if (state.job.metadata.deletionTimestamp || state.finished || pod.status?.phase === 'Succeeded') return true;
  if (!failed) return false;
  if (hasBackoffLimitPerIndex(state.job)) {
    const index = completionIndexOf(pod);
    if (index !== undefined && state.delayedDeletionPerIndex.get(index)?.metadata.uid === pod.metadata.uid) return false;
  }
  return true;
}

/** Move uids whose pods no longer carry the finalizer from uncountedTerminatedPods to the counters. */
function countRemovedFinalizers(status: JobStatus, withFinalizer: ReadonlySet<string>): boolean {
  const uncounted = (status.uncountedTerminatedPods ??= {});
  let changed = false;
  for (const field of ['succeeded', 'failed'] as const) {
    const list = uncounted[field] ?? [];
    const still = list.filter((uid) => withFinalizer.has(uid));
    if (still.length === list.length) continue;
    changed = true;
    status[field] = (status[field] ?? 0) + list.length - still.length;
    uncounted[field] = still;
  }
  return changed;
}

/** Steps 1–3 of the hand-off (see the top of this file). Returns whether the status still has unwritten changes. */
async function flushAndRemoveFinalizers(deps: JobSyncDeps, state: JobSyncState, release: readonly Pod[], withFinalizer: Set<string>, needsFlush: boolean): Promise<boolean> {
  if (needsFlush) {
    state.job = await writeStatus(deps, state.job);
    // Only now is the failure on record; the backoff follows what the status says.
    deps.backoffRecords.set(state.key, state.backoff);
    needsFlush = false;
  }
  let removeError: unknown;
  if (release.length > 0) {
    deps.finalizerExpectations.expectRemoved(state.key, release.map((p) => p.metadata.uid!));
    await Promise.all(release.map(async (pod) => {
      try {
        await deps.client.patch({ ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name }, 'strategic', removeFinalizerPatch());
      } catch (error) {
        // No update will come for this pod; a pod already gone counts as released.
        deps.finalizerExpectations.observed(state.key, pod.metadata.uid!);
        if ((error as { code?: number }).code !== 404) {
          removeError ??= error;
          return;
        }
      }
      withFinalizer.delete(pod.metadata.uid!);
    }));
  }
  if (countRemovedFinalizers(state.job.status!, withFinalizer)) needsFlush = true;
  if (removeError !== undefined) {
    // Keep the partial progress before retrying.
    if (needsFlush) state.job = await writeStatus(deps, state.job);
    throw removeError;
  }
  return needsFlush;
}

/** Put the final condition on once nothing is uncounted or terminating; returns whether it did. */
function enactFinished(deps: JobSyncDeps, state: JobSyncState): boolean {
  const finished = state.finished;
  if (!finished) return false;
  const status = state.job.status!;
  const uncounted = status.uncountedTerminatedPods;
  if ((uncounted?.succeeded?.length ?? 0) + (uncounted?.failed?.length ?? 0) > 0) return false;
  if (state.terminating > 0) return false;
  ensureCondition(state.job, finished.type, finished.status, finished.reason ?? '', finished.message ?? '', deps.now());
  if (finished.type === 'Complete') status.completionTime = state.job.status!.conditions!.find((c) => c.type === 'Complete')!.lastTransitionTime;
  return true;
}

function recordFinished(deps: JobSyncDeps, state: JobSyncState): void {
  const { job, finished } = state;
  if (finished!.type === 'Complete') {
    const completions = job.spec.completions;
    if (completions !== undefined && completions !== null && (job.status?.succeeded ?? 0) > completions) {
      deps.recorder.record({ object: job, type: 'Warning', reason: 'TooManySucceededPods', message: 'Too many succeeded pods running after completion count reached' });
    }
    deps.recorder.record({ object: job, type: 'Normal', reason: 'Completed', message: 'Job completed' });
  } else {
    deps.recorder.record({ object: job, type: 'Warning', reason: finished!.reason ?? 'Failed', message: finished!.message ?? '' });
  }
}

/**
 * PUT the status (guarded by the resourceVersion: a conflict means our copy
 * is stale and the sync is retried from newer caches). Zero counters and
 * empty lists are left out, as upstream serializes them.
 */
export async function writeStatus(deps: JobSyncDeps, job: Job): Promise<Job> {
  const status: JobStatus = { ...job.status };
  for (const field of ['active', 'succeeded', 'failed'] as const) if (!status[field]) delete status[field];
  if (!status.completedIndexes) delete status.completedIndexes;
  const uncounted = { ...status.uncountedTerminatedPods };
  if (!uncounted.succeeded?.length) delete uncounted.succeeded;
  if (!uncounted.failed?.length) delete uncounted.failed;
  status.uncountedTerminatedPods = uncounted;
  if (!status.conditions?.length) delete status.conditions;
  for (const field of Object.keys(status) as (keyof JobStatus)[]) if (status[field] === undefined) delete status[field];
  const ref = { ...jobsResource, namespace: job.metadata.namespace, name: job.metadata.name, subresource: 'status' };
  const updated = await deps.client.update<Job>(ref, { ...job, status });
  updated.status ??= {};
  updated.status.uncountedTerminatedPods ??= {};
  return updated;
}

/** Indexes that failed for good (backoffLimitPerIndex): recorded ones plus pods that just used up their index's budget. */
export function calculateFailedIndexes(job: Job, pods: readonly Pod[]) {
  const completions = job.spec.completions ?? 0;
  const recorded = parseIndexes(job.status?.failedIndexes, completions);
  const fresh = pods.filter((p) => hasTrackingFinalizer(p) && validIndexOf(p, completions) !== undefined && isIndexFailed(job, p)).map((p) => validIndexOf(p, completions)!);
  return withIndexes(recorded, fresh);
}
