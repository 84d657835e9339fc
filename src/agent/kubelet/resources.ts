// Resource arithmetic the kubelet does on the node: a pod's QoS class, the
// cgroup values for a container (cpu.shares, CFS quota, memory limit), the
// QoS-based oom_score_adj, and the pod's effective requests for admission.
// Pure functions of the pod spec (and the node's memory capacity).
import { parseQuantity } from '../../api/validation/quantity.ts';
import type { ContainerResources } from '../runtime/types.ts';
import type { ContainerSpec, PodSpec } from './pod-types.ts';

type ResourceList = Record<string, unknown> | undefined;

/** A quantity's value in milli-units, rounded up (resource.Quantity.MilliValue). 0 when absent or malformed. */
export function milliValue(input: unknown): number {
  const q = parseQuantity(input);
  if (!q) return 0;
  const scaled = q.num * 1000n;
  return Number(scaled / q.den + (scaled % q.den > 0n ? 1n : 0n));
}

/** A quantity's whole value, rounded up (resource.Quantity.Value). 0 when absent or malformed. */
export function wholeValue(input: unknown): number {
  const q = parseQuantity(input);
  if (!q) return 0;
  return Number(q.num / q.den + (q.num % q.den > 0n ? 1n : 0n));
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

const QOS_RESOURCES = ['cpu', 'memory'];

/**
 * upstream's GetPodQOS: BestEffort without any cpu/memory request or limit;
 * Guaranteed when every container limits both cpu and memory and requests
 * equal limits; Burstable otherwise.
 */
export function qosClassOf(spec: PodSpec): QosClass {
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let anySet = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const requests: ResourceList = c.resources?.requests;
    const limits: ResourceList = c.resources?.limits;
    for (const name of QOS_RESOURCES) {
      const request = milliValue(requests?.[name]);
      const limit = milliValue(limits?.[name]);
      if (request > 0 || limit > 0) anySet = true;
      // Requests default to limits (API defaulting), so an absent request equals the limit.
      const effectiveRequest = requests?.[name] === undefined ? limit : request;
      if (limit === 0 || effectiveRequest !== limit) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262144;
export const CPU_PERIOD_MICROS = 100_000;
const MIN_QUOTA_MICROS = 1000;

/** kubelet's MilliCPUToShares: 1 CPU = 1024 shares, at least 2. */
export function milliCpuToShares(milliCpu: number): number {
  if (milliCpu <= 0) return MIN_CPU_SHARES;
  const shares = Math.floor((milliCpu * 1024) / 1000);
  return Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, shares));
}

/** kubelet's MilliCPUToQuota: quota for one period, at least 1 ms; 0 (no quota) without a limit. */
export function milliCpuToQuota(milliCpu: number, periodMicros = CPU_PERIOD_MICROS): number {
  if (milliCpu <= 0) return 0;
  return Math.max(MIN_QUOTA_MICROS, Math.floor((milliCpu * periodMicros) / 1000));
}

export const GUARANTEED_OOM_SCORE_ADJ = -997;
export const BEST_EFFORT_OOM_SCORE_ADJ = 1000;
/** system-node-critical / system-cluster-critical priority and above. */
const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;

/**
 * kubelet's GetContainerOOMScoreAdjust: critical and Guaranteed pods -997,
 * BestEffort 1000, Burstable by the share of the node's memory the container
 * requests (1000 - 1000 * request / capacity), kept within [3, 999] so it
 * always ranks between the two.
 */
export function oomScoreAdj(options: { qos: QosClass; container: ContainerSpec; memoryCapacityBytes: number; priority?: number }): number {
  const { qos, container, memoryCapacityBytes } = options;
  if ((options.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY) return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'Guaranteed') return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'BestEffort') return BEST_EFFORT_OOM_SCORE_ADJ;
  const request = wholeValue(container.resources?.requests?.memory);
  const adj = memoryCapacityBytes > 0 ? 1000 - Math.floor((1000 * request) / memoryCapacityBytes) : 1000;
  if (adj < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj === BEST_EFFORT_OOM_SCORE_ADJ) return adj - 1;
  return adj;
}

/** The cgroup values of one container (kubelet's calculateLinuxResources). */
export function containerResources(options: { container: ContainerSpec; qos: QosClass; memoryCapacityBytes: number; priority?: number }): ContainerResources {
  const { container } = options;
  const cpuRequest = milliValue(container.resources?.requests?.cpu);
  const cpuLimit = milliValue(container.resources?.limits?.cpu);
  const memoryLimit = wholeValue(container.resources?.limits?.memory);
  // A limit without a request: the request is the limit (as API defaulting makes it).
  const result: ContainerResources = { cpuShares: milliCpuToShares(cpuRequest === 0 && cpuLimit > 0 ? cpuLimit : cpuRequest) };
  if (cpuLimit > 0) {
    result.cpuQuotaMicros = milliCpuToQuota(cpuLimit);
    result.cpuPeriodMicros = CPU_PERIOD_MICROS;
  }
  if (memoryLimit > 0) result.memoryLimitBytes = memoryLimit;
  result.oomScoreAdj = oomScoreAdj(options);
  return result;
}

/** Requests of resources by name: cpu in millicores, everything else in whole units. */
export type Requests = Map<string, number>;

function requestsOf(container: ContainerSpec): Requests {
  const out: Requests = new Map();
  const requests = { ...(container.resources?.limits ?? {}), ...(container.resources?.requests ?? {}) } as Record<string, unknown>;
  for (const [name, value] of Object.entries(requests)) out.set(name, name === 'cpu' ? milliValue(value) : wholeValue(value));
  return out;
}

function add(into: Requests, more: Requests): void {
  for (const [name, value] of more) into.set(name, (into.get(name) ?? 0) + value);
}

function max(into: Requests, other: Requests): void {
  for (const [name, value] of other) into.set(name, Math.max(into.get(name) ?? 0, value));
}

/**
 * The pod's effective requests (upstream's PodRequests): the app containers
 * plus the sidecars (restartable init containers) run together; each other
 * init container runs alone beside the sidecars started before it; the pod
 * needs the larger of the two, plus its overhead.
 */
export function podRequests(spec: PodSpec): Requests {
  const total: Requests = new Map();
  for (const c of spec.containers ?? []) add(total, requestsOf(c));
  const sidecars: Requests = new Map();
  const initPeak: Requests = new Map();
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === 'Always') {
      add(sidecars, requestsOf(c));
      max(initPeak, sidecars);
    } else {
      const running = new Map(sidecars);
      add(running, requestsOf(c));
      max(initPeak, running);
    }
  }
  add(total, sidecars);
  max(total, initPeak);
  for (const [name, value] of Object.entries(spec.overhead ?? {})) total.set(name, (total.get(name) ?? 0) + (name === 'cpu' ? milliValue(value) : wholeValue(value)));
  return total;
}

/**
 * The pod's cgroup (the sandbox's): shares for the pod's requests, and a
 * CPU quota / memory limit only when every container limits that resource
 * (kubelet's pod-level cgroup values).
 */
export function podSandboxResources(spec: PodSpec): ContainerResources {
  const requests = podRequests(spec);
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  const result: ContainerResources = { cpuShares: milliCpuToShares(requests.get('cpu') ?? 0) };
  const apps = spec.containers ?? [];
  if (containers.length && containers.every((c) => milliValue(c.resources?.limits?.cpu) > 0)) {
    const total = apps.reduce((sum, c) => sum + milliValue(c.resources?.limits?.cpu), 0);
    const initPeak = Math.max(0, ...(spec.initContainers ?? []).map((c) => milliValue(c.resources?.limits?.cpu)));
    result.cpuQuotaMicros = milliCpuToQuota(Math.max(total, initPeak));
    result.cpuPeriodMicros = CPU_PERIOD_MICROS;
  }
  if (containers.length && containers.every((c) => wholeValue(c.resources?.limits?.memory) > 0)) {
    const total = apps.reduce((sum, c) => sum + wholeValue(c.resources?.limits?.memory), 0);
    const initPeak = Math.max(0, ...(spec.initContainers ?? []).map((c) => wholeValue(c.resources?.limits?.memory)));
    result.memoryLimitBytes = Math.max(total, initPeak);
  }
  return result;
}
