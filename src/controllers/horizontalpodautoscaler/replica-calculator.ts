// How many replicas one resource metric asks for — upstream's
// ReplicaCalculator (pkg/controller/podautoscaler/replica_calculator.go),
// restated. Values are in milli-units (CPU millicores, memory milli-bytes),
// as upstream reads every resource with MilliValue().
//
// The rules, in order:
// - pods being deleted, Failed or Pending are ignored;
// - a pod with no metrics is "missing"; for CPU a pod is "unready" when it has
//   no Ready condition or start time, or — within the CPU initialization
//   period (5 min) after it started — when it is not Ready or its sample does
//   not cover a full window since it last became Ready, or — after that — when
//   it is not Ready and never was (it went unready within the initial
//   readiness delay, 30 s, of starting);
// - usage ratio = (sum of usage / sum of requests) / target over the ready
//   pods with metrics; within the tolerance (0.1) of 1 nothing changes;
// - without missing or unready pods: ceil(ratio × ready pods);
// - else missing pods count as 100 % of their request (target value) on a
//   scale-down and 0 on a scale-up, unready pods as 0 on a scale-up, and the
//   ratio is recomputed; if that flips the direction, or lands within the
//   tolerance, or the new count moves against the ratio, nothing changes.
import { parseQuantity } from '../../api/validation/quantity.ts';
import type { Pod } from '../framework/types.ts';

export const HPA_DEFAULTS = Object.freeze({
  tolerance: 0.1,
  cpuInitializationPeriodMs: 5 * 60_000,
  initialReadinessDelayMs: 30_000,
});

export interface PodMetric {
  /** Milli-units, summed over the containers considered. */
  value: number;
  timestampMs: number;
  windowMs: number;
}

export type PodMetrics = Map<string, PodMetric>;

export interface CalculatorOptions {
  tolerance: number;
  cpuInitializationPeriodMs: number;
  initialReadinessDelayMs: number;
  nowMs: number;
}

export interface ReplicaProposal {
  replicas: number;
  /** Utilization: the percentage of request; AverageValue: the average in milli-units. */
  utilization: number;
  /** The average usage per pod in milli-units. */
  rawAverage: number;
}

/** A quantity in milli-units (rounded up, as Quantity.MilliValue()); undefined when absent or malformed. */
export function milliValue(input: unknown): number | undefined {
  const q = parseQuantity(input);
  if (!q) return undefined;
  const scaled = q.num * 1000n;
  return Number(scaled / q.den + (scaled % q.den > 0n ? 1n : 0n));
}

interface ContainerSpec {
  name: string;
  resources?: { requests?: Record<string, unknown> };
}

/** The pod's request for `resource` (all its containers, or the named one); an Error naming the container without one. */
export function podRequest(pod: Pod, resource: string, container?: string): number | Error {
  const containers = ((pod.spec as { containers?: ContainerSpec[] } | undefined)?.containers ?? []);
  let total = 0;
  for (const c of containers) {
    if (container && c.name !== container) continue;
    const request = milliValue(c.resources?.requests?.[resource]);
    if (request === undefined) return new Error(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name}`);
    total += request;
  }
  return total;
}

interface Groups {
  readyCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

export function groupPods(pods: readonly Pod[], metrics: PodMetrics, resource: string, o: CalculatorOptions): Groups {
  const groups: Groups = { readyCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata.name!;
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp || phase === 'Failed' || phase === 'Pending') {
      groups.ignored.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      groups.missing.add(name);
      continue;
    }
    if (resource === 'cpu' && isUnreadyForCpu(pod, metric, o)) {
      groups.unready.add(name);
      continue;
    }
    groups.readyCount++;
  }
  return groups;
}

function isUnreadyForCpu(pod: Pod, metric: PodMetric, o: CalculatorOptions): boolean {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const startTime = Date.parse(String(pod.status?.startTime ?? ''));
  if (!ready || Number.isNaN(startTime)) return true;
  const transition = Date.parse(ready.lastTransitionTime ?? '') || 0;
  if (startTime + o.cpuInitializationPeriodMs > o.nowMs) {
    return ready.status === 'False' || metric.timestampMs < transition + metric.windowMs;
  }
  return ready.status === 'False' && startTime + o.initialReadinessDelayMs > transition;
}

/** (usage / request) / target over the pods in `metrics`, and the utilization in whole percent (truncated, as upstream). */
function utilizationRatio(metrics: PodMetrics, requests: Map<string, number>, target: number): { ratio: number; utilization: number; rawAverage: number } | Error {
  let usage = 0;
  let requested = 0;
  for (const [name, metric] of metrics) {
    const request = requests.get(name);
    if (request === undefined) return new Error(`missing request for pod ${name}`);
    usage += metric.value;
    requested += request;
  }
  if (requested === 0) return new Error('no requests to compute a utilization against');
  const utilization = Math.trunc((usage * 100) / requested);
  return { ratio: utilization / target, utilization, rawAverage: Math.trunc(usage / metrics.size) };
}

function averageRatio(metrics: PodMetrics, target: number): { ratio: number; utilization: number; rawAverage: number } {
  let usage = 0;
  for (const metric of metrics.values()) usage += metric.value;
  const average = usage / metrics.size;
  return { ratio: average / target, utilization: Math.trunc(average), rawAverage: Math.trunc(average) };
}

export interface ResourceReplicasInput {
  currentReplicas: number;
  pods: readonly Pod[];
  metrics: PodMetrics;
  resource: string;
  container?: string;
  /** Utilization (percent of request) or AverageValue (milli-units). */
  target: { type: 'Utilization'; averageUtilization: number } | { type: 'AverageValue'; averageValue: number };
}

/** The proposal of one resource metric, or an Error that says why none can be made. */
export function resourceReplicas(input: ResourceReplicasInput, o: CalculatorOptions): ReplicaProposal | Error {
  if (input.pods.length === 0) return new Error('no pods returned by selector while calculating replica count');
  const metrics: PodMetrics = new Map(input.metrics);
  const groups = groupPods(input.pods, metrics, input.resource, o);
  for (const name of [...groups.ignored, ...groups.unready]) metrics.delete(name);
  if (metrics.size === 0) return new Error('did not receive metrics for targeted pods (pods might be unready)');

  const utilization = input.target.type === 'Utilization';
  const requests = new Map<string, number>();
  if (utilization) {
    for (const pod of input.pods) {
      const request = podRequest(pod, input.resource, input.container);
      if (request instanceof Error) return request;
      requests.set(pod.metadata.name!, request);
    }
  }
  const targetValue = input.target.type === 'Utilization' ? input.target.averageUtilization : input.target.averageValue;
  const measure = (m: PodMetrics) => (utilization ? utilizationRatio(m, requests, targetValue) : averageRatio(m, targetValue));
  const first = measure(metrics);
  if (first instanceof Error) return first;
  const keep = { replicas: input.currentReplicas, utilization: first.utilization, rawAverage: first.rawAverage };
  const withinTolerance = (ratio: number) => Math.abs(1 - ratio) <= o.tolerance;

  const scaleUpWithUnready = groups.unready.size > 0 && first.ratio > 1;
  if (!scaleUpWithUnready && groups.missing.size === 0) {
    if (withinTolerance(first.ratio)) return keep;
    return { ...keep, replicas: Math.ceil(first.ratio * groups.readyCount) };
  }
  const stamp = { timestampMs: o.nowMs, windowMs: 0 };
  for (const name of groups.missing) {
    // Scale-down: a silent pod is taken to use all of its request (the target); scale-up: nothing.
    const fallback = first.ratio < 1 ? (utilization ? requests.get(name) ?? 0 : targetValue) : 0;
    metrics.set(name, { value: fallback, ...stamp });
  }
  if (scaleUpWithUnready) for (const name of groups.unready) metrics.set(name, { value: 0, ...stamp });
  const second = measure(metrics);
  if (second instanceof Error) return second;
  if (withinTolerance(second.ratio) || (first.ratio < 1 && second.ratio > 1) || (first.ratio > 1 && second.ratio < 1)) return keep;
  const replicas = Math.ceil(second.ratio * metrics.size);
  if ((second.ratio < 1 && replicas > input.currentReplicas) || (second.ratio > 1 && replicas < input.currentReplicas)) return keep;
  return { ...keep, replicas };
}
