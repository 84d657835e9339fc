// One step of a StatefulSet toward its spec (upstream's
// defaultStatefulSetControl.updateStatefulSet), over a PodControl that does
// the writes:
// 1. Split the member pods into replicas (ordinal in [start, start+replicas))
//    and condemned (the rest); fill missing ordinals with new pods at the
//    right revision (current below the partition, update from it on).
// 2. Replicas in ordinal order: replace failed or finished pods, create
//    missing ones (their claims first), fix identity and claim owners.
//    OrderedReady ("monotonic") stops at the first pod that is not yet
//    created, Running+Ready and available; Parallel goes through them all.
// 3. Condemned pods, highest ordinal first: set claim owners for the
//    retention policy, then delete (OrderedReady: one at a time, waiting
//    for the others to be healthy).
// 4. RollingUpdate: delete pods at the old revision from the highest
//    ordinal down to the partition, at most maxUnavailable unavailable at a
//    time; OnDelete waits for the user to delete them.
// The status counts what is there, and goes with every outcome.
import type { ControllerRevision } from '../framework/history.ts';
import { templateOf } from '../framework/history.ts';
import { isPodAvailable, isPodReady } from '../framework/pods.ts';
import { slowStartBatch } from '../framework/slow-start.ts';
import type { Pod } from '../framework/types.ts';
import { scaledValue } from '../deployment/util.ts';
import {
  claimOwnersMatch, identityMatches, inOrdinalRange, newStatefulPod, ordinalOf, podRevision, replicasOf, startOrdinal, storageMatches,
  type Claim, type StatefulSet, type StatefulSetStatus,
} from './identity.ts';

/** The writes the algorithm needs; the controller implements them against the API. */
export interface PodControl {
  /** Create the pod's missing claims, then the pod. False when it exists already (the cache is behind). */
  createPod(set: StatefulSet, pod: Pod): Promise<boolean>;
  /** Delete the pod (already gone is fine). */
  deletePod(set: StatefulSet, pod: Pod): Promise<void>;
  /** Fix identity labels and claim owner references of an existing pod. */
  updatePod(set: StatefulSet, pod: Pod): Promise<void>;
  /** Create claims a pending pod still lacks. */
  createMissingClaims(set: StatefulSet, pod: Pod): Promise<void>;
  /** Bring the claims' ownerReferences in line with the retention policy. */
  updateClaimOwners(set: StatefulSet, pod: Pod): Promise<void>;
  /** Claims in the cache, by name. */
  claim(namespace: string, name: string): Claim | undefined;
  /** A claim of this (not yet created) pod still belongs to an earlier pod of its name. */
  claimIsStale(set: StatefulSet, pod: Pod): boolean;
}

export interface UpdateInput {
  set: StatefulSet;
  /** The set's member pods (claimed, ordinal parsed from the name). */
  pods: readonly Pod[];
  current: ControllerRevision;
  update: ControllerRevision;
  collisionCount: number;
  control: PodControl;
  now: Date;
}

export interface UpdateResult {
  status: StatefulSetStatus;
  error?: unknown;
}

const isCreated = (pod: Pod) => Boolean(pod.status?.phase);
const isTerminating = (pod: Pod) => Boolean(pod.metadata.deletionTimestamp);
const isFinished = (pod: Pod) => pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
const isRunningAndReady = (pod: Pod) => pod.status?.phase === 'Running' && isPodReady(pod);

export const allowsBurst = (set: StatefulSet) => set.spec.podManagementPolicy === 'Parallel';

/** maxUnavailable of the replicas, rounded down, at least 1. */
export function maxUnavailableOf(set: StatefulSet): number {
  const value = set.spec.updateStrategy?.rollingUpdate?.maxUnavailable;
  return Math.max(1, scaledValue(value ?? 1, replicasOf(set), false));
}

/** Status counts over these pods (placeholders not yet created count for nothing). */
export function countStatus(status: StatefulSetStatus, options: { pods: readonly Pod[]; current: string; update: string; minReadySeconds: number; now: Date }): void {
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const pod of options.pods) {
    if (isCreated(pod)) replicas++;
    if (isRunningAndReady(pod)) {
      ready++;
      if (isPodAvailable(pod, options.minReadySeconds, options.now)) available++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      if (podRevision(pod) === options.current) current++;
      if (podRevision(pod) === options.update) updated++;
    }
  }
  Object.assign(status, { replicas, readyReplicas: ready, availableReplicas: available, currentReplicas: current, updatedReplicas: updated });
}

/** Run fn over the pods: in order, stopping at the first that asks to (monotonic); else all, in slow-start batches. */
async function runForAll(count: number, monotonic: boolean, fn: (i: number) => Promise<boolean>): Promise<boolean> {
  if (monotonic) {
    for (let i = 0; i < count; i++) if (await fn(i)) return true;
    return false;
  }
  const { error } = await slowStartBatch(count, 1, async (i) => { await fn(i); });
  if (error !== undefined) throw error;
  return false;
}

export async function updateStatefulSet(input: UpdateInput): Promise<UpdateResult> {
  const { set, control, current, update, now } = input;
  const minReady = set.spec.minReadySeconds ?? 0;
  const isAvailable = (pod: Pod) => isRunningAndReady(pod) && isPodAvailable(pod, minReady, now);
  const isUnavailable = (pod: Pod) => !isAvailable(pod) || isTerminating(pod);
  const currentTemplate = templateOf(current);
  const updateTemplate = templateOf(update);
  // The set as of the update revision: new pods and claims follow it.
  const updateSet: StatefulSet = { ...set, spec: { ...set.spec, template: updateTemplate } };

  const status: StatefulSetStatus = {
    observedGeneration: set.metadata.generation, replicas: 0, availableReplicas: 0,
    currentRevision: current.metadata.name, updateRevision: update.metadata.name, collisionCount: input.collisionCount,
  };
  if (set.status?.conditions?.length) status.conditions = set.status.conditions;

  const start = startOrdinal(set);
  const replicaCount = replicasOf(set);
  const replicas: Pod[] = new Array(replicaCount);
  const condemned: Pod[] = [];
  for (const pod of input.pods) {
    const ordinal = ordinalOf(pod);
    if (inOrdinalRange(set, ordinal)) replicas[ordinal - start] = pod;
    else if (ordinal >= 0) condemned.push(pod);
  }
  const partition = set.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  const rolling = (set.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
  const newPod = (ordinal: number) => (rolling && ordinal < start + partition
    ? newStatefulPod({ set, template: currentTemplate, ordinal, revision: current.metadata.name! })
    : newStatefulPod({ set: updateSet, template: updateTemplate, ordinal, revision: update.metadata.name! }));
  for (let i = 0; i < replicaCount; i++) replicas[i] ??= newPod(start + i);
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));

  const recount = () => countStatus(status, { pods: [...replicas, ...condemned], current: current.metadata.name!, update: update.metadata.name!, minReadySeconds: minReady, now });
  recount();
  // The first pod not available, scanning replicas upward then condemned upward: the one scale-down may take first.
  const firstUnavailable = replicas.find(isUnavailable) ?? [...condemned].reverse().find(isUnavailable);
  if (set.metadata.deletionTimestamp) return { status };
  const monotonic = !allowsBurst(set);

  try {
    // Replicas: create, replace, and wait (monotonic) for each to be healthy.
    const blocked = await runForAll(replicas.length, monotonic, async (i) => {
      const pod = replicas[i];
      if (isFinished(pod)) {
        // Restart is the set's job here: delete it, the next sync makes it anew.
        if (!isTerminating(pod)) await control.deletePod(set, pod);
        return true;
      }
      if (!isCreated(pod)) {
        if (control.claimIsStale(set, pod)) return true;
        const created = await control.createPod(updateSet, pod);
        if (monotonic || !created) return true;
      }
      if (pod.status?.phase === 'Pending') await control.createMissingClaims(updateSet, pod);
      if (monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isAvailable(pod))) return true;
      if (isCreated(pod) && !(identityMatches(set, pod) && storageMatches(set, pod) && claimsMatch(control, updateSet, pod))) {
        await control.updatePod(updateSet, pod);
      }
      return false;
    });
    if (blocked) return { status: (recount(), status) };

    // Condemned: first let their claims follow the retention policy, then delete, highest ordinal first.
    if (await runForAll(condemned.length, monotonic, async (i) => {
      if (!claimsMatch(control, updateSet, condemned[i])) await control.updateClaimOwners(updateSet, condemned[i]);
      return false;
    })) return { status: (recount(), status) };
    const scaling = await runForAll(condemned.length, monotonic, async (i) => {
      const pod = condemned[i];
      if (isTerminating(pod)) return monotonic;
      // OrderedReady scales down only from a healthy set, unless this pod is the one holding it up.
      if (monotonic && isUnavailable(pod) && pod !== firstUnavailable) return true;
      await control.deletePod(set, pod);
      return monotonic;
    });
    recount();
    if (scaling || !rolling) return { status };

    await rollingUpdate({ set, replicas, update, partition, monotonic, isUnavailable, control, status });
    return { status };
  } catch (error) {
    recount();
    return { status, error };
  }
}

function claimsMatch(control: PodControl, set: StatefulSet, pod: Pod): boolean {
  if (!pod.metadata.uid) return true;
  const ordinal = ordinalOf(pod);
  return (set.spec.volumeClaimTemplates ?? []).every((t) => {
    const claim = control.claim(set.metadata.namespace!, `${t.metadata?.name}-${set.metadata.name}-${ordinal}`);
    return !claim || claimOwnersMatch(set, pod, claim);
  });
}

/**
 * Delete old-revision pods from the highest ordinal down to the partition,
 * keeping at most maxUnavailable replicas unavailable. An old pod that is
 * unavailable anyway may go without using the budget (Parallel only: in
 * OrderedReady order every replica is healthy by the time we get here),
 * so a broken old revision cannot stall the update.
 */
async function rollingUpdate(options: {
  set: StatefulSet; replicas: Pod[]; update: ControllerRevision; partition: number; monotonic: boolean;
  isUnavailable: (pod: Pod) => boolean; control: PodControl; status: StatefulSetStatus;
}): Promise<void> {
  const { set, replicas, update, control, status } = options;
  const maxUnavailable = maxUnavailableOf(set);
  let unavailable = replicas.filter(options.isUnavailable).length;
  for (let i = replicas.length - 1; i >= options.partition; i--) {
    const pod = replicas[i];
    if (podRevision(pod) === update.metadata.name || isTerminating(pod) || !isCreated(pod)) continue;
    const free = !options.monotonic && options.isUnavailable(pod);
    if (!free && unavailable >= maxUnavailable) break;
    await control.deletePod(set, pod);
    status.currentReplicas = Math.max(0, (status.currentReplicas ?? 0) - 1);
    if (!free) unavailable++;
  }
}

/**
 * Upstream's completeRollingUpdate: once every replica is updated and ready,
 * the update revision becomes the current one.
 */
export function completeRollingUpdate(set: StatefulSet, status: StatefulSetStatus): void {
  if ((set.spec.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return;
  if ((status.updatedReplicas ?? 0) === status.replicas && (status.readyReplicas ?? 0) === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

const STATUS_FIELDS = [
  'observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas',
  'currentRevision', 'updateRevision', 'collisionCount',
] as const;

export function statusChanged(old: StatefulSetStatus | undefined, status: StatefulSetStatus): boolean {
  return STATUS_FIELDS.some((f) => (old?.[f] ?? 0) !== (status[f] ?? 0));
}

/** As upstream serializes it: replicas and availableReplicas always, the other counts only when non-zero. */
export function compactStatus(status: StatefulSetStatus): StatefulSetStatus {
  const out: StatefulSetStatus = { ...status };
  for (const f of ['readyReplicas', 'currentReplicas', 'updatedReplicas'] as const) if (!out[f]) delete out[f];
  if (!out.observedGeneration) delete out.observedGeneration;
  return out;
}
