// The steps every Deployment strategy shares (upstream's deployment/sync.go):
// find or create the new ReplicaSet and keep revisions in order, scale sets
// (proportionally while a rollout is under way), prune old revisions, and
// compute and write the status.
//
// `d` is the sync's private deep copy of the Deployment: steps update its
// status, annotations and resourceVersion as they write, so later steps of
// the same sync compare against what is stored.
import type { EventRecorder } from '../../client/events.ts';
import type { Lister } from '../../client/cache.ts';
import { ApiStatusError, isAlreadyExists, isNotFound, type ApiClient } from '../../client/interface.ts';
import { StaleReadError, type Logger } from '../framework/controller.ts';
import { getControllerOf, newControllerRef } from '../framework/controller-ref.ts';
import { canonicalJson, computeTemplateHash } from '../framework/template-hash.ts';
import type { Deployment, DeploymentStatus, ReplicaSet } from '../framework/types.ts';
import {
  AVAILABLE, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, POD_TEMPLATE_HASH_LABEL, PROGRESSING, REVISION_ANNOTATION, availableReplicaCount, actualReplicaCount, bySizeNewer,
  bySizeOlder, byRevision, compactStatus, desiredReplicas, equalIgnoreHash, filterActive, findActiveOrLatest, findNewReplicaSet,
  findOldReplicaSets, getCondition, hasProgressDeadline, isRollingUpdate, isSaturated, maxRevision, maxSurge, maxUnavailable,
  newCondition, newRSNewReplicas, proportionFor, readyReplicaCount, reasons, replicaCount, replicasAnnotationsNeedUpdate,
  setCondition, setNewReplicaSetAnnotations, setReplicasAnnotations, specReplicas,
} from './util.ts';

export const deploymentsResource = { group: 'apps', version: 'v1', resource: 'deployments' } as const;
export const replicaSetsResource = { group: 'apps', version: 'v1', resource: 'replicasets' } as const;

/** What the strategy steps need from the controller. */
export interface SyncContext {
  client: ApiClient;
  recorder: EventRecorder;
  replicaSets: Lister<ReplicaSet>;
  now: () => Date;
  logger: Logger;
  enqueueAfter(d: Deployment, ms: number): void;
  enqueueRateLimited(d: Deployment): void;
}

const rsRef = (rs: ReplicaSet) => ({ ...replicaSetsResource, namespace: rs.metadata.namespace, name: rs.metadata.name });

// ---- writes of the Deployment ------------------------------------------------------------

/** PUT d.status through the status subresource; `d` takes the stored status and resourceVersion. */
export async function writeStatus(ctx: SyncContext, d: Deployment): Promise<void> {
  const body = { ...d, status: compactStatus(d.status ?? {}) };
  const updated = await ctx.client.update<Deployment>({ ...deploymentsResource, namespace: d.metadata.namespace, name: d.metadata.name, subresource: 'status' }, body);
  d.status = updated.status ?? {};
  d.metadata.resourceVersion = updated.metadata.resourceVersion;
}

/**
 * The Deployment's revision annotation follows its new set's. Upstream
 * writes it along with the status (its status endpoint keeps annotation
 * changes); here the status endpoint changes status only, so it is a patch.
 */
async function setDeploymentRevision(ctx: SyncContext, d: Deployment, revision: string): Promise<void> {
  if (d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return;
  const updated = await ctx.client.patch<Deployment>(
    { ...deploymentsResource, namespace: d.metadata.namespace, name: d.metadata.name }, 'merge',
    { metadata: { annotations: { [REVISION_ANNOTATION]: revision } } },
  );
  d.metadata.annotations = { ...(d.metadata.annotations ?? {}), [REVISION_ANNOTATION]: revision };
  d.metadata.resourceVersion = updated.metadata.resourceVersion;
}

// ---- the new ReplicaSet ------------------------------------------------------------------

export interface SetsOfDeployment {
  newRS: ReplicaSet | undefined;
  oldRSs: ReplicaSet[];
}

/**
 * The new set (created when `create` and missing) and all old ones, with
 * revision numbers synced: the new set's revision becomes 1 + the highest
 * old revision (so a template that returns — a rollback — gets the next
 * number), and the Deployment carries the new set's revision.
 */
export async function getAllReplicaSetsAndSyncRevision(ctx: SyncContext, d: Deployment, sets: readonly ReplicaSet[], create: boolean): Promise<SetsOfDeployment> {
  const { all } = findOldReplicaSets(d, sets);
  const newRS = await getNewReplicaSet(ctx, d, sets, all, create);
  return { newRS, oldRSs: all };
}

async function getNewReplicaSet(ctx: SyncContext, d: Deployment, sets: readonly ReplicaSet[], oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
  const existing = findNewReplicaSet(d, sets);
  const newRevision = maxRevision(oldRSs) + 1;
  d.status ??= {};
  if (existing) {
    const copy: ReplicaSet = structuredClone(existing);
    const annotationsUpdated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
    const minReadySeconds = d.spec.minReadySeconds ?? 0;
    if (annotationsUpdated || (copy.spec.minReadySeconds ?? 0) !== minReadySeconds) {
      copy.spec.minReadySeconds = minReadySeconds;
      // The set's update brings this Deployment back; the revision is copied then.
      return ctx.client.update<ReplicaSet>(rsRef(copy), copy);
    }
    await setDeploymentRevision(ctx, d, copy.metadata.annotations?.[REVISION_ANNOTATION] ?? '');
    if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
      setCondition(d.status, newCondition(PROGRESSING, 'True', reasons.foundNewReplicaSet, `Found new replica set "${copy.metadata.name}"`, ctx.now()));
      await writeStatus(ctx, d);
    }
    return copy;
  }
  if (!create) return undefined;

  const hash = computeTemplateHash(d.spec.template, d.status.collisionCount);
  const template = structuredClone(d.spec.template ?? {});
  template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
  const selector = structuredClone(d.spec.selector ?? {});
  selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const namespace = d.metadata.namespace!;
  const fresh: ReplicaSet = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: `${d.metadata.name}-${hash}`, namespace, labels: { ...template.metadata.labels }, ownerReferences: [newControllerRef(d)] },
    spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
  };
  const replicas = newRSNewReplicas(d, [...oldRSs, fresh], fresh);
  fresh.spec.replicas = replicas;
  setNewReplicaSetAnnotations(d, fresh, newRevision, false);

  let created: ReplicaSet;
  let alreadyExisted = false;
  try {
    created = await ctx.client.create<ReplicaSet>({ ...replicaSetsResource, namespace }, fresh);
  } catch (error) {
    if (isAlreadyExists(error)) {
      // Ours already (a stale cache), or another template with the same hash: then salt the hash and retry.
      const found = ctx.replicaSets.get(namespace, fresh.metadata.name!);
      if (!found) throw error;
      if (getControllerOf(found)?.uid !== d.metadata.uid || !equalIgnoreHash(d.spec.template, found.spec.template)) {
        d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
        await writeStatus(ctx, d);
        throw new Error(`hash collision: replica set ${fresh.metadata.name} exists with another template; collisionCount is now ${d.status.collisionCount}`);
      }
      created = found;
      alreadyExisted = true;
    } else {
      const message = `Failed to create new replica set "${fresh.metadata.name}": ${(error as Error).message}`;
      if (hasProgressDeadline(d)) {
        setCondition(d.status, newCondition(PROGRESSING, 'False', reasons.failedReplicaSetCreate, message, ctx.now()));
        // The create error is the one to report; a failed status write changes nothing about it.
        await writeStatus(ctx, d).catch(() => {});
      }
      ctx.recorder.record({ object: d, type: 'Warning', reason: reasons.failedReplicaSetCreate, message });
      throw error;
    }
  }
  if (!alreadyExisted && replicas > 0) {
    ctx.recorder.record({ object: d, type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}` });
  }
  await setDeploymentRevision(ctx, d, String(newRevision));
  if (!alreadyExisted && hasProgressDeadline(d)) {
    setCondition(d.status, newCondition(PROGRESSING, 'True', reasons.newReplicaSetCreated, `Created new replica set "${created.metadata.name}"`, ctx.now()));
    await writeStatus(ctx, d);
  }
  return created;
}

// ---- scaling -----------------------------------------------------------------------------

/** Resize one set (and refresh its replica annotations); records "Scaled up/down replica set X from A to B". */
export async function scaleReplicaSet(ctx: SyncContext, rs: ReplicaSet, newScale: number, d: Deployment, operation: string): Promise<ReplicaSet> {
  const oldScale = specReplicas(rs);
  const sizeChanged = oldScale !== newScale;
  const desired = desiredReplicas(d);
  const max = desired + maxSurge(d);
  if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return rs;
  const copy: ReplicaSet = structuredClone(rs);
  copy.spec.replicas = newScale;
  setReplicasAnnotations(copy, desired, max);
  let updated: ReplicaSet;
  try {
    updated = await ctx.client.patch<ReplicaSet>(rsRef(copy), 'json', scalePatch(rs, copy));
  } catch (error) {
    const causes = (error instanceof ApiStatusError && error.code === 422 ? (error.status?.details as { causes?: { message?: string }[] } | undefined)?.causes : undefined) ?? [];
    const failedTest = causes.find((c) => /test failed/.test(c.message ?? ''));
    if (failedTest) throw new StaleReadError(`replica set ${rs.metadata.name} changed since it was read: ${failedTest.message}`);
    throw error;
  }
  if (sizeChanged) {
    ctx.recorder.record({ object: d, type: 'Normal', reason: 'ScalingReplicaSet', message: `Scaled ${operation} replica set ${rs.metadata.name} from ${oldScale} to ${newScale}` });
  }
  return updated;
}

const pointerSegment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/**
 * A JSON patch resizing a set, guarded by `test` ops on the uid and on the
 * size the decision was made from. Not an update with the cached
 * resourceVersion: the ReplicaSet controller rewrites the status all through
 * a rollout, and every such write would make the resize conflict although
 * nothing it depends on changed. A stale size still fails the test (422)
 * and the sync is retried.
 */
function scalePatch(rs: ReplicaSet, next: ReplicaSet): unknown[] {
  const ops: unknown[] = [
    { op: 'test', path: '/metadata/uid', value: rs.metadata.uid },
    { op: 'test', path: '/spec/replicas', value: specReplicas(rs) },
    { op: 'replace', path: '/spec/replicas', value: specReplicas(next) },
  ];
  const annotations = next.metadata.annotations ?? {};
  if (!rs.metadata.annotations) {
    ops.push({ op: 'add', path: '/metadata/annotations', value: annotations });
  } else {
    for (const key of [DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION]) {
      ops.push({ op: 'add', path: `/metadata/annotations/${pointerSegment(key)}`, value: annotations[key] });
    }
  }
  return ops;
}

/** Resize when the size differs; returns whether it did, and the set as stored. */
export async function scaleReplicaSetAndRecordEvent(ctx: SyncContext, rs: ReplicaSet, newScale: number, d: Deployment): Promise<{ scaled: boolean; rs: ReplicaSet }> {
  if (specReplicas(rs) === newScale) return { scaled: false, rs };
  const updated = await scaleReplicaSet(ctx, rs, newScale, d, specReplicas(rs) < newScale ? 'up' : 'down');
  return { scaled: true, rs: updated };
}

/**
 * A resize of the Deployment (or a paused one): one active set takes it all;
 * a saturated new set means the old ones go; otherwise — mid-rollout — the
 * difference is spread over the active sets in proportion to their sizes
 * (largest first; leftovers to the largest), so a resize neither speeds up
 * nor slows down the rollout.
 */
export async function scale(ctx: SyncContext, d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
  const desired = desiredReplicas(d);
  const only = findActiveOrLatest(newRS, oldRSs);
  if (only) {
    if (specReplicas(only) !== desired) await scaleReplicaSetAndRecordEvent(ctx, only, desired, d);
    return;
  }
  if (isSaturated(d, newRS)) {
    for (const old of filterActive(oldRSs)) await scaleReplicaSetAndRecordEvent(ctx, old, 0, d);
    return;
  }
  if (!isRollingUpdate(d)) return;
  const active = filterActive([...oldRSs, newRS]);
  const allowed = desired > 0 ? desired + maxSurge(d) : 0;
  const toAdd = allowed - replicaCount(active);
  let operation = '';
  if (toAdd > 0) {
    active.sort(bySizeNewer);
    operation = 'up';
  } else if (toAdd < 0) {
    active.sort(bySizeOlder);
    operation = 'down';
  }
  const sizes = new Map<string, number>();
  let added = 0;
  for (const rs of active) {
    const proportion = toAdd !== 0 ? proportionFor(rs, d, toAdd, added) : 0;
    sizes.set(rs.metadata.name!, specReplicas(rs) + proportion);
    added += proportion;
  }
  if (toAdd !== 0 && active.length > 0) {
    const first = active[0].metadata.name!;
    sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  }
  for (const rs of active) await scaleReplicaSet(ctx, rs, sizes.get(rs.metadata.name!)!, d, operation);
}

// ---- history and status ------------------------------------------------------------------

/** Delete the oldest revisions beyond revisionHistoryLimit, only sets that are empty and settled. */
export async function cleanupDeployment(ctx: SyncContext, oldRSs: readonly ReplicaSet[], d: Deployment): Promise<void> {
  const limit = d.spec.revisionHistoryLimit;
  if (limit === undefined || limit === null) return;
  const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
  const excess = cleanable.length - limit;
  for (let i = 0; i < excess; i++) {
    const rs = cleanable[i];
    if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0 || (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
    try {
      await ctx.client.delete(rsRef(rs));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** The status the sets imply; conditions carried over, Available recomputed. */
export function calculateStatus(allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: Date): DeploymentStatus {
  const sets = allRSs.filter((rs): rs is ReplicaSet => rs !== undefined);
  const available = availableReplicaCount(sets);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: actualReplicaCount(sets),
    updatedReplicas: actualReplicaCount([newRS]),
    readyReplicas: readyReplicaCount(sets),
    availableReplicas: available,
    // Negative while scaling down (more available than wanted): none are unavailable then.
    unavailableReplicas: Math.max(0, replicaCount(sets) - available),
    collisionCount: d.status?.collisionCount,
    conditions: (d.status?.conditions ?? []).map((c) => ({ ...c })),
  };
  if (available >= desiredReplicas(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(AVAILABLE, 'True', reasons.minimumReplicasAvailable, 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition(AVAILABLE, 'False', reasons.minimumReplicasUnavailable, 'Deployment does not have minimum availability.', now));
  }
  return compactStatus(status);
}

export const sameStatus = (a: DeploymentStatus | undefined, b: DeploymentStatus) => canonicalJson(compactStatus(a ?? {})) === canonicalJson(compactStatus(b));

export async function syncDeploymentStatus(ctx: SyncContext, allRSs: readonly (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
  const status = calculateStatus(allRSs, newRS, d, ctx.now());
  if (sameStatus(d.status, status)) return;
  d.status = status;
  await writeStatus(ctx, d);
}

/**
 * A resize since the sets were last sized: some active set's desired-replicas
 * annotation disagrees. Pure (upstream syncs revisions here too; the rollout
 * step that follows does that, and doing it twice from one stale cache
 * would only produce a conflict).
 */
export function isScalingEvent(d: Deployment, sets: readonly ReplicaSet[]): boolean {
  const newRS = findNewReplicaSet(d, sets);
  const { all } = findOldReplicaSets(d, sets);
  for (const rs of filterActive([...all, newRS])) {
    const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
    if (desired !== undefined && Number(desired) !== desiredReplicas(d)) return true;
  }
  return false;
}

/** Scaling and paused Deployments: resize, prune history while paused, refresh status; never roll. */
export async function syncScaleOnly(ctx: SyncContext, d: Deployment, sets: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, d, sets, false);
  await scale(ctx, d, newRS, oldRSs);
  if (d.spec.paused) await cleanupDeployment(ctx, oldRSs, d);
  await syncDeploymentStatus(ctx, [...oldRSs, newRS], newRS, d);
}

/** A Deployment being deleted: only its status is kept current. */
export async function syncStatusOnly(ctx: SyncContext, d: Deployment, sets: readonly ReplicaSet[]): Promise<void> {
  const { newRS, oldRSs } = await getAllReplicaSetsAndSyncRevision(ctx, d, sets, false);
  await syncDeploymentStatus(ctx, [...oldRSs, newRS], newRS, d);
}
