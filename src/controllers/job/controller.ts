// The Job controller: run pods until enough of them succeed, or give up.
//
// sync(key), after upstream's syncJob:
// 1. The Job from the cache (gone or finished: forget it, done). Its pods
//    (finished ones too), claimed by controllerRef; adopted pods get the
//    tracking finalizer.
// 2. Count: succeeded/failed from status plus newly finished pods; decide
//    whether the Job is done — failed (pod failure policy FailJob,
//    backoffLimit, activeDeadlineSeconds, failed indexes) or succeeded
//    (completions reached, success policy).
// 3. Done: delete the pods still running. Otherwise create or delete pods
//    (manage.ts), and keep the Suspended condition.
// 4. Count finished pods exactly once and remove their finalizers
//    (tracking.ts); the final Complete/Failed condition comes only when no
//    pod is uncounted or terminating.
// Pods with our finalizer but no live, unfinished Job (orphans) are queued
// as "pod:<namespace>/<name>" and lose the finalizer.
import { selectorFromLabelSelector, type LabelSelector } from '../../api/selectors/index.ts';
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound, resources } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { claimObjects, getControllerOf, groupOf, recheckOwner, resolveControllerRef } from '../framework/controller-ref.ts';
import { Expectations } from '../framework/expectations.ts';
import { CONTROLLER_UID_INDEX } from '../framework/informers.ts';
import { isPodActive, isPodReady } from '../framework/pods.ts';
import { keyOf, rfc3339, type Pod } from '../framework/types.ts';
import { completionIndexOf, countIndexes, hasIndex, parseIndexes, validIndexOf, withIndexes } from './indexes.ts';
import { deleteJobPods, manageJob, removeFinalizerPatch } from './manage.ts';
import {
  countedFailures, failJobMessage, finishedAt, indexAbsoluteFailureCount, isPodFailed, isPodTerminating, matchSuccessPolicy,
  nextBackoffRecord, pastBackoffLimitOnFailure, type BackoffRecord,
} from './policy.ts';
import { ensureCondition, FinalizerExpectations, newCondition, type JobSyncDeps, type JobSyncState } from './state.ts';
import { calculateFailedIndexes, trackStatusAndRemoveFinalizers } from './tracking.ts';
import {
  findCondition, hasBackoffLimitPerIndex, hasTrackingFinalizer, isIndexedJob, isJobFinished, isSuspended, JOB_CONTROLLER_NAME, JOB_TRACKING_FINALIZER, jobsResource, type Job,
} from './types.ts';

/** Upstream's DefaultJobPodFailureBackOff and MaxJobPodFailureBackOff. */
export const DEFAULT_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_POD_FAILURE_BACKOFF_MS = 6 * 60_000;
/** Pod events for a Job are gathered this long into one sync (upstream's syncJobBatchPeriod). */
export const DEFAULT_BATCH_PERIOD_MS = 1000;

const ORPHAN_POD_PREFIX = 'pod:';

export interface JobControllerOptions extends ControllerOptions {
  /** Wait before re-creating a pod after the first failure; doubles per consecutive failure (default 10 s). */
  podFailureBackoffMs?: number;
  /** Cap of that wait (default 6 minutes). */
  maxPodFailureBackoffMs?: number;
  /** Default 1 s; tests shorten it. */
  batchPeriodMs?: number;
  expectationsTtlMs?: number;
}

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

export class JobController extends Controller {
  readonly name = 'job';
  protected readonly component = 'job-controller';
  readonly expectations: Expectations;
  private readonly finalizerExpectations = new FinalizerExpectations();
  private readonly backoffRecords = new Map<string, BackoffRecord>();
  private readonly backoffTiming: { baseMs: number; maxMs: number };
  private readonly batchPeriodMs: number;
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;

  constructor(options: JobControllerOptions) {
    super(options);
    this.expectations = new Expectations({ ttlMs: options.expectationsTtlMs });
    this.backoffTiming = { baseMs: options.podFailureBackoffMs ?? DEFAULT_POD_FAILURE_BACKOFF_MS, maxMs: options.maxPodFailureBackoffMs ?? MAX_POD_FAILURE_BACKOFF_MS };
    this.batchPeriodMs = options.batchPeriodMs ?? DEFAULT_BATCH_PERIOD_MS;
    this.jobs = this.watch<Job>(jobsResource, {
      onAdd: (job) => this.enqueue(job),
      onUpdate: (old, job) => this.onJobUpdated(old, job),
      onDelete: (job) => {
        this.enqueue(job);
        this.releaseFinalizersOf(job);
      },
    });
    this.pods = this.watch<Pod>(resources.pods, {
      onAdd: (pod) => this.onPodAdded(pod),
      onUpdate: (old, pod) => this.onPodUpdated(old, pod),
      onDelete: (pod) => this.onPodDeleted(pod, true),
    });
  }

  // ---- handlers: only keys ---------------------------------------------------

  private enqueueBatched(job: Job | string): void {
    this.enqueueAfter(job, this.batchPeriodMs);
  }

  private onJobUpdated(old: Job, job: Job): void {
    if (old.metadata.uid !== job.metadata.uid) {
      // Deleted and recreated under the same name between two events: nothing the old one expected will come.
      this.expectations.delete(keyOf(job));
      this.finalizerExpectations.delete(keyOf(job));
    }
    // A spec change is acted on at once; our own status writes and the like are batched.
    if (old.metadata.generation === job.metadata.generation) this.enqueueBatched(job);
    else this.enqueue(job);
    // Backup: a finished Job's pods must not keep the finalizer (normally the last sync removed them).
    if (isJobFinished(job)) this.releaseFinalizersOf(job);
    const deadline = job.spec.activeDeadlineSeconds;
    const start = job.status?.startTime ? Date.parse(job.status.startTime) : NaN;
    if (deadline !== undefined && deadline !== old.spec.activeDeadlineSeconds && Number.isFinite(start)) {
      this.enqueueAfter(job, Math.max(0, start + deadline * 1000 - this.now().getTime()));
    }
  }

  /** Queue every pod of the Job that still has our finalizer, for the orphan path to release. */
  private releaseFinalizersOf(job: Job): void {
    for (const pod of this.pods.lister.byIndex(CONTROLLER_UID_INDEX, job.metadata.uid ?? '')) {
      if (hasTrackingFinalizer(pod)) this.enqueue(ORPHAN_POD_PREFIX + keyOf(pod));
    }
  }

  private ownerOf(pod: Pod, ref = getControllerOf(pod)): Job | undefined {
    return resolveControllerRef({ ref, kind: 'Job', group: 'batch', lookup: (name) => this.jobs.lister.get(pod.metadata.namespace, name) });
  }

  /** Jobs whose selector matches an orphan pod: one of them may adopt it. */
  private jobsMatching(pod: Pod): Job[] {
    return this.jobs.lister.list(pod.metadata.namespace ?? '').filter((job) => {
      try {
        const selector = selectorFromLabelSelector(job.spec.selector);
        return !selector.isEmpty() && selector.matches(pod.metadata.labels);
      } catch {
        return false;
      }
    });
  }

  private onPodAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) {
      // Restarted controller seeing a pod already being deleted: it must not count as a creation.
      this.onPodDeleted(pod, false);
      return;
    }
    const ref = getControllerOf(pod);
    if (ref) {
      const job = this.ownerOf(pod, ref);
      if (!job) {
        if (hasTrackingFinalizer(pod)) this.enqueue(ORPHAN_POD_PREFIX + keyOf(pod));
        return;
      }
      this.expectations.creationObserved(keyOf(job));
      this.enqueueBatched(job);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.enqueue(ORPHAN_POD_PREFIX + keyOf(pod));
    for (const job of this.jobsMatching(pod)) this.enqueueBatched(job);
  }

  private onPodUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    if (pod.metadata.deletionTimestamp) {
      // Marked for deletion: the Job may replace it now rather than after the grace period.
      this.onPodDeleted(pod, false);
      return;
    }
    const finalizerRemoved = hasTrackingFinalizer(old) && !hasTrackingFinalizer(pod);
    const oldRef = getControllerOf(old);
    const ref = getControllerOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const previous = this.ownerOf(old, oldRef);
      if (previous) {
        if (finalizerRemoved) this.finalizerExpectations.observed(keyOf(previous), pod.metadata.uid!);
        this.enqueueBatched(previous);
      }
    }
    if (ref) {
      const job = this.ownerOf(pod, ref);
      if (!job) {
        if (hasTrackingFinalizer(pod)) this.enqueue(ORPHAN_POD_PREFIX + keyOf(pod));
        return;
      }
      if (finalizerRemoved) this.finalizerExpectations.observed(keyOf(job), pod.metadata.uid!);
      this.enqueueBatched(job);
      return;
    }
    if (hasTrackingFinalizer(pod)) this.enqueue(ORPHAN_POD_PREFIX + keyOf(pod));
    if (!sameLabels(old.metadata.labels, pod.metadata.labels) || oldRef) for (const job of this.jobsMatching(pod)) this.enqueueBatched(job);
  }

  /** `final`: the pod is gone (not only marked for deletion). */
  private onPodDeleted(pod: Pod, final: boolean): void {
    const ref = getControllerOf(pod);
    const job = ref && this.ownerOf(pod, ref);
    if (!job || isJobFinished(job)) {
      if (!final && hasTrackingFinalizer(pod)) this.enqueue(ORPHAN_POD_PREFIX + keyOf(pod));
      return;
    }
    const key = keyOf(job);
    this.expectations.deletionObserved(key, keyOf(pod));
    if (final || !hasTrackingFinalizer(pod)) this.finalizerExpectations.observed(key, pod.metadata.uid!);
    this.enqueueBatched(key);
  }

  // ---- sync --------------------------------------------------------------------

  private deps(): JobSyncDeps {
    return {
      client: this.client, recorder: this.recorder, logger: this.logger, expectations: this.expectations,
      finalizerExpectations: this.finalizerExpectations, backoffTiming: this.backoffTiming, backoffRecords: this.backoffRecords,
      now: this.now, enqueueAfter: (key, ms) => this.enqueueAfter(key, Math.max(ms, this.batchPeriodMs)),
    };
  }

  protected async sync(key: string): Promise<void> {
    if (key.startsWith(ORPHAN_POD_PREFIX)) return this.syncOrphanPod(key.slice(ORPHAN_POD_PREFIX.length));
    const [namespace, name] = splitKey(key);
    const cached = this.jobs.lister.get(namespace, name);
    if (!cached) {
      this.expectations.delete(key);
      this.finalizerExpectations.delete(key);
      this.backoffRecords.delete(key);
      return;
    }
    if (cached.spec.managedBy && cached.spec.managedBy !== JOB_CONTROLLER_NAME) return;
    if (isJobFinished(cached)) {
      this.backoffRecords.delete(key);
      return;
    }
    if (cached.spec.completionMode && cached.spec.completionMode !== 'NonIndexed' && cached.spec.completionMode !== 'Indexed') {
      this.recorder.record({ object: cached, type: 'Warning', reason: 'UnknownCompletionMode', message: 'Skipped Job sync because completion mode is unknown' });
      return;
    }
    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelector(cached.spec.selector);
    } catch (error) {
      // Validation keeps bad selectors out; retrying cannot fix one.
      this.logger.warn(`job: ${key} has an invalid selector: ${(error as Error).message}`);
      return;
    }
    if (selector.isEmpty()) {
      // Validation requires a selector; an empty one would claim every pod of the namespace.
      this.logger.warn(`job: ${key} has an empty selector; not managing pods`);
      return;
    }
    // Checked before reading pods: a pod arriving in between only defers the sync, never doubles a creation.
    const satisfied = this.expectations.satisfied(key);
    const pods = await this.podsForJob(cached, selector);
    const state = this.initialState(key, cached, pods);
    await this.syncJob(state, satisfied);
  }

  /** Every pod the Job owns (finished ones too), adopting matching orphans; adopted pods get the finalizer. */
  private async podsForJob(job: Job, selector: LabelSelector): Promise<Pod[]> {
    const namespace = job.metadata.namespace!;
    const claimed = await claimObjects({
      client: this.client, resource: resources.pods, owner: job, selector, objects: this.pods.lister.list(namespace),
      canAdopt: recheckOwner({ client: this.client, ref: { ...jobsResource, namespace, name: job.metadata.name }, owner: job }),
    });
    return Promise.all(claimed.map(async (pod) => {
      if (getControllerOf(pod)?.uid === job.metadata.uid || hasTrackingFinalizer(pod)) return pod;
      // Just adopted: from now on its outcome must be tracked like that of pods we made.
      await this.client.patch({ ...resources.pods, namespace, name: pod.metadata.name }, 'strategic', { metadata: { finalizers: [JOB_TRACKING_FINALIZER] } });
      const copy = structuredClone(pod);
      copy.metadata.finalizers = [...(copy.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
      return copy;
    }));
  }

  private initialState(key: string, cached: Job, pods: Pod[]): JobSyncState {
    const job: Job = structuredClone(cached);
    const status = (job.status ??= {});
    status.uncountedTerminatedPods ??= {};
    const indexed = isIndexedJob(job);
    const completions = job.spec.completions ?? 0;
    const uncounted = { succeeded: new Set(status.uncountedTerminatedPods.succeeded ?? []), failed: new Set(status.uncountedTerminatedPods.failed ?? []) };
    const expectedRmFinalizers = this.finalizerExpectations.expected(key);
    const active = pods.filter(isPodActive);
    // Finished pods not counted yet: they still carry the finalizer and are not in uncountedTerminatedPods.
    const fresh = (pod: Pod) => hasTrackingFinalizer(pod) && !expectedRmFinalizers.has(pod.metadata.uid!)
      && (!indexed || validIndexOf(pod, completions) !== undefined);
    const newSucceeded = pods.filter((p) => fresh(p) && !uncounted.succeeded.has(p.metadata.uid!) && p.status?.phase === 'Succeeded');
    const newFailed = pods.filter((p) => fresh(p) && !uncounted.failed.has(p.metadata.uid!) && isPodFailed(p, job));
    const prevSucceededIndexes = indexed ? parseIndexes(status.completedIndexes, completions) : [];
    const succeededNow = pods.filter((p) => p.status?.phase === 'Succeeded' && hasTrackingFinalizer(p)).map((p) => validIndexOf(p, completions));
    return {
      key, job, pods, active,
      ready: active.filter(isPodReady).length,
      terminating: pods.filter(isPodTerminating).length,
      uncounted, expectedRmFinalizers,
      succeeded: (status.succeeded ?? 0) + newSucceeded.length + uncounted.succeeded.size,
      failed: (status.failed ?? 0) + countedFailures(job, newFailed) + uncounted.failed.size,
      prevSucceededIndexes,
      succeededIndexes: indexed ? withIndexes(prevSucceededIndexes, succeededNow.filter((i): i is number => i !== undefined)) : [],
      delayedDeletionPerIndex: new Map(),
      backoff: nextBackoffRecord(this.backoffRecords.get(key) ?? { failuresAfterLastSuccess: 0 }, newSucceeded, newFailed),
    };
  }

  private async syncJob(state: JobSyncState, satisfied: boolean): Promise<void> {
    const deps = this.deps();
    const { job, key } = state;
    const status = job.status!;
    const now = this.now();
    // First start; a Job created suspended starts when resumed.
    if (!status.startTime && !isSuspended(job)) status.startTime = rfc3339(now);

    state.finished = findCondition(job, 'SuccessCriteriaMet')?.status === 'True' ? findCondition(job, 'SuccessCriteriaMet') : undefined;
    // Once success is decided, the pod failure policy no longer matters.
    if (!state.finished) {
      const target = findCondition(job, 'FailureTarget');
      if (target?.status === 'True') state.finished = newCondition('Failed', target.reason ?? '', target.message ?? '', now);
      else {
        const message = failJobMessage(job, state.pods);
        if (message) state.finished = newCondition('FailureTarget', 'PodFailurePolicy', message, now);
      }
    }
    if (!state.finished) {
      if (state.failed > (job.spec.backoffLimit ?? 6) || pastBackoffLimitOnFailure(job, state.pods)) {
        state.finished = newCondition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', now);
      } else if (this.pastActiveDeadline(job, now)) {
        state.finished = newCondition('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline', now);
      } else if (job.spec.activeDeadlineSeconds !== undefined && !isSuspended(job)) {
        // Nothing else may happen before the deadline: come back then.
        this.enqueueAfter(key, Date.parse(status.startTime!) + job.spec.activeDeadlineSeconds * 1000 - now.getTime());
      }
    }
    if (isIndexedJob(job)) this.decideIndexed(state, now);

    let active = state.active.length;
    let conditionChanged = false;
    let manageError: unknown;
    if (state.finished) {
      // Finalizers stay: the tracking step counts these pods (as failed, unless the Job succeeded).
      const result = await deleteJobPods(deps, state, state.active, { removeFinalizer: false });
      // Not finished while pods remain or the cache may still be missing some.
      if (result.deleted !== active || !satisfied) state.finished = undefined;
      active -= result.deleted;
      state.terminating += result.deleted;
      state.ready -= result.deletedReady;
      manageError = result.error;
    } else {
      let managed = false;
      if (satisfied && !job.metadata.deletionTimestamp) {
        try {
          active = await manageJob(deps, state);
        } catch (error) {
          manageError = error;
          active = state.active.length;
        }
        managed = true;
      }
      const completions = job.spec.completions;
      const complete = completions === undefined || completions === null
        ? state.succeeded > 0 && active === 0
        : state.succeeded >= completions && active === 0;
      if (complete) {
        state.finished = newCondition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods', now);
      } else if (managed) {
        conditionChanged = this.syncSuspendedCondition(job, now);
      }
    }

    const needsUpdate = conditionChanged || active !== (status.active ?? 0) || state.ready !== status.ready || state.terminating !== status.terminating;
    status.active = active;
    status.ready = state.ready;
    status.terminating = state.terminating;
    await trackStatusAndRemoveFinalizers(deps, state, needsUpdate);
    if (manageError !== undefined) throw manageError;
  }

  /** Indexed Jobs: succeeded indexes are the success count; per-index limits and the success policy may end the Job. */
  private decideIndexed(state: JobSyncState, now: Date): void {
    const { job } = state;
    const completions = job.spec.completions ?? 0;
    state.succeeded = countIndexes(state.succeededIndexes);
    if (hasBackoffLimitPerIndex(job)) {
      state.failedIndexes = calculateFailedIndexes(job, state.pods);
      const failedCount = countIndexes(state.failedIndexes);
      if (!state.finished) {
        if (job.spec.maxFailedIndexes !== undefined && failedCount > job.spec.maxFailedIndexes) {
          state.finished = newCondition('FailureTarget', 'MaxFailedIndexesExceeded', 'Job has exceeded the specified maximal number of failed indexes', now);
        } else if (failedCount > 0 && failedCount + state.succeeded >= completions) {
          state.finished = newCondition('FailureTarget', 'FailedIndexes', 'Job has failed indexes', now);
        }
      }
      state.delayedDeletionPerIndex = this.delayedDeletionPerIndex(state);
    }
    if (!state.finished) {
      const message = matchSuccessPolicy(job, state.succeededIndexes);
      if (message) state.finished = newCondition('SuccessCriteriaMet', 'SuccessPolicy', message, now);
    }
  }

  /**
   * Per index with no running pod and no final outcome, the latest failed
   * pod: kept (finalizer on) until its replacement exists, which copies the
   * failure count from it and waits out its backoff.
   */
  private delayedDeletionPerIndex(state: JobSyncState): Map<number, Pod> {
    const { job } = state;
    const completions = job.spec.completions ?? 0;
    const activeIndexes = new Set(state.active.map(completionIndexOf));
    const result = new Map<number, Pod>();
    for (const pod of state.pods) {
      if (!hasTrackingFinalizer(pod) || state.expectedRmFinalizers.has(pod.metadata.uid!) || !isPodFailed(pod, job)) continue;
      const index = validIndexOf(pod, completions);
      if (index === undefined || hasIndex(state.succeededIndexes, index) || hasIndex(state.failedIndexes, index) || activeIndexes.has(index)) continue;
      const kept = result.get(index);
      if (!kept || (indexAbsoluteFailureCount(kept) <= indexAbsoluteFailureCount(pod) && finishedAt(pod) >= finishedAt(kept))) result.set(index, pod);
    }
    return result;
  }

  /** The Suspended condition follows spec.suspend; resuming restarts the active deadline. Returns whether it changed. */
  private syncSuspendedCondition(job: Job, now: Date): boolean {
    if (isSuspended(job)) {
      const changed = ensureCondition(job, 'Suspended', 'True', 'JobSuspended', 'Job suspended', now);
      if (changed) this.recorder.record({ object: job, type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
      return changed;
    }
    const changed = ensureCondition(job, 'Suspended', 'False', 'JobResumed', 'Job resumed', now);
    if (changed) {
      this.recorder.record({ object: job, type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
      // activeDeadlineSeconds counts time spent running, not time spent suspended.
      job.status!.startTime = rfc3339(now);
    }
    return changed;
  }

  private pastActiveDeadline(job: Job, now: Date): boolean {
    const deadline = job.spec.activeDeadlineSeconds;
    const start = job.status?.startTime ? Date.parse(job.status.startTime) : NaN;
    if (deadline === undefined || !Number.isFinite(start) || isSuspended(job)) return false;
    return now.getTime() - start >= deadline * 1000;
  }

  /** Remove our finalizer from a pod no live, unfinished Job of ours owns. */
  private async syncOrphanPod(podKey: string): Promise<void> {
    const [namespace, name] = splitKey(podKey);
    const pod = this.pods.lister.get(namespace, name);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = getControllerOf(pod);
    if (ref) {
      // Not a Job's pod: someone else's finalizer business.
      if (ref.kind !== 'Job' || groupOf(ref.apiVersion) !== 'batch') return;
      const job = this.ownerOf(pod, ref);
      if (job?.spec.managedBy && job.spec.managedBy !== JOB_CONTROLLER_NAME) return;
      // Adopted (or still ours): the Job's own sync counts it first.
      if (job && !isJobFinished(job)) return;
    }
    try {
      await this.client.patch({ ...resources.pods, namespace, name }, 'strategic', removeFinalizerPatch());
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
