// Pure Deployment arithmetic and bookkeeping (upstream's deployment/util):
// surge and unavailability budgets, replica sums, orderings, revision and
// replica annotations, conditions, and the completion/progress tests that
// `kubectl rollout status` mirrors. No I/O here.
import { semanticEqual } from '../framework/template-hash.ts';
import { rfc3339, type Deployment, type DeploymentStatus, type PodTemplate, type ReplicaSet, type WorkloadCondition } from '../framework/types.ts';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
/** Longest revision-history annotation kept (upstream's default). */
const MAX_REVISION_HISTORY_CHARS = 2000;

/** Deployment annotations never copied onto its ReplicaSets (they are per ReplicaSet, or kubectl's). */
const SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION, REVISION_HISTORY_ANNOTATION, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

// Condition types and reasons, as upstream spells them (kubectl and dashboards match on them).
export const AVAILABLE = 'Available';
export const PROGRESSING = 'Progressing';
export const REPLICA_FAILURE = 'ReplicaFailure';
export const reasons = {
  minimumReplicasAvailable: 'MinimumReplicasAvailable',
  minimumReplicasUnavailable: 'MinimumReplicasUnavailable',
  newReplicaSetCreated: 'NewReplicaSetCreated',
  foundNewReplicaSet: 'FoundNewReplicaSet',
  replicaSetUpdated: 'ReplicaSetUpdated',
  newReplicaSetAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  failedReplicaSetCreate: 'ReplicaSetCreateError',
} as const;

// ---- sizes ---------------------------------------------------------------------

export const desiredReplicas = (d: Deployment) => d.spec.replicas ?? 1;
export const specReplicas = (rs: ReplicaSet | undefined) => rs?.spec.replicas ?? 0;

const sum = (sets: readonly (ReplicaSet | undefined)[], field: (rs: ReplicaSet) => number | undefined) =>
  sets.reduce((total, rs) => total + (rs ? field(rs) ?? 0 : 0), 0);
/** Desired pods of the sets (spec). */
export const replicaCount = (sets: readonly (ReplicaSet | undefined)[]) => sum(sets, (rs) => rs.spec.replicas);
/** Existing pods of the sets (status). */
export const actualReplicaCount = (sets: readonly (ReplicaSet | undefined)[]) => sum(sets, (rs) => rs.status?.replicas);
export const readyReplicaCount = (sets: readonly (ReplicaSet | undefined)[]) => sum(sets, (rs) => rs.status?.readyReplicas);
export const availableReplicaCount = (sets: readonly (ReplicaSet | undefined)[]) => sum(sets, (rs) => rs.status?.availableReplicas);

/** Sets that want pods. */
export const filterActive = (sets: readonly (ReplicaSet | undefined)[]): ReplicaSet[] =>
  sets.filter((rs): rs is ReplicaSet => rs !== undefined && specReplicas(rs) > 0);

/** "25%" of `total`, rounded up or down; a plain number as is. */
export function scaledValue(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value.trim());
  if (!m) return Number.isInteger(Number(value)) ? Number(value) : 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export const isRollingUpdate = (d: Deployment) => (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';

/** [surge, unavailable]; both rounding to 0 would block the rollout, so unavailable becomes 1 then. */
export function resolveFenceposts(d: Deployment): [number, number] {
  const desired = desiredReplicas(d);
  const ru = d.spec.strategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge, desired, true);
  const unavailable = scaledValue(ru?.maxUnavailable, desired, false);
  return surge === 0 && unavailable === 0 ? [0, 1] : [surge, unavailable];
}

export function maxSurge(d: Deployment): number {
  return isRollingUpdate(d) ? resolveFenceposts(d)[0] : 0;
}

export function maxUnavailable(d: Deployment): number {
  const desired = desiredReplicas(d);
  if (!isRollingUpdate(d) || desired === 0) return 0;
  return Math.min(resolveFenceposts(d)[1], desired);
}

// ---- orderings -----------------------------------------------------------------

const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;

/** Oldest first; same second: by name. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  return created(a) - created(b) || (a.metadata.name! < b.metadata.name! ? -1 : a.metadata.name! > b.metadata.name! ? 1 : 0);
}

/** Largest first; same size: older first (scale-down takes from old sets first). */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet) => specReplicas(b) - specReplicas(a) || byCreation(a, b);
/** Largest first; same size: newer first (scale-up gives to new sets first). */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet) => specReplicas(b) - specReplicas(a) || byCreation(b, a);

export function revisionOf(rs: ReplicaSet): number {
  const value = rs.metadata.annotations?.[REVISION_ANNOTATION];
  const n = value === undefined ? 0 : Number(value);
  return Number.isSafeInteger(n) ? n : 0;
}

export const byRevision = (a: ReplicaSet, b: ReplicaSet) => revisionOf(a) - revisionOf(b) || byCreation(a, b);

export const maxRevision = (sets: readonly ReplicaSet[]) => sets.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);

// ---- templates and the new/old split ---------------------------------------------

/** Templates equal apart from the pod-template-hash label (which only ReplicaSets carry). */
export function equalIgnoreHash(a: PodTemplate | undefined, b: PodTemplate | undefined): boolean {
  const strip = (t: PodTemplate | undefined) => {
    const copy = structuredClone(t ?? {});
    if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    return copy;
  };
  return semanticEqual(strip(a), strip(b));
}

/** The set running the Deployment's current template: the oldest such (duplicates happen after upgrades). */
export function findNewReplicaSet(d: Deployment, sets: readonly ReplicaSet[]): ReplicaSet | undefined {
  return [...sets].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

/** Every set but the new one (`all`), and those of them that still want pods (`withPods`). */
export function findOldReplicaSets(d: Deployment, sets: readonly ReplicaSet[]): { all: ReplicaSet[]; withPods: ReplicaSet[] } {
  const newRS = findNewReplicaSet(d, sets);
  const all = sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
  return { all, withPods: all.filter((rs) => specReplicas(rs) !== 0) };
}

/** The only active set, else (none active) the new or the newest one; undefined when several are active. */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: readonly ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = filterActive([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

/** The new set has all desired pods, available, and knows the current size. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = Number(rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]);
  if (!Number.isInteger(desired)) return false;
  const replicas = desiredReplicas(d);
  return specReplicas(rs) === replicas && desired === replicas && (rs.status?.availableReplicas ?? 0) === replicas;
}

/** How big the new set should be now: Recreate at once; RollingUpdate within the surge budget. */
export function newRSNewReplicas(d: Deployment, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet): number {
  if (!isRollingUpdate(d)) return desiredReplicas(d);
  const desired = desiredReplicas(d);
  const maxTotal = desired + scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge, desired, true);
  const current = replicaCount(allRSs);
  if (current >= maxTotal) return specReplicas(newRS);
  return specReplicas(newRS) + Math.min(maxTotal - current, desired - specReplicas(newRS));
}

// ---- proportional scaling --------------------------------------------------------

/** Go's math.Round: halves away from zero. */
const roundHalfAway = (x: number) => Math.sign(x) * Math.round(Math.abs(x));

/** The share of a resize this set should take: its size relative to the Deployment size it was last sized for. */
function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  const desired = desiredReplicas(d);
  if (desired === 0) return -specReplicas(rs);
  const deploymentReplicas = desired + maxSurge(d);
  let annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION]);
  // Unknown: the Deployment's current total is the best guess.
  if (!Number.isInteger(annotated)) annotated = d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  return roundHalfAway((specReplicas(rs) * deploymentReplicas) / annotated) - specReplicas(rs);
}

/** Replicas to add to (or, negative, remove from) `rs`, without overshooting what is left to distribute. */
export function proportionFor(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

// ---- annotations -------------------------------------------------------------------

/** desired-replicas and max-replicas on a set; true when they changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const annotations = (rs.metadata.annotations ??= {});
  const d = String(desired);
  const m = String(max);
  if (annotations[DESIRED_REPLICAS_ANNOTATION] === d && annotations[MAX_REPLICAS_ANNOTATION] === m) return false;
  annotations[DESIRED_REPLICAS_ANNOTATION] = d;
  annotations[MAX_REPLICAS_ANNOTATION] = m;
  return true;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
}

/** The Deployment's own annotations (change-cause, …) go onto the set, so `rollout history` shows them per revision. */
function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  const annotations = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIPPED_ANNOTATIONS.has(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * Bring the new set's annotations up to date: copied Deployment
 * annotations, the revision (raised to `newRevision`, never lowered), the
 * revisions it had before (a rollback reuses an old set: revision-history
 * keeps "1,3" when revision 1 comes back as 5), and for a set about to be
 * created the replica annotations. True when anything changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const annotations = rs.metadata.annotations!;
  const oldText = annotations[REVISION_ANNOTATION];
  const old = oldText === undefined ? 0 : Number(oldText);
  if (!Number.isSafeInteger(old)) return changed;
  if (old < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (oldText !== undefined) {
      const history = annotations[REVISION_HISTORY_ANNOTATION];
      let revisions = history ? history.split(',') : [];
      while (revisions.length && revisions.join(',').length + oldText.length + 1 > MAX_REVISION_HISTORY_CHARS) revisions = revisions.slice(1);
      annotations[REVISION_HISTORY_ANNOTATION] = [...revisions, oldText].join(',');
    }
  }
  if (!exists && setReplicasAnnotations(rs, desiredReplicas(d), desiredReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

// ---- conditions and progress --------------------------------------------------------

export function newCondition(type: string, status: WorkloadCondition['status'], reason: string, message: string, now: Date): WorkloadCondition {
  const at = rfc3339(now);
  return { type, status, lastUpdateTime: at, lastTransitionTime: at, reason, message };
}

export const getCondition = (status: DeploymentStatus | undefined, type: string) => status?.conditions?.find((c) => c.type === type);

/** Set a condition; the same status and reason is a no-op, the same status keeps its transition time. */
export function setCondition(status: DeploymentStatus, condition: WorkloadCondition): void {
  const current = getCondition(status, condition.type);
  if (current && current.status === condition.status && current.reason === condition.reason) return;
  const next = { ...condition };
  if (current && current.status === condition.status) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

/** Without a deadline (unset or MaxInt32) no progress is tracked. */
export const hasProgressDeadline = (d: Deployment) => d.spec.progressDeadlineSeconds != null && d.spec.progressDeadlineSeconds !== 2147483647;

/** Every pod updated, available, nothing else left, and this generation observed: what `kubectl rollout status` waits for. */
export function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const desired = desiredReplicas(d);
  return (status.updatedReplicas ?? 0) === desired && (status.replicas ?? 0) === desired
    && (status.availableReplicas ?? 0) === desired && (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Something moved since the stored status: more updated, ready or available pods, or fewer old ones. */
export function deploymentProgressing(d: Deployment, status: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld
    || (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** No progress recorded for progressDeadlineSeconds. */
export function deploymentTimedOut(d: Deployment, status: DeploymentStatus, now: Date): boolean {
  if (!hasProgressDeadline(d)) return false;
  const condition = getCondition(status, PROGRESSING);
  if (!condition) return false;
  if (condition.reason === reasons.newReplicaSetAvailable) return false;
  if (condition.reason === reasons.timedOut) return true;
  const from = Date.parse(condition.lastUpdateTime ?? '');
  return Number.isFinite(from) && from + d.spec.progressDeadlineSeconds! * 1000 < now.getTime();
}

/** Status as upstream serializes it (zero counts omitted), so stored and computed statuses compare equal. */
export function compactStatus(status: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = {};
  for (const key of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'] as const) {
    if (status[key]) out[key] = status[key];
  }
  if (status.conditions?.length) out.conditions = status.conditions;
  if (status.collisionCount !== undefined && status.collisionCount !== null) out.collisionCount = status.collisionCount;
  return out;
}
