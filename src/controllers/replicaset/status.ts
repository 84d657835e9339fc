// A ReplicaSet's status, recomputed from scratch on every sync from the pods
// it owns (never patched up incrementally: level-triggered), and written
// only when something changed.
import { selectorFromSet } from '../../api/selectors/index.ts';
import { isPodAvailable, isPodReady } from '../framework/pods.ts';
import { canonicalJson } from '../framework/template-hash.ts';
import { rfc3339, type Pod, type ReplicaSet, type ReplicaSetStatus, type WorkloadCondition } from '../framework/types.ts';

export const REPLICA_FAILURE = 'ReplicaFailure';

export interface StatusInput {
  rs: ReplicaSet;
  /** The active pods the ReplicaSet owns. */
  pods: readonly Pod[];
  /** Why creating or deleting pods failed in this sync, if it did. */
  manageError?: unknown;
  now: Date;
}

export function calculateStatus({ rs, pods, manageError, now }: StatusInput): ReplicaSetStatus {
  const templateLabels = selectorFromSet(rs.spec.template?.metadata?.labels ?? {});
  const minReadySeconds = rs.spec.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (templateLabels.matches(pod.metadata.labels)) fullyLabeled++;
    if (isPodReady(pod)) ready++;
    if (isPodAvailable(pod, minReadySeconds, now)) available++;
  }

  let conditions = [...(rs.status?.conditions ?? [])];
  const failure = conditions.find((c) => c.type === REPLICA_FAILURE);
  if (manageError !== undefined && !failure) {
    // Too few pods: creating failed; too many: deleting did.
    const diff = pods.length - (rs.spec.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const condition: WorkloadCondition = {
      type: REPLICA_FAILURE, status: 'True', lastTransitionTime: rfc3339(now),
      reason, message: (manageError as Error)?.message ?? String(manageError),
    };
    conditions.push(condition);
  } else if (manageError === undefined && failure) {
    conditions = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  }

  // Integer fields as upstream serializes them: replicas always, the others omitted when zero.
  const status: ReplicaSetStatus = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  status.observedGeneration = rs.metadata.generation ?? rs.status?.observedGeneration;
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** Whether `status` says anything the stored status does not (counts, observed generation, conditions). */
export function statusChanged(rs: ReplicaSet, status: ReplicaSetStatus): boolean {
  const old = rs.status ?? {};
  return (old.replicas ?? 0) !== (status.replicas ?? 0)
    || (old.fullyLabeledReplicas ?? 0) !== (status.fullyLabeledReplicas ?? 0)
    || (old.readyReplicas ?? 0) !== (status.readyReplicas ?? 0)
    || (old.availableReplicas ?? 0) !== (status.availableReplicas ?? 0)
    || (rs.metadata.generation ?? 0) !== (old.observedGeneration ?? 0)
    || canonicalJson(old.conditions ?? []) !== canonicalJson(status.conditions ?? []);
}
