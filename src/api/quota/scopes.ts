// Quota scopes: which pods a scoped ResourceQuota counts. spec.scopes are
// shorthand for `Exists` requirements; spec.scopeSelector adds requirements
// with operators (In/NotIn only for PriorityClass).
import type { PodSpecLike } from './pod-resources.ts';
import { isBestEffort } from './pod-resources.ts';

export interface ScopeRequirement {
  scopeName: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | string;
  values?: string[];
}

export interface QuotaSpec {
  hard?: Record<string, string | number>;
  scopes?: string[];
  scopeSelector?: { matchExpressions?: ScopeRequirement[] };
}

/** Every requirement a quota puts on the objects it counts. */
export function scopeRequirementsOf(spec: QuotaSpec | undefined): ScopeRequirement[] {
  const out: ScopeRequirement[] = (spec?.scopes ?? []).map((scopeName) => ({ scopeName, operator: 'Exists' }));
  out.push(...(spec?.scopeSelector?.matchExpressions ?? []));
  return out;
}

export interface PodLike {
  metadata?: { deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
  spec?: PodSpecLike & {
    activeDeadlineSeconds?: number;
    priorityClassName?: string;
    affinity?: { podAffinity?: AffinityTerms; podAntiAffinity?: AffinityTerms };
  };
  status?: { phase?: string };
}

interface AffinityTerm {
  namespaces?: string[];
  namespaceSelector?: unknown;
}
interface AffinityTerms {
  requiredDuringSchedulingIgnoredDuringExecution?: AffinityTerm[];
  preferredDuringSchedulingIgnoredDuringExecution?: { podAffinityTerm?: AffinityTerm }[];
}

/** A pod with an active deadline: it will end on its own (scope Terminating). */
export const isTerminating = (pod: PodLike): boolean => typeof pod.spec?.activeDeadlineSeconds === 'number' && pod.spec.activeDeadlineSeconds >= 0;

const crossNamespaceTerm = (term: AffinityTerm | undefined): boolean => Boolean(term && ((term.namespaces?.length ?? 0) > 0 || term.namespaceSelector != null));

function usesCrossNamespaceAffinity(pod: PodLike): boolean {
  for (const terms of [pod.spec?.affinity?.podAffinity, pod.spec?.affinity?.podAntiAffinity]) {
    if (!terms) continue;
    if ((terms.requiredDuringSchedulingIgnoredDuringExecution ?? []).some(crossNamespaceTerm)) return true;
    if ((terms.preferredDuringSchedulingIgnoredDuringExecution ?? []).some((w) => crossNamespaceTerm(w.podAffinityTerm))) return true;
  }
  return false;
}

/** The PriorityClass requirement as a label selector over {PriorityClass: name}. */
function priorityClassMatches(className: string | undefined, requirement: ScopeRequirement): boolean {
  const present = Boolean(className);
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'In':
      return present && values.includes(className!);
    case 'NotIn':
      return !present || !values.includes(className!);
    default:
      return false;
  }
}

/** Whether a pod satisfies one scope requirement. */
export function podMatchesScope(pod: PodLike, requirement: ScopeRequirement): boolean {
  switch (requirement.scopeName) {
    case 'Terminating':
      return isTerminating(pod);
    case 'NotTerminating':
      return !isTerminating(pod);
    case 'BestEffort':
      return isBestEffort(pod.spec ?? {});
    case 'NotBestEffort':
      return !isBestEffort(pod.spec ?? {});
    case 'PriorityClass':
      return priorityClassMatches(pod.spec?.priorityClassName, requirement);
    case 'CrossNamespacePodAffinity':
      return usesCrossNamespaceAffinity(pod);
    default:
      return false;
  }
}
