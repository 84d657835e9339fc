// PodDisruptionBudget facts shared by the disruption controller (which
// computes a budget's status) and the eviction subresource (which spends it),
// after upstream's component-helpers/apps/poddisruptionbudget: which pods a
// policy/v1 budget selects, and the DisruptionAllowed condition.
import type { KubeObject } from '../object.ts';
import { selectorFromLabelSelector, type LabelSelector, type LabelSelectorObject } from '../selectors/index.ts';

export const DISRUPTION_ALLOWED_CONDITION = 'DisruptionAllowed';
/** Condition reasons, as upstream's policy/v1 constants. */
export const SUFFICIENT_PODS_REASON = 'SufficientPods';
export const INSUFFICIENT_PODS_REASON = 'InsufficientPods';
export const SYNC_FAILED_REASON = 'SyncFailed';

/** A metav1.Condition. */
export interface BudgetCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  /** Pod name → time the eviction subresource approved its disruption. */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: BudgetCondition[];
}

export interface PodDisruptionBudget extends KubeObject {
  spec?: {
    minAvailable?: number | string;
    maxUnavailable?: number | string;
    selector?: LabelSelectorObject | null;
    unhealthyPodEvictionPolicy?: 'IfHealthyBudget' | 'AlwaysAllow';
  };
  status?: PodDisruptionBudgetStatus;
}

/** RFC 3339 in whole seconds, as metav1.Time serializes. */
export const timestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The budget's selector with policy/v1 semantics: an absent selector selects
 * nothing, an empty one every pod of the namespace. Undefined when it does
 * not parse (such a budget selects nothing, as upstream).
 */
export function budgetSelector(pdb: PodDisruptionBudget): LabelSelector | undefined {
  try {
    return selectorFromLabelSelector(pdb.spec?.selector ?? null);
  } catch {
    return undefined;
  }
}

export function budgetSelectsPod(pdb: PodDisruptionBudget, pod: KubeObject): boolean {
  if (pdb.metadata.namespace !== pod.metadata.namespace) return false;
  return budgetSelector(pdb)?.matches(pod.metadata.labels) ?? false;
}

/**
 * Set a condition in place, as apimeta.SetStatusCondition: the transition
 * time moves only when the status changes. Returns whether anything changed.
 */
export function setStatusCondition(conditions: BudgetCondition[], wanted: Omit<BudgetCondition, 'lastTransitionTime'>, now: Date): boolean {
  const existing = conditions.find((c) => c.type === wanted.type);
  if (!existing) {
    conditions.push({ ...withoutZeroGeneration(wanted), lastTransitionTime: timestamp(now) });
    return true;
  }
  let changed = false;
  if (existing.status !== wanted.status) {
    existing.status = wanted.status;
    existing.lastTransitionTime = timestamp(now);
    changed = true;
  }
  if (existing.reason !== wanted.reason) {
    existing.reason = wanted.reason;
    changed = true;
  }
  if (existing.message !== wanted.message) {
    existing.message = wanted.message;
    changed = true;
  }
  if ((existing.observedGeneration ?? 0) !== (wanted.observedGeneration ?? 0)) {
    if (wanted.observedGeneration) existing.observedGeneration = wanted.observedGeneration;
    else delete existing.observedGeneration;
    changed = true;
  }
  return changed;
}

/** observedGeneration is omitempty: a zero is not written. */
function withoutZeroGeneration<T extends { observedGeneration?: number }>(condition: T): T {
  if (condition.observedGeneration) return { ...condition };
  const { observedGeneration: _zero, ...rest } = condition;
  return rest as T;
}

/** DisruptionAllowed follows status.disruptionsAllowed (SufficientPods / InsufficientPods). */
export function updateDisruptionAllowedCondition(pdb: PodDisruptionBudget, now: Date): void {
  const status = (pdb.status ??= {});
  const conditions = (status.conditions ??= []);
  const allowed = (status.disruptionsAllowed ?? 0) > 0;
  setStatusCondition(conditions, {
    type: DISRUPTION_ALLOWED_CONDITION,
    status: allowed ? 'True' : 'False',
    reason: allowed ? SUFFICIENT_PODS_REASON : INSUFFICIENT_PODS_REASON,
    message: '',
    observedGeneration: status.observedGeneration,
  }, now);
}

/** Whether DisruptionAllowed already says what status.disruptionsAllowed says, for the current generation. */
export function conditionsAreUpToDate(pdb: PodDisruptionBudget): boolean {
  const status = pdb.status ?? {};
  const condition = status.conditions?.find((c) => c.type === DISRUPTION_ALLOWED_CONDITION);
  if (!condition) return false;
  if ((status.observedGeneration ?? 0) !== (pdb.metadata.generation ?? 0)) return false;
  if ((status.disruptionsAllowed ?? 0) > 0) return condition.status === 'True' && condition.reason === SUFFICIENT_PODS_REASON;
  return condition.status === 'False' && condition.reason === INSUFFICIENT_PODS_REASON;
}
