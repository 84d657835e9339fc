// POST pods/NAME/eviction: delete a pod only if its PodDisruptionBudget
// allows it, with the semantics of upstream's eviction REST storage.
//
// - A pod that does not count toward any budget (Pending, Succeeded, Failed,
//   or already terminating) is deleted without looking at budgets.
// - A pod under more than one budget cannot be evicted (a Failure Status,
//   code 500).
// - An unready pod under a budget that is currently met (or whose
//   unhealthyPodEvictionPolicy is AlwaysAllow) is deleted without spending
//   the budget, on condition that it has not changed since (else 429: it may
//   have become ready meanwhile).
// - Otherwise one disruption is spent with a compare-and-swap write of the
//   budget's status (eviction-budget.ts), or the eviction is refused with 429.
// Before each deletion the pod gets the DisruptionTarget condition (reason
// EvictionByEvictionAPI). The deletion is the ordinary (graceful) one with the
// Eviction's deleteOptions. Success is 201 with a Status.
import type { PodDisruptionBudget } from '../../api/disruption/budget.ts';
import { ApiError, errors } from '../errors.ts';
import { sendJson } from '../http/respond.ts';
import { nowTimestamp, type KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { deleteObject } from './delete.ts';
import { budgetsForPod, budgetStillProcessing, spendDisruption } from './eviction-budget.ts';
import { effectiveDeleteOptions, isDryRunOptions, readEviction, type EvictionDeleteOptions } from './eviction-body.ts';
import { updateObject } from './write.ts';

/** Conflicts retried before giving up (upstream's EvictionsRetry steps). */
const MAX_ATTEMPTS = 20;

interface PodStatus {
  phase?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string; lastProbeTime?: string | null; lastTransitionTime?: string }[];
}

const statusOf = (pod: KubeObject) => (pod.status ?? {}) as PodStatus;
const isPodReady = (pod: KubeObject) => statusOf(pod).conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Pods whose loss no budget counts: deleted without checking budgets. */
function canIgnoreBudgets(pod: KubeObject): boolean {
  const phase = statusOf(pod).phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || Boolean(pod.metadata.deletionTimestamp);
}

/** Finished or terminating pods cannot become ready again; any other may, so its deletion is made conditional. */
function shouldEnforceResourceVersion(pod: KubeObject): boolean {
  const phase = statusOf(pod).phase;
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata.deletionTimestamp);
}

const isConflict = (error: unknown) => error instanceof ApiError && error.code === 409;
const withResourceVersion = (options: EvictionDeleteOptions, resourceVersion: string | undefined): EvictionDeleteOptions =>
  ({ ...options, preconditions: { ...options.preconditions, resourceVersion } });

export async function handleEviction(ctx: RequestContext): Promise<void> {
  try {
    await evict(ctx);
  } catch (error) {
    // As upstream's error writer: a Status that suggests when to retry says so in Retry-After too.
    const retryAfter = error instanceof ApiError ? error.details?.retryAfterSeconds ?? 0 : 0;
    if (retryAfter > 0 && !ctx.res.headersSent) ctx.res.setHeader('retry-after', String(retryAfter));
    throw error;
  }
}

async function evict(ctx: RequestContext): Promise<void> {
  const eviction = await readEviction(ctx);
  const options = effectiveDeleteOptions(eviction, ctx.query);
  const dryRun = isDryRunOptions(options);
  const pods = ctx.parts.registry.lookup('', 'v1', 'pods')!;
  const podName = ctx.info.name!;
  const callerSetResourceVersion = Boolean(options.preconditions?.resourceVersion);

  // 1. Pods no budget counts: delete them straight away (a conflict re-reads, unless the caller pinned a version).
  let pod: KubeObject;
  for (let attempt = 1; ; attempt++) {
    pod = await ctx.parts.store.get(pods, ctx.info.namespace, podName);
    if (!canIgnoreBudgets(pod)) break;
    const pinned = shouldEnforceResourceVersion(pod) && !callerSetResourceVersion ? withResourceVersion(options, pod.metadata.resourceVersion) : options;
    try {
      await markAndDelete(ctx, pinned);
      return sendSuccess(ctx);
    } catch (error) {
      if (!isConflict(error) || callerSetResourceVersion || attempt >= MAX_ATTEMPTS) throw error;
    }
  }

  // 2. The pod's budget.
  const budgets = await budgetsForPod(ctx, pod);
  if (budgets.length > 1) {
    // Upstream answers this as the created object, a Failure Status, not as an error.
    sendJson(ctx.res, 201, {
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
      message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500,
    });
    return;
  }
  const pdb: PodDisruptionBudget | undefined = budgets[0];
  let deleteOptions = options;
  let unreadyBypass = false;
  if (pdb && !isPodReady(pod) && spareUnready(pdb)) {
    // Not ready, so not counted healthy: deleting it costs the budget nothing, provided it stays unready until then.
    unreadyBypass = true;
    deleteOptions = withResourceVersion(options, pod.metadata.resourceVersion);
  } else if (pdb) {
    await spendDisruption({ ctx, pdb, podName, dryRun });
  }

  // 3. The deletion.
  try {
    await markAndDelete(ctx, deleteOptions);
  } catch (error) {
    // The unready pod changed (perhaps became ready): the client should look again.
    if (isConflict(error) && unreadyBypass && !callerSetResourceVersion) throw budgetStillProcessing(pdb!.metadata.name!);
    throw error;
  }
  sendSuccess(ctx);
}

/** An unready pod may go without spending the budget: always (AlwaysAllow), or while the budget is met. */
function spareUnready(pdb: PodDisruptionBudget): boolean {
  if (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow') return true;
  const status = pdb.status ?? {};
  return (status.desiredHealthy ?? 0) > 0 && (status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0);
}

function sendSuccess(ctx: RequestContext): void {
  sendJson(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

/**
 * Set DisruptionTarget=True on the newest pod (checking the preconditions
 * against it), then delete it with the options, the resourceVersion
 * precondition moved past our own status write. A dry run writes nothing.
 */
async function markAndDelete(ctx: RequestContext, options: EvictionDeleteOptions): Promise<void> {
  const pods = ctx.parts.registry.lookup('', 'v1', 'pods')!;
  const { namespace, name } = { namespace: ctx.info.namespace, name: ctx.info.name! };
  const dryRun = isDryRunOptions(options);
  let deleteOptions = options;
  if (!dryRun) {
    const latest = await ctx.parts.store.get(pods, namespace, name);
    checkPreconditions(latest, options);
    const next: KubeObject = structuredClone(latest);
    setDisruptionTarget(next);
    const updated = await updateObject(
      { parts: ctx.parts, resource: pods, query: new URLSearchParams(), userAgent: ctx.userAgent, user: ctx.user, info: { subresource: 'status' } },
      { next, old: latest, status: true },
    );
    if (options.preconditions?.resourceVersion) deleteOptions = withResourceVersion(options, updated.metadata.resourceVersion);
  }
  const query = new URLSearchParams(dryRun ? [['dryRun', 'All']] : []);
  for (let attempt = 1; ; attempt++) {
    const current = await ctx.parts.store.get(pods, namespace, name);
    try {
      await deleteObject({ ...ctx, resource: pods, query }, current, deleteOptions);
      return;
    } catch (error) {
      // Changed between read and write (the node reporting status): delete what is there now, unless a version was pinned.
      if (!isConflict(error) || deleteOptions.preconditions?.resourceVersion || attempt >= 5) throw error;
    }
  }
}

function checkPreconditions(pod: KubeObject, options: EvictionDeleteOptions): void {
  const gr = { group: '', resource: 'Pod' };
  const { uid, resourceVersion } = options.preconditions ?? {};
  if (uid && uid !== pod.metadata.uid) {
    throw errors.conflict(gr, pod.metadata.name!, `the UID in the precondition (${uid}) does not match the UID in record (${pod.metadata.uid}). The object might have been deleted and then recreated`);
  }
  if (resourceVersion && resourceVersion !== pod.metadata.resourceVersion) {
    throw errors.conflict(gr, pod.metadata.name!, `the ResourceVersion in the precondition (${resourceVersion}) does not match the ResourceVersion in record (${pod.metadata.resourceVersion}). The object might have been modified`);
  }
}

/** As upstream's UpdatePodCondition: replace the condition; its transition time moves only with its status. */
function setDisruptionTarget(pod: KubeObject): void {
  const status = (pod.status ??= {}) as PodStatus;
  const conditions = (status.conditions ??= []);
  const wanted = { type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting', lastProbeTime: null, lastTransitionTime: nowTimestamp() };
  const index = conditions.findIndex((c) => c.type === wanted.type);
  if (index < 0) {
    conditions.push(wanted);
    return;
  }
  if (conditions[index].status === wanted.status && conditions[index].lastTransitionTime) wanted.lastTransitionTime = conditions[index].lastTransitionTime!;
  conditions[index] = wanted;
}
