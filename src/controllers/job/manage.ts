// Creating and deleting a Job's pods (upstream's manageJob): keep as many
// pods running as parallelism allows and remaining completions need, with
// backoff after failures, the right completion index on each pod of an
// Indexed Job, and no pods at all while the Job is suspended.
import { isNotFound, resources, type KubeObject } from '../../client/interface.ts';
import { newControllerRef } from '../framework/controller-ref.ts';
import { isPodReady, podsToDelete } from '../framework/pods.ts';
import { slowStartBatch } from '../framework/slow-start.ts';
import { keyOf, type Pod } from '../framework/types.ts';
import { firstPendingIndexes, mergeIntervals, validIndexOf, withIndexes } from './indexes.ts';
import { isPodTerminating, nextIndexFailureCounts, remainingBackoffMs, finishedAt, indexAbsoluteFailureCount } from './policy.ts';
import { MAX_POD_CREATE_DELETE_PER_SYNC, type JobSyncDeps, type JobSyncState } from './state.ts';
import {
  COMPLETION_INDEX_ANNOTATION, COMPLETION_INDEX_ENV, hasBackoffLimitPerIndex, INDEX_FAILURE_COUNT_ANNOTATION,
  INDEX_IGNORED_FAILURE_COUNT_ANNOTATION, isIndexedJob, isSuspended, JOB_TRACKING_FINALIZER, onlyReplaceFailedPods, type Job,
} from './types.ts';

/** A create refused because the namespace is going away: nothing to retry, nothing to report. */
const isNamespaceTerminating = (error: unknown) => /because it is being terminated/.test((error as Error)?.message ?? '')
  || ((error as { status?: { details?: { causes?: { type?: string }[] } } })?.status?.details?.causes ?? []).some((c) => c.type === 'NamespaceTerminating');

export interface DeleteResult {
  deleted: number;
  deletedReady: number;
  error?: unknown;
}

/**
 * Create or delete pods for a running Job; returns how many pods are
 * active afterwards. Either deletes or creates in one sync, never both
 * (deletion first), as upstream.
 */
export async function manageJob(deps: JobSyncDeps, state: JobSyncState): Promise<number> {
  const { job, key } = state;
  let active = state.active.length;

  if (isSuspended(job)) {
    // Suspension is not failure: finalizers go first, so these pods are never counted.
    const victims = [...state.active];
    deps.expectations.expectDeletions(key, victims.map(keyOf));
    const result = await deleteJobPods(deps, state, victims, { removeFinalizer: true });
    adjustAfterDelete(state, result);
    if (result.error !== undefined) throw result.error;
    return active - result.deleted;
  }

  const parallelism = job.spec.parallelism ?? 1;
  const completions = job.spec.completions;
  let wantActive: number;
  if (completions === undefined || completions === null) {
    // A work queue: once one pod succeeded the work is done; let the running ones finish, start no more.
    wantActive = state.succeeded > 0 ? active : parallelism;
  } else {
    wantActive = Math.max(0, Math.min(parallelism, completions - state.succeeded));
  }

  const victims = activePodsForRemoval(deps, job, state.active, Math.max(0, active - wantActive)).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
  if (victims.length > 0) {
    deps.expectations.expectDeletions(key, victims.map(keyOf));
    const result = await deleteJobPods(deps, state, victims, { removeFinalizer: true });
    adjustAfterDelete(state, result);
    if (result.error !== undefined) throw result.error;
    return active - result.deleted;
  }

  // With podReplacementPolicy Failed, a pod still terminating keeps its slot.
  const terminating = onlyReplaceFailedPods(job) ? state.terminating : 0;
  let diff = wantActive - terminating - active;
  if (diff <= 0) return active;

  if (!hasBackoffLimitPerIndex(job)) {
    const wait = remainingBackoffMs(deps.backoffTiming, state.backoff.failuresAfterLastSuccess, state.backoff.lastFailure, deps.now().getTime());
    if (wait > 0) {
      deps.enqueueAfter(key, wait);
      return active;
    }
  }
  diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);

  let indexes: number[] | undefined;
  if (isIndexedJob(job)) {
    indexes = firstPendingIndexes(busyIndexes(state), diff, completions ?? 0);
    if (hasBackoffLimitPerIndex(job)) {
      const now = deps.now().getTime();
      let soonest = Infinity;
      indexes = indexes.filter((index) => {
        const last = state.delayedDeletionPerIndex.get(index);
        const wait = last ? remainingBackoffMs(deps.backoffTiming, indexAbsoluteFailureCount(last) + 1, finishedAt(last), now) : 0;
        if (wait > 0) soonest = Math.min(soonest, wait);
        return wait === 0;
      });
      if (indexes.length === 0) {
        if (soonest < Infinity) deps.enqueueAfter(key, soonest);
        return active;
      }
    }
    diff = indexes.length;
  }

  // Expect them before creating: the informer may report a new pod before create() returns.
  deps.expectations.expectCreations(key, diff);
  const { successes, error } = await slowStartBatch(diff, 1, (i) => createPod(deps, state, indexes?.[i]));
  // Creations never attempted (or failed) will never be observed.
  for (let i = successes; i < diff; i++) deps.expectations.creationObserved(key);
  if (error !== undefined) throw error;
  return active + successes;
}

function adjustAfterDelete(state: JobSyncState, result: DeleteResult): void {
  state.terminating += result.deleted;
  state.ready -= result.deletedReady;
}

/** Indexes no new pod may take: succeeded, failed, running (or terminating, when only failed pods are replaced). */
function busyIndexes(state: JobSyncState) {
  const completions = state.job.spec.completions ?? 0;
  const taken = (pods: readonly Pod[]) => pods.map((p) => validIndexOf(p, completions)).filter((i): i is number => i !== undefined);
  let busy = withIndexes(state.succeededIndexes, taken(state.active));
  if (onlyReplaceFailedPods(state.job)) busy = withIndexes(busy, taken(state.pods.filter(isPodTerminating)));
  if (state.failedIndexes) busy = mergeIntervals(busy, state.failedIndexes);
  return busy;
}

/**
 * At least `count` pods to delete, least valuable first; for an Indexed
 * Job also every pod without a valid index and all but one pod of each
 * index (a stale cache can make two).
 */
function activePodsForRemoval(deps: JobSyncDeps, job: Job, active: readonly Pod[], count: number): Pod[] {
  const remove: Pod[] = [];
  let keep = [...active];
  if (isIndexedJob(job)) {
    const completions = job.spec.completions ?? 0;
    const byIndex = new Map<number, Pod[]>();
    for (const pod of active) {
      const index = validIndexOf(pod, completions);
      if (index === undefined) remove.push(pod);
      else byIndex.set(index, [...(byIndex.get(index) ?? []), pod]);
    }
    keep = [];
    for (const pods of byIndex.values()) {
      // Keep the most valuable pod of the index: it sorts last for deletion.
      const ranked = podsToDelete(pods, [], pods.length, deps.now());
      keep.push(ranked.pop()!);
      remove.push(...ranked);
    }
  }
  if (remove.length < count) remove.push(...podsToDelete(keep, [], count - remove.length, deps.now()));
  return remove;
}

/**
 * Delete pods of a Job. With `removeFinalizer` (suspension, surplus) the
 * pod leaves uncounted; without it (the Job failed), the finalizer stays
 * and the tracking step counts the pod as failed before letting it go.
 */
export async function deleteJobPods(deps: JobSyncDeps, state: JobSyncState, pods: readonly Pod[], options: { removeFinalizer: boolean }): Promise<DeleteResult> {
  const { job, key } = state;
  const result: DeleteResult = { deleted: 0, deletedReady: 0 };
  await Promise.all(pods.map(async (pod) => {
    const ref = { ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name };
    try {
      if (options.removeFinalizer && pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) {
        await deps.client.patch(ref, 'strategic', removeFinalizerPatch());
      }
      await deps.client.delete(ref, { preconditions: { uid: pod.metadata.uid } });
      deps.recorder.record({ object: job, type: 'Normal', reason: 'SuccessfulDelete', message: `Deleted pod: ${pod.metadata.name}` });
    } catch (error) {
      // A failed delete will never be observed; a pod already gone was (or will be).
      deps.expectations.deletionObserved(key, keyOf(pod));
      if (!isNotFound(error)) {
        deps.recorder.record({ object: job, type: 'Warning', reason: 'FailedDelete', message: `Error deleting: ${(error as Error).message}` });
        result.error ??= error;
        return;
      }
    }
    result.deleted++;
    if (isPodReady(pod)) result.deletedReady++;
  }));
  return result;
}

/** Strategic merge patch taking only the tracking finalizer off a pod. */
export function removeFinalizerPatch(): Record<string, unknown> {
  return { metadata: { [`$deleteFromPrimitiveList/finalizers`]: [JOB_TRACKING_FINALIZER] } };
}

/** The pod for one slot (and, for an Indexed Job, one index) from the Job's template. */
async function createPod(deps: JobSyncDeps, state: JobSyncState, index: number | undefined): Promise<void> {
  const { job } = state;
  const template = structuredClone(job.spec.template ?? {});
  const meta = template.metadata ?? {};
  const namespace = job.metadata.namespace!;
  const labels: Record<string, string> = { ...(meta.labels ?? {}) };
  const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
  const spec = (template.spec ?? {}) as Record<string, unknown>;
  let generateName = `${job.metadata.name}-`;
  if (index !== undefined) {
    annotations[COMPLETION_INDEX_ANNOTATION] = String(index);
    labels[COMPLETION_INDEX_ANNOTATION] = String(index);
    // Stable per index, so peers can find each other through a headless Service (spec.subdomain).
    spec.hostname = `${job.metadata.name}-${index}`;
    generateName = `${job.metadata.name}-${index}-`;
    addCompletionIndexEnv(spec);
    if (hasBackoffLimitPerIndex(job)) {
      const counts = nextIndexFailureCounts(job, state.delayedDeletionPerIndex.get(index));
      annotations[INDEX_FAILURE_COUNT_ANNOTATION] = String(counts.failed);
      if (counts.ignored > 0) annotations[INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(counts.ignored);
    }
  }
  const finalizers = [...(meta.finalizers ?? [])];
  if (!finalizers.includes(JOB_TRACKING_FINALIZER)) finalizers.push(JOB_TRACKING_FINALIZER);
  const metadata: KubeObject['metadata'] = { generateName, namespace, labels, finalizers, ownerReferences: [newControllerRef(job)] };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  try {
    const pod = await deps.client.create({ ...resources.pods, namespace }, { apiVersion: 'v1', kind: 'Pod', metadata, spec });
    deps.recorder.record({ object: job, type: 'Normal', reason: 'SuccessfulCreate', message: `Created pod: ${pod.metadata.name}` });
  } catch (error) {
    if (isNamespaceTerminating(error)) {
      // Counted as done (nothing to retry), but no pod will ever be observed for it.
      deps.expectations.creationObserved(state.key);
      return;
    }
    deps.recorder.record({ object: job, type: 'Warning', reason: 'FailedCreate', message: `Error creating: ${(error as Error).message}` });
    throw error;
  }
}

/** JOB_COMPLETION_INDEX in every container, read from the pod's own index label (unless the template sets it). */
function addCompletionIndexEnv(spec: Record<string, unknown>): void {
  for (const field of ['initContainers', 'containers']) {
    for (const container of (spec[field] ?? []) as { env?: { name: string }[] }[]) {
      const env = (container.env ??= []);
      if (env.some((e) => e.name === COMPLETION_INDEX_ENV)) continue;
      env.push({ name: COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: `metadata.labels['${COMPLETION_INDEX_ANNOTATION}']` } } } as { name: string });
    }
  }
}
