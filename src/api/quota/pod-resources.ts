// A pod's effective requests and limits, as upstream's component-helpers
// PodRequests/PodLimits compute them from the spec: regular containers and
// sidecars (init containers with restartPolicy Always) run together and are
// summed; each ordinary init container runs next to the sidecars started
// before it, so the pod needs the larger of that and the sum; pod-level
// resources replace the container totals for what they name; overhead is
// added (to limits only where a limit exists).
import { amountOrZero, addAmounts, compareAmounts, type Amount } from './quantity.ts';
import { addUsage, type ResourceListJson, type Usage, usageFromJson } from './resources.ts';

export interface ContainerSpec {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: ResourceListJson; limits?: ResourceListJson };
}

export interface PodSpecLike {
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  overhead?: ResourceListJson;
  resources?: { requests?: ResourceListJson; limits?: ResourceListJson };
  [field: string]: unknown;
}

type Which = 'requests' | 'limits';

/** Element-wise max of two lists into a new list. */
function maxUsage(a: Usage, b: Usage): Usage {
  const out: Usage = new Map(a);
  for (const [name, value] of b) {
    const current = out.get(name);
    if (!current || compareAmounts(value, current) > 0) out.set(name, value);
  }
  return out;
}

const isPodLevelResource = (name: string) => name === 'cpu' || name === 'memory' || name.startsWith('hugepages-');

/** The containers' aggregate, before pod-level resources and overhead. */
export function aggregateContainers(spec: PodSpecLike, which: Which): Usage {
  let sum: Usage = new Map();
  let sidecars: Usage = new Map();
  let initPeak: Usage = new Map();
  for (const c of spec.containers ?? []) sum = addUsage(sum, usageFromJson(c.resources?.[which]));
  for (const c of spec.initContainers ?? []) {
    const own = usageFromJson(c.resources?.[which]);
    if (c.restartPolicy === 'Always') {
      sum = addUsage(sum, own);
      sidecars = addUsage(sidecars, own);
    } else {
      initPeak = maxUsage(initPeak, addUsage(own, sidecars));
    }
  }
  return maxUsage(sum, initPeak);
}

function podLevel(spec: PodSpecLike, which: Which, aggregate: Usage): Usage {
  const list = spec.resources?.[which];
  if (!list) return aggregate;
  const out = new Map(aggregate);
  for (const [name, value] of Object.entries(list)) if (isPodLevelResource(name)) out.set(name, amountOrZero(value));
  return out;
}

export function podRequests(spec: PodSpecLike, options: { excludeOverhead?: boolean } = {}): Usage {
  const requests = podLevel(spec, 'requests', aggregateContainers(spec, 'requests'));
  if (options.excludeOverhead || !spec.overhead) return requests;
  return addUsage(requests, usageFromJson(spec.overhead));
}

export function podLimits(spec: PodSpecLike, options: { excludeOverhead?: boolean } = {}): Usage {
  const limits = podLevel(spec, 'limits', aggregateContainers(spec, 'limits'));
  if (options.excludeOverhead || !spec.overhead) return limits;
  const out = new Map(limits);
  for (const [name, value] of usageFromJson(spec.overhead)) {
    const current = out.get(name);
    if (current) out.set(name, addAmounts(current, value));
  }
  return out;
}

/** Whether pod-level requests or limits are set (then containers need not name cpu/memory for quota). */
export function hasPodLevelResources(spec: PodSpecLike): boolean {
  const r = spec.resources;
  return Boolean(r && (Object.keys(r.requests ?? {}).length || Object.keys(r.limits ?? {}).length));
}

const positive = (value: unknown): boolean => {
  const a: Amount = amountOrZero(value);
  return a.nanos > 0n;
};

/** QoS class BestEffort: no cpu or memory request or limit above zero anywhere (pod level included). */
export function isBestEffort(spec: PodSpecLike): boolean {
  const lists: (ResourceListJson | undefined)[] = [spec.resources?.requests, spec.resources?.limits];
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) lists.push(c.resources?.requests, c.resources?.limits);
  for (const list of lists) {
    for (const name of ['cpu', 'memory']) if (list && list[name] !== undefined && positive(list[name])) return false;
  }
  return true;
}
