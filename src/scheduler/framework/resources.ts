// Resource arithmetic in the units the scheduler compares: CPU in
// milli-cores, everything else in whole units (bytes, pods, devices), each
// rounded up like resource.Quantity's MilliValue()/Value(). Quantities are
// parsed exactly by api/validation/quantity.ts and memoised, because the
// same few strings ("100m", "128Mi") arrive millions of times.
import { parseQuantity } from '../../api/validation/quantity.ts';
import type { Container, Pod, ResourceList } from './types.ts';

export const CPU = 'cpu';
export const MEMORY = 'memory';
export const EPHEMERAL_STORAGE = 'ephemeral-storage';
export const PODS = 'pods';

/** What the scorers assume a container without a CPU request uses (upstream DefaultMilliCPURequest). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** Same for memory: 200 MiB (upstream DefaultMemoryRequest). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

const memo = new Map<string, number>();
const MEMO_LIMIT = 4096;

function ceilDiv(num: bigint, den: bigint): bigint {
  const q = num / den;
  return num % den !== 0n && num > 0n ? q + 1n : q;
}

/**
 * The quantity scaled by 10^3 (milli) or 1, rounded up; 0 when malformed
 * (validation rejects those before they reach a scheduler).
 */
export function quantityValue(input: string | number | undefined, milli: boolean): number {
  if (input === undefined) return 0;
  if (typeof input === 'number' && Number.isInteger(input)) return milli ? input * 1000 : input;
  const key = (milli ? 'm:' : 'v:') + input;
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const q = parseQuantity(input);
  const value = q === undefined ? 0 : Number(ceilDiv(milli ? q.num * 1000n : q.num, q.den));
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(key, value);
  return value;
}

export const milliValue = (q: string | number | undefined): number => quantityValue(q, true);
export const wholeValue = (q: string | number | undefined): number => quantityValue(q, false);

/** hugepages-*, attachable-volumes-*, and anything with a domain prefix (extended and prefixed native resources). */
export function isScalarResourceName(name: string): boolean {
  if (name.startsWith('hugepages-') || name.startsWith('attachable-volumes-')) return true;
  return name.includes('/') && !name.startsWith('requests.');
}

/** An extended resource: domain-prefixed, not under kubernetes.io (upstream IsExtendedResourceName). */
export function isExtendedResourceName(name: string): boolean {
  if (!name.includes('/') || name.startsWith('requests.')) return false;
  const domain = name.slice(0, name.indexOf('/'));
  return domain !== 'kubernetes.io' && !domain.endsWith('.kubernetes.io');
}

/** A vector of the resources the scheduler tracks. Mutable; clone before sharing. */
export class Resource {
  milliCPU = 0;
  memory = 0;
  ephemeralStorage = 0;
  allowedPodNumber = 0;
  /** Extended, hugepages and other scalar resources; absent means 0. */
  scalar: Map<string, number> | undefined = undefined;

  static fromList(list: ResourceList | null | undefined): Resource {
    const r = new Resource();
    r.addList(list);
    return r;
  }

  get(name: string): number {
    switch (name) {
      case CPU:
        return this.milliCPU;
      case MEMORY:
        return this.memory;
      case EPHEMERAL_STORAGE:
        return this.ephemeralStorage;
      case PODS:
        return this.allowedPodNumber;
      default:
        return this.scalar?.get(name) ?? 0;
    }
  }

  /** Adds `value` (milli for cpu) to one resource. */
  addValue(name: string, value: number): void {
    switch (name) {
      case CPU:
        this.milliCPU += value;
        return;
      case MEMORY:
        this.memory += value;
        return;
      case EPHEMERAL_STORAGE:
        this.ephemeralStorage += value;
        return;
      case PODS:
        this.allowedPodNumber += value;
        return;
      default:
        if (!isScalarResourceName(name)) return;
        this.scalar ??= new Map();
        this.scalar.set(name, (this.scalar.get(name) ?? 0) + value);
    }
  }

  setMax(name: string, value: number): void {
    const current = this.get(name);
    if (value > current) this.addValue(name, value - current);
  }

  addList(list: ResourceList | null | undefined): void {
    if (!list) return;
    for (const name in list) this.addValue(name, valueFor(name, list[name]));
  }

  add(other: Resource, sign = 1): void {
    this.milliCPU += sign * other.milliCPU;
    this.memory += sign * other.memory;
    this.ephemeralStorage += sign * other.ephemeralStorage;
    this.allowedPodNumber += sign * other.allowedPodNumber;
    if (other.scalar) {
      this.scalar ??= new Map();
      for (const [name, v] of other.scalar) this.scalar.set(name, (this.scalar.get(name) ?? 0) + sign * v);
    }
  }

  /** Element-wise max with another vector (init containers run one at a time). */
  max(other: Resource): void {
    this.milliCPU = Math.max(this.milliCPU, other.milliCPU);
    this.memory = Math.max(this.memory, other.memory);
    this.ephemeralStorage = Math.max(this.ephemeralStorage, other.ephemeralStorage);
    this.allowedPodNumber = Math.max(this.allowedPodNumber, other.allowedPodNumber);
    if (other.scalar) for (const [name, v] of other.scalar) this.setMax(name, v);
  }

  clone(): Resource {
    const r = new Resource();
    r.milliCPU = this.milliCPU;
    r.memory = this.memory;
    r.ephemeralStorage = this.ephemeralStorage;
    r.allowedPodNumber = this.allowedPodNumber;
    if (this.scalar) r.scalar = new Map(this.scalar);
    return r;
  }

  /** True when no resource is requested (pods count excluded). */
  isZero(): boolean {
    if (this.milliCPU !== 0 || this.memory !== 0 || this.ephemeralStorage !== 0) return false;
    if (this.scalar) for (const v of this.scalar.values()) if (v !== 0) return false;
    return true;
  }
}

/** A quantity in the unit the scheduler uses for `name`. */
export const valueFor = (name: string, q: string | number | undefined): number => (name === CPU ? milliValue(q) : wholeValue(q));

/** The requests of a pod, computed once per PodInfo. */
export interface PodRequests {
  /** What NodeResourcesFit compares with free capacity (upstream resource.PodRequests). */
  requests: Resource;
  /** CPU with missing container requests counted as 100m (the scorers' view). */
  nonZeroMilliCPU: number;
  /** Memory with missing container requests counted as 200Mi. */
  nonZeroMemory: number;
}

/**
 * Requests as the kubelet will need them: regular containers and sidecars
 * (init containers with restartPolicy Always) run together and are summed;
 * each ordinary init container runs alone next to the sidecars started before
 * it, so the pod needs the max of that and the sum; pod overhead is added on
 * top; pod-level requests (spec.resources) replace the container totals for
 * the resources they name.
 */
export function computePodRequests(pod: Pod): PodRequests {
  const spec = pod.spec ?? {};
  const requests = aggregate(spec.containers ?? [], spec.initContainers ?? [], false);
  const nonZero = aggregate(spec.containers ?? [], spec.initContainers ?? [], true);
  const podLevel = spec.resources?.requests;
  if (podLevel) {
    for (const name of [CPU, MEMORY]) {
      if (podLevel[name] === undefined) continue;
      const v = valueFor(name, podLevel[name]);
      requests.addValue(name, v - requests.get(name));
      nonZero.addValue(name, v - nonZero.get(name));
    }
  }
  if (spec.overhead) {
    requests.addList(spec.overhead);
    nonZero.addList(spec.overhead);
  }
  return { requests, nonZeroMilliCPU: nonZero.milliCPU, nonZeroMemory: nonZero.memory };
}

function containerRequests(c: Container, nonZero: boolean): Resource {
  const list = c.resources?.requests;
  const r = Resource.fromList(list);
  if (nonZero) {
    if (list?.[CPU] === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (list?.[MEMORY] === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

function aggregate(containers: Container[], initContainers: Container[], nonZero: boolean): Resource {
  const total = new Resource();
  for (const c of containers) total.add(containerRequests(c, nonZero));
  const sidecars = new Resource();
  const initPeak = new Resource();
  for (const c of initContainers) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      total.add(r);
      sidecars.add(r);
    } else {
      r.add(sidecars);
      initPeak.max(r);
    }
  }
  total.max(initPeak);
  return total;
}
