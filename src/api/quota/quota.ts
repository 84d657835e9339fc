// The decisions around a ResourceQuota, pure: which quotas a write is charged
// to and whether it fits (admission, as upstream's CheckRequest), and what a
// quota's status is from the objects in its namespace (the controller, as
// upstream's CalculateUsage).
import { evaluatorFor, objectCountName, type Evaluator, type QuotaObject, type QuotaOperation } from './evaluators.ts';
import { zero } from './quantity.ts';
import {
  addUsage, lessThanOrEqual, maskUsage, negativeNames, prettyPrint, prettyPrintNames, removeZeros, subtractNonNegative,
  usageFromJson, type ResourceListJson, type Usage,
} from './resources.ts';
import { scopeRequirementsOf, type QuotaSpec } from './scopes.ts';

export interface ResourceQuotaLike {
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: QuotaSpec;
  status?: { hard?: ResourceListJson; used?: ResourceListJson };
}

/** A write refused by quota; `message` is upstream's text (the caller wraps it in 403 Forbidden). */
export class QuotaRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuotaRefusal';
  }
}

/** Whether `quota` counts `object`: it limits a resource of the kind, and the object is in every scope. */
export function quotaMatches(evaluator: Evaluator, quota: ResourceQuotaLike, object: QuotaObject): boolean {
  // status.hard, not spec.hard: a quota the controller has not seen yet constrains nothing.
  if (evaluator.matchingResources(Object.keys(quota.status?.hard ?? {})).length === 0) return false;
  return scopeRequirementsOf(quota.spec).every((requirement) => evaluator.matchesScope(object, requirement));
}

export interface QuotaWrite {
  operation: QuotaOperation;
  subresource: string;
  object: QuotaObject;
  /** The stored object (updates). */
  oldObject?: QuotaObject;
}

/** A quota whose status.used the write changes. */
export interface QuotaCharge {
  quota: ResourceQuotaLike;
  used: Usage;
}

/**
 * The new status.used of every quota the write is charged to; throws
 * QuotaRefusal when a covering quota is exceeded, does not know its usage
 * yet, or needs the object to name a resource it does not.
 */
export function checkQuotas(options: { quotas: readonly ResourceQuotaLike[]; evaluator: Evaluator; write: QuotaWrite; now: Date }): QuotaCharge[] {
  const { quotas, evaluator, write, now } = options;
  if (!evaluator.handles(write)) return [];
  const interesting: ResourceQuotaLike[] = [];
  for (const quota of quotas) {
    if (!quotaMatches(evaluator, quota, write.object)) continue;
    const name = quota.metadata.name ?? '';
    const hard = quota.status?.hard ?? {};
    const restricted = evaluator.matchingResources(Object.keys(hard));
    const problem = evaluator.constraints(restricted, write.object);
    if (problem) throw new QuotaRefusal(`failed quota: ${name}: ${problem}`);
    const used = quota.status?.used ?? {};
    if (restricted.some((resource) => !(resource in used))) {
      throw new QuotaRefusal(`status unknown for quota: ${name}, resources: ${prettyPrintNames(restricted)}`);
    }
    interesting.push(quota);
  }
  if (interesting.length === 0) return [];

  const inputUsage = evaluator.usage(write.object, now);
  const negative = negativeNames(inputUsage);
  if (negative.length) throw new QuotaRefusal(`quota usage is negative for resource(s): ${prettyPrintNames(negative)}`);

  const deltas = new Map<ResourceQuotaLike, Usage>(interesting.map((q) => [q, inputUsage]));
  if (write.operation === 'UPDATE' && write.oldObject && write.oldObject.metadata && (write.oldObject.metadata as { resourceVersion?: string }).resourceVersion) {
    // Charge only the growth, to quotas that already counted the old object.
    const delta = subtractNonNegative(inputUsage, evaluator.usage(write.oldObject, now));
    for (const quota of interesting) if (quotaMatches(evaluator, quota, write.oldObject)) deltas.set(quota, delta);
  }

  const charges: QuotaCharge[] = [];
  for (const quota of interesting) {
    const delta = removeZeros(deltas.get(quota)!);
    if (delta.size === 0) continue;
    const hard = usageFromJson(quota.status?.hard);
    const used = usageFromJson(quota.status?.used);
    const requested = maskUsage(delta, hard.keys());
    const newUsed = addUsage(used, requested);
    const { allowed, exceeded } = lessThanOrEqual(maskUsage(newUsed, requested.keys()), hard);
    if (!allowed) {
      throw new QuotaRefusal(`exceeded quota: ${quota.metadata.name ?? ''}, requested: ${prettyPrint(maskUsage(requested, exceeded))}, `
        + `used: ${prettyPrint(maskUsage(used, exceeded))}, limited: ${prettyPrint(maskUsage(hard, exceeded))}`);
    }
    charges.push({ quota, used: newUsed });
  }
  return charges;
}

// ---- the controller's side ---------------------------------------------------------

/** The kind a `count/<resource>.<group>` name counts, if it is one. */
export function countedResource(name: string): { group: string; resource: string } | undefined {
  if (!name.startsWith('count/')) return undefined;
  const rest = name.slice('count/'.length);
  const dot = rest.indexOf('.');
  return dot < 0 ? { group: '', resource: rest } : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) };
}

const fixedEvaluators = [evaluatorFor('', 'pods'), evaluatorFor('', 'services'), evaluatorFor('', 'persistentvolumeclaims')];
const legacyCounted = ['configmaps', 'secrets', 'replicationcontrollers', 'resourcequotas'];

/** The evaluators that answer for any of `names` (each kind once). */
export function evaluatorsForNames(names: readonly string[]): Evaluator[] {
  const out = new Map<string, Evaluator>();
  const add = (e: Evaluator) => out.set(`${e.group}/${e.resource}`, e);
  for (const e of fixedEvaluators) if (e.matchingResources(names).length) add(e);
  for (const resource of legacyCounted) if (names.includes(resource)) add(evaluatorFor('', resource));
  for (const name of names) {
    const counted = countedResource(name);
    if (counted && !out.has(`${counted.group}/${counted.resource}`)) add(evaluatorFor(counted.group, counted.resource));
  }
  return [...out.values()];
}

/**
 * status.hard (= spec.hard) and status.used recomputed from the objects in
 * the quota's namespace; `objectsOf` lists one kind's objects there.
 */
export function calculateQuotaUsage(options: {
  quota: ResourceQuotaLike;
  objectsOf: (group: string, resource: string) => readonly QuotaObject[];
  now: Date;
}): Usage {
  const { quota, objectsOf, now } = options;
  const hardNames = Object.keys(quota.spec?.hard ?? {});
  const requirements = scopeRequirementsOf(quota.spec);
  let used: Usage = new Map();
  for (const evaluator of evaluatorsForNames(hardNames)) {
    const matched = evaluator.matchingResources(hardNames);
    for (const name of matched) if (!used.has(name)) used.set(name, zero());
    for (const object of objectsOf(evaluator.group, evaluator.resource)) {
      if (!requirements.every((r) => evaluator.matchesScope(object, r))) continue;
      used = addUsage(used, maskUsage(evaluator.usage(object, now), matched));
    }
  }
  return maskUsage(used, hardNames);
}

export { objectCountName };
