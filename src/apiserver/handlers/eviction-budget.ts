// The budget side of an eviction: find the PodDisruptionBudgets of a pod, and
// spend one disruption of its budget with a compare-and-swap write of the
// budget's status (upstream's checkAndDecrement), retried on conflicts with a
// fresh read, so two concurrent evictions can never both take the last one.
import {
  budgetSelectsPod, timestamp, updateDisruptionAllowedCondition, type PodDisruptionBudget,
} from '../../api/disruption/budget.ts';
import type { ResourceInfo } from '../../api/registry.ts';
import { ApiError, errors } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { updateObject } from './write.ts';

/** Beyond this many approved-but-unobserved evictions a budget refuses more (upstream's MaxDisruptedPodSize). */
export const MAX_DISRUPTED_POD_SIZE = 2000;
/** Attempts of the status write before giving up on conflicts (upstream's EvictionsRetry steps). */
const MAX_ATTEMPTS = 20;
const RETRY_DELAY_MS = 50;

const MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

/** 429 with a DisruptionBudget cause; a positive retryAfter also becomes the Retry-After header. */
export function tooManyRequests(cause: string, retryAfterSeconds: number): ApiError {
  return new ApiError({
    code: 429, reason: 'TooManyRequests', message: MESSAGE,
    details: { causes: [{ reason: 'DisruptionBudget', message: cause }], ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}) },
  });
}

/** The budget has not yet seen its latest spec: its numbers cannot be trusted. */
export const budgetStillProcessing = (name: string) => tooManyRequests(`The disruption budget ${name} is still being processed by the server.`, 10);

export function budgetResource(ctx: RequestContext): ResourceInfo {
  return ctx.parts.registry.lookup('policy', 'v1', 'poddisruptionbudgets')!;
}

/** Budgets in the pod's namespace whose selector matches it (policy/v1: an empty selector matches all). */
export async function budgetsForPod(ctx: RequestContext, pod: KubeObject): Promise<PodDisruptionBudget[]> {
  const list = await ctx.parts.store.list(budgetResource(ctx), { namespace: pod.metadata.namespace });
  return (list.items as PodDisruptionBudget[]).filter((pdb) => budgetSelectsPod(pdb, pod));
}

/** Whether the budget allows one more disruption now; throws the refusal otherwise. */
function checkBudget(pdb: PodDisruptionBudget): void {
  const status = pdb.status ?? {};
  const name = pdb.metadata.name!;
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) throw budgetStillProcessing(name);
  const allowed = status.disruptionsAllowed ?? 0;
  const gr = { group: 'policy', resource: 'poddisruptionbudget' };
  if (allowed < 0) throw errors.forbidden(gr, name, 'pdb disruptions allowed is negative');
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_POD_SIZE) {
    throw errors.forbidden(gr, name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (allowed === 0) {
    throw tooManyRequests(`The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`, 0);
  }
}

const isConflict = (error: unknown) => error instanceof ApiError && error.code === 409;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Take one disruption from the budget for `podName`: disruptionsAllowed − 1
 * and the pod recorded in disruptedPods (so the controller does not count it
 * healthy until its deletion shows), written only if the budget did not
 * change since it was read. A dry run checks without writing.
 */
export async function spendDisruption(options: { ctx: RequestContext; pdb: PodDisruptionBudget; podName: string; dryRun: boolean; now?: () => Date }): Promise<void> {
  const { ctx, podName, dryRun } = options;
  const now = options.now ?? (() => new Date());
  const resource = budgetResource(ctx);
  let pdb = options.pdb;
  for (let attempt = 1; ; attempt++) {
    checkBudget(pdb);
    if (dryRun) return;
    const next: PodDisruptionBudget = structuredClone(pdb);
    const status = (next.status ??= {});
    status.disruptionsAllowed = (status.disruptionsAllowed ?? 0) - 1;
    if (status.disruptionsAllowed === 0) updateDisruptionAllowedCondition(next, now());
    status.disruptedPods = { ...status.disruptedPods, [podName]: timestamp(now()) };
    try {
      await updateObject(
        { parts: ctx.parts, resource, query: new URLSearchParams(), userAgent: ctx.userAgent, user: ctx.user, info: { subresource: 'status' } },
        { next, old: pdb, status: true },
      );
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
    }
    await pause(RETRY_DELAY_MS * (0.9 + Math.random() * 0.2));
    pdb = (await ctx.parts.store.get(resource, pdb.metadata.namespace, pdb.metadata.name!)) as PodDisruptionBudget;
  }
}
