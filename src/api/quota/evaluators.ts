// Usage evaluators, one per kind, as upstream's pkg/quota/v1/evaluator: what
// an object costs (usage), which quota resource names a kind answers for,
// which writes can change usage, and the pod constraints (a quota on cpu or
// memory makes every container name it).
import { isExtendedResourceName } from './names.ts';
import { amountOf, roundUpToWhole, whole, zero } from './quantity.ts';
import { addUsage, maskUsage, type ResourceListJson, type Usage } from './resources.ts';
import { hasPodLevelResources, podLimits, podRequests, type ContainerSpec } from './pod-resources.ts';
import { isTerminating, podMatchesScope, type PodLike, type ScopeRequirement } from './scopes.ts';

export type QuotaOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** What the evaluators read of an object: any API object. */
export interface QuotaObject {
  metadata?: { name?: string; namespace?: string; deletionTimestamp?: string; deletionGracePeriodSeconds?: number; annotations?: Record<string, string> };
  spec?: any;
  status?: any;
}

export interface Evaluator {
  readonly group: string;
  /** Plural resource name. */
  readonly resource: string;
  /** Whether this write can change usage (upstream's Handles). */
  handles(write: { operation: QuotaOperation; subresource: string; object?: QuotaObject; oldObject?: QuotaObject }): boolean;
  /** The quota resource names among `names` that this kind is charged for. */
  matchingResources(names: readonly string[]): string[];
  /** Whether the object satisfies one scope requirement (only pods have scopes). */
  matchesScope(object: QuotaObject, requirement: ScopeRequirement): boolean;
  usage(object: QuotaObject, now: Date): Usage;
  /** A message when the object does not name what a quota on `required` needs; undefined when fine. */
  constraints(required: readonly string[], object: QuotaObject): string | undefined;
}

/** `count/pods`, `count/deployments.apps`. */
export const objectCountName = (group: string, resource: string): string => (group ? `count/${resource}.${group}` : `count/${resource}`);

const noScopes = () => false;

/** The plain resource names quota has used for object counts since before count/*. */
const legacyCountNames: Record<string, string> = {
  configmaps: 'configmaps', secrets: 'secrets', replicationcontrollers: 'replicationcontrollers', resourcequotas: 'resourcequotas',
};

/** Counts objects of any kind (count/<resource>.<group>, and the legacy names of a few core kinds). */
export function objectCountEvaluator(group: string, resource: string): Evaluator {
  const countName = objectCountName(group, resource);
  const legacy = group === '' ? legacyCountNames[resource] : undefined;
  const names = legacy ? [countName, legacy] : [countName];
  return {
    group,
    resource,
    handles: ({ operation }) => operation === 'CREATE',
    matchingResources: (input) => input.filter((n) => names.includes(n)),
    matchesScope: noScopes,
    usage: () => new Map(names.map((n) => [n, whole(1)])),
    constraints: () => undefined,
  };
}

// ---- services ------------------------------------------------------------------

const serviceResources = ['count/services', 'services', 'services.nodeports', 'services.loadbalancers'];

export const serviceEvaluator: Evaluator = {
  group: '',
  resource: 'services',
  handles: ({ operation }) => operation === 'CREATE' || operation === 'UPDATE',
  matchingResources: (input) => input.filter((n) => serviceResources.includes(n)),
  matchesScope: noScopes,
  usage(svc) {
    const ports = (svc.spec?.ports ?? []).length;
    const type = svc.spec?.type;
    return new Map([
      ['count/services', whole(1)],
      ['services', whole(1)],
      ['services.loadbalancers', type === 'LoadBalancer' ? whole(1) : zero()],
      ['services.nodeports', type === 'NodePort' || type === 'LoadBalancer' ? whole(ports) : zero()],
    ]);
  },
  constraints: () => undefined,
};

// ---- persistent volume claims ----------------------------------------------------

const STORAGE_CLASS_SUFFIX = '.storageclass.storage.k8s.io/';
const pvcResources = ['persistentvolumeclaims', 'requests.storage'];

/** The claim's class: spec.storageClassName, else the beta annotation. */
export function claimClass(pvc: QuotaObject): string {
  return pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? pvc.spec?.storageClassName ?? '';
}

export const pvcEvaluator: Evaluator = {
  group: '',
  resource: 'persistentvolumeclaims',
  handles: ({ operation }) => operation === 'CREATE' || operation === 'UPDATE',
  matchingResources: (input) => input.filter((n) => n === 'count/persistentvolumeclaims' || pvcResources.includes(n)
    || pvcResources.some((r) => n.endsWith(STORAGE_CLASS_SUFFIX + r))),
  matchesScope: noScopes,
  usage(pvc) {
    const result: Usage = new Map([['persistentvolumeclaims', whole(1)], ['count/persistentvolumeclaims', whole(1)]]);
    const storageClass = claimClass(pvc);
    if (storageClass) result.set(`${storageClass}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, whole(1));
    const requested = amountOf(pvc.spec?.resources?.requests?.storage);
    if (requested) {
      let storage = roundUpToWhole(requested);
      // A larger allocation (a resize in progress) is what the volume really takes.
      const allocated = amountOf(pvc.status?.allocatedResources?.storage);
      if (allocated && allocated.nanos > storage.nanos) storage = roundUpToWhole(allocated);
      result.set('requests.storage', storage);
      if (storageClass) result.set(`${storageClass}${STORAGE_CLASS_SUFFIX}requests.storage`, storage);
    }
    return result;
  },
  constraints: () => undefined,
};

// ---- pods -----------------------------------------------------------------------

const podResourceNames = [
  'count/pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage', 'pods',
];
/** Quota on these makes every container name them (a historical coupling upstream keeps). */
const validationSet = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

const isExtendedQuotaName = (name: string) => name.startsWith('requests.') && isExtendedResourceName(name.slice('requests.'.length));

/** The quota names a set of requests and limits is charged under. */
function computeUsage(requests: Usage, limits: Usage): Usage {
  const result: Usage = new Map([['pods', whole(1)]]);
  for (const name of ['cpu', 'memory', 'ephemeral-storage']) {
    const request = requests.get(name);
    if (request) {
      result.set(name, request);
      result.set(`requests.${name}`, request);
    }
    const limit = limits.get(name);
    if (limit) result.set(`limits.${name}`, limit);
  }
  for (const [name, request] of requests) {
    if (name.startsWith('hugepages-')) {
      result.set(name, request);
      result.set(`requests.${name}`, request);
    }
    if (isExtendedResourceName(name)) result.set(`requests.${name}`, request);
  }
  return result;
}

const containerUsage = (c: ContainerSpec): Usage => {
  const requests = new Map(Object.entries(c.resources?.requests ?? {}).map(([k, v]) => [k, amountOf(v) ?? zero()]));
  const limits = new Map(Object.entries(c.resources?.limits ?? {}).map(([k, v]) => [k, amountOf(v) ?? zero()]));
  return computeUsage(requests, limits);
};

/** Whether a pod still holds its resources: not finished, not stuck past its deletion grace period. */
export function podCountsForQuota(pod: PodLike, now: Date): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const meta = pod.metadata;
  if (meta?.deletionTimestamp && typeof meta.deletionGracePeriodSeconds === 'number') {
    const deadline = Date.parse(meta.deletionTimestamp) + meta.deletionGracePeriodSeconds * 1000;
    if (now.getTime() > deadline) return false;
  }
  return true;
}

export const podEvaluator: Evaluator = {
  group: '',
  resource: 'pods',
  handles({ operation, subresource, object, oldObject }) {
    if (subresource !== '') return false;
    // An update matters only when it moves the pod between the Terminating scopes.
    if (operation === 'UPDATE') return Boolean(object && oldObject) && isTerminating(object as PodLike) !== isTerminating(oldObject as PodLike);
    return operation === 'CREATE';
  },
  matchingResources: (input) => input.filter((n) => podResourceNames.includes(n) || n.startsWith('hugepages-')
    || n.startsWith('requests.hugepages-') || isExtendedQuotaName(n)),
  matchesScope: (pod, requirement) => podMatchesScope(pod as PodLike, requirement),
  usage(pod, now) {
    const result: Usage = new Map([['count/pods', whole(1)]]);
    if (!podCountsForQuota(pod as PodLike, now)) return result;
    const spec = pod.spec ?? {};
    return addUsage(result, computeUsage(podRequests(spec), podLimits(spec)));
  },
  constraints(required, pod) {
    const spec = pod.spec ?? {};
    if (hasPodLevelResources(spec)) return undefined;
    const needed = required.filter((n) => validationSet.has(n));
    if (needed.length === 0) return undefined;
    const missing = new Map<string, Set<string>>();
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as ContainerSpec[]) {
      const has = containerUsage(c);
      for (const name of needed) {
        if (has.has(name)) continue;
        if (!missing.has(name)) missing.set(name, new Set());
        missing.get(name)!.add(c.name ?? '');
      }
    }
    if (missing.size === 0) return undefined;
    const parts = [...missing.keys()].sort().map((name) => `${name} for: ${[...missing.get(name)!].sort().join(',')}`);
    return `must specify ${parts.join('; ')}`;
  },
};

/** The evaluator for a group/resource: a dedicated one, else an object counter. */
export function evaluatorFor(group: string, resource: string): Evaluator {
  if (group === '') {
    if (resource === 'pods') return podEvaluator;
    if (resource === 'services') return serviceEvaluator;
    if (resource === 'persistentvolumeclaims') return pvcEvaluator;
  }
  return objectCountEvaluator(group, resource);
}

/** The usage of one object restricted to `names` (what the controller sums). */
export const maskedUsage = (evaluator: Evaluator, object: QuotaObject, names: readonly string[], now: Date): Usage =>
  maskUsage(evaluator.usage(object, now), names);

export type { ResourceListJson };
