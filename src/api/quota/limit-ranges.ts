// LimitRange rules, pure (the LimitRanger admission plugin applies them):
// Container defaults (default → limits, defaultRequest → requests) with the
// kubernetes.io/limit-ranger annotation that says what was set, and the
// min / max / maxLimitRequestRatio checks for containers, pods (their
// effective totals) and claims, with upstream's messages.
import { amountOf, amountOrZero, canonicalQuantity, formatAmount, milliValue, type Amount } from './quantity.ts';
import { podLimits, podRequests, type ContainerSpec, type PodSpecLike } from './pod-resources.ts';
import type { ResourceListJson, Usage } from './resources.ts';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

export interface LimitRangeItem {
  type?: string;
  min?: ResourceListJson;
  max?: ResourceListJson;
  default?: ResourceListJson;
  defaultRequest?: ResourceListJson;
  maxLimitRequestRatio?: ResourceListJson;
}

export interface LimitRangeLike {
  metadata?: { name?: string };
  spec?: { limits?: LimitRangeItem[] };
}

export interface DefaultablePod {
  metadata: { annotations?: Record<string, string> };
  spec?: PodSpecLike;
}

type Lists = { requests?: ResourceListJson; limits?: ResourceListJson };

/** The defaults every Container item of the range gives (a later item wins per resource). */
function containerDefaults(range: LimitRangeLike): { requests: ResourceListJson; limits: ResourceListJson } {
  const requests: ResourceListJson = {};
  const limits: ResourceListJson = {};
  for (const item of range.spec?.limits ?? []) {
    if (item.type !== 'Container') continue;
    Object.assign(requests, item.defaultRequest ?? {});
    Object.assign(limits, item.default ?? {});
  }
  return { requests, limits };
}

function mergeContainer(c: ContainerSpec, defaults: { requests: ResourceListJson; limits: ResourceListJson }, label: string): string[] {
  const resources = (c.resources ??= {});
  const limits = (resources.limits ??= {});
  const requests = (resources.requests ??= {});
  const setLimits = Object.keys(defaults.limits).filter((k) => !(k in limits)).sort();
  const setRequests = Object.keys(defaults.requests).filter((k) => !(k in requests)).sort();
  for (const k of setLimits) limits[k] = canonicalQuantity(defaults.limits[k]);
  for (const k of setRequests) requests[k] = canonicalQuantity(defaults.requests[k]);
  const notes: string[] = [];
  if (setRequests.length) notes.push(`${setRequests.join(', ')} request for ${label} ${c.name ?? ''}`);
  if (setLimits.length) notes.push(`${setLimits.join(', ')} limit for ${label} ${c.name ?? ''}`);
  return notes;
}

/** Fill in the range's container defaults; returns whether anything was set (then the pod carries the annotation). */
export function applyLimitRangeDefaults(range: LimitRangeLike, pod: DefaultablePod): boolean {
  const defaults = containerDefaults(range);
  const spec = pod.spec ?? {};
  const notes: string[] = [];
  for (const c of spec.containers ?? []) notes.push(...mergeContainer(c, defaults, 'container'));
  for (const c of spec.initContainers ?? []) notes.push(...mergeContainer(c, defaults, 'init container'));
  if (notes.length === 0) return false;
  pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}` };
  return true;
}

// ---- constraints -------------------------------------------------------------------

type Observed = Map<string, Amount>;
const observed = (list: ResourceListJson | undefined): Observed => {
  const out: Observed = new Map();
  for (const [k, v] of Object.entries(list ?? {})) {
    const a = amountOf(v);
    if (a) out.set(k, a);
  }
  return out;
};
const show = (value: unknown): string => canonicalQuantity(value);

function minConstraint(type: string, name: string, enforcedText: unknown, requests: Observed, limits: Observed): string | undefined {
  const enforced = milliValue(amountOrZero(enforcedText));
  const request = requests.get(name);
  const limit = limits.get(name);
  if (!request) return `minimum ${name} usage per ${type} is ${show(enforcedText)}.  No request is specified`;
  if (milliValue(request) < enforced) return `minimum ${name} usage per ${type} is ${show(enforcedText)}, but request is ${formatAmount(request)}`;
  if (limit && milliValue(limit) < enforced) return `minimum ${name} usage per ${type} is ${show(enforcedText)}, but limit is ${formatAmount(limit)}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforcedText: unknown, requests: Observed, limits: Observed): string | undefined {
  const enforced = milliValue(amountOrZero(enforcedText));
  const request = requests.get(name);
  const limit = limits.get(name);
  if (!limit) return `maximum ${name} usage per ${type} is ${show(enforcedText)}.  No limit is specified`;
  if (milliValue(limit) > enforced) return `maximum ${name} usage per ${type} is ${show(enforcedText)}, but limit is ${formatAmount(limit)}`;
  if (request && milliValue(request) > enforced) return `maximum ${name} usage per ${type} is ${show(enforcedText)}, but request is ${formatAmount(request)}`;
  return undefined;
}

/** Max for claims: only the request counts (claims have no limits). */
function maxRequestConstraint(type: string, name: string, enforcedText: unknown, requests: Observed): string | undefined {
  const request = requests.get(name);
  if (!request) return `maximum ${name} usage per ${type} is ${show(enforcedText)}.  No request is specified`;
  if (milliValue(request) > milliValue(amountOrZero(enforcedText))) return `maximum ${name} usage per ${type} is ${show(enforcedText)}, but request is ${formatAmount(request)}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforcedText: unknown, requests: Observed, limits: Observed): string | undefined {
  const request = requests.get(name);
  const limit = limits.get(name);
  const req = request ? milliValue(request) : 0n;
  const lim = limit ? milliValue(limit) : 0n;
  const head = `${name} max limit to request ratio per ${type} is ${show(enforcedText)}`;
  if (req === 0n) return `${head}, but no request is specified or request is 0`;
  if (lim === 0n) return `${head}, but no limit is specified or limit is 0`;
  const ratio = Number(lim) / Number(req);
  if (ratio * 1000 > Number(milliValue(amountOrZero(enforcedText)))) return `${head}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}

const sortedEntries = (list: ResourceListJson | undefined) => Object.entries(list ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function checkItem(item: LimitRangeItem, type: string, lists: { requests: Observed; limits: Observed }): string[] {
  const errs: string[] = [];
  const push = (e: string | undefined) => { if (e) errs.push(e); };
  for (const [k, v] of sortedEntries(item.min)) push(minConstraint(type, k, v, lists.requests, lists.limits));
  for (const [k, v] of sortedEntries(item.max)) push(maxConstraint(type, k, v, lists.requests, lists.limits));
  for (const [k, v] of sortedEntries(item.maxLimitRequestRatio)) push(ratioConstraint(type, k, v, lists.requests, lists.limits));
  return errs;
}

const fromUsage = (usage: Usage): Observed => new Map(usage);

/** Every violation of the range by the pod's containers and by the pod as a whole. */
export function podLimitViolations(range: LimitRangeLike, pod: DefaultablePod): string[] {
  const spec = pod.spec ?? {};
  const errs: string[] = [];
  for (const item of range.spec?.limits ?? []) {
    if (item.type === 'Container') {
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        const lists: Lists = c.resources ?? {};
        errs.push(...checkItem(item, 'Container', { requests: observed(lists.requests), limits: observed(lists.limits) }));
      }
    } else if (item.type === 'Pod') {
      const totals = { requests: fromUsage(podRequests(spec, { excludeOverhead: true })), limits: fromUsage(podLimits(spec, { excludeOverhead: true })) };
      errs.push(...checkItem(item, 'Pod', totals));
    }
  }
  return errs;
}

/** Violations of the range's PersistentVolumeClaim items by a claim's storage request. */
export function claimLimitViolations(range: LimitRangeLike, claim: { spec?: { resources?: { requests?: ResourceListJson } } }): string[] {
  const requests = observed(claim.spec?.resources?.requests);
  const errs: string[] = [];
  for (const item of range.spec?.limits ?? []) {
    if (item.type !== 'PersistentVolumeClaim') continue;
    for (const [k, v] of sortedEntries(item.min)) {
      const e = minConstraint('PersistentVolumeClaim', k, v, requests, new Map());
      if (e) errs.push(e);
    }
    for (const [k, v] of sortedEntries(item.max)) {
      const e = maxRequestConstraint('PersistentVolumeClaim', k, v, requests);
      if (e) errs.push(e);
    }
  }
  return errs;
}

/** Several errors as upstream's aggregate prints them: one alone, else "[a, b]". */
export const aggregateMessage = (errs: readonly string[]): string => (errs.length === 1 ? errs[0] : `[${errs.join(', ')}]`);
