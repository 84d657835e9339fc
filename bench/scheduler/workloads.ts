// The pods of the scheduler benchmark — scheduler_perf's templates
// (test/integration/scheduler_perf/config/pod-*.yaml) — the speed and scoring
// configurations it compares, and the checks of what the placements mean
// (constraints kept, nodes used).
import type { SpeedOptions } from '../../src/scheduler/framework/equivalence.ts';
import { parseSchedulerConfiguration, type SchedulerConfiguration } from '../../src/scheduler/config.ts';
import { ZONE_LABEL, type PodToCreate } from './cluster.ts';

export const podName = (prefix: string, i: number) => `${prefix}-${String(i).padStart(6, '0')}`;

interface Requests {
  cpu: string;
  memory: string;
}

/** scheduler_perf's pause container, with requests = limits. */
function container(requests: Requests) {
  return {
    name: 'pause',
    image: 'registry.k8s.io/pause:3.10',
    ports: [{ containerPort: 80 }],
    resources: { requests, limits: requests },
  };
}

/** pod-default.yaml: 100m CPU, 500Mi memory. */
export const DEFAULT_REQUESTS: Requests = { cpu: '100m', memory: '500Mi' };

export type Template = 'default' | 'anti-affinity' | 'affinity' | 'spreading';

/** The pod spec and labels of a scheduler_perf template. */
function templateParts(template: Template): { labels?: Record<string, string>; spec: Record<string, unknown> } {
  const namespaces = ['sched-0', 'sched-1'];
  switch (template) {
    case 'default':
      return { spec: {} };
    case 'anti-affinity': // pod-with-pod-anti-affinity.yaml
      return {
        labels: { color: 'green' },
        spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { color: 'green' } }, topologyKey: 'kubernetes.io/hostname', namespaces },
        ] } } },
      };
    case 'affinity': // pod-with-pod-affinity.yaml
      return {
        labels: { color: 'blue' },
        spec: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { color: 'blue' } }, topologyKey: ZONE_LABEL, namespaces },
        ] } } },
      };
    case 'spreading': // pod-with-topology-spreading.yaml
      return {
        labels: { color: 'blue' },
        spec: { topologySpreadConstraints: [
          { maxSkew: 5, topologyKey: ZONE_LABEL, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { color: 'blue' } } },
        ] },
      };
  }
}

export function pods(options: { namespace: string; prefix: string; count: number; template: Template; requests?: (i: number) => Requests }): PodToCreate[] {
  const { labels, spec } = templateParts(options.template);
  return Array.from({ length: options.count }, (_, i) => {
    const name = podName(options.prefix, i);
    const body = JSON.stringify({
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: options.namespace, ...(labels ? { labels } : {}) },
      spec: { ...spec, terminationGracePeriodSeconds: 0, containers: [container(options.requests?.(i) ?? DEFAULT_REQUESTS)] },
    });
    return { namespace: options.namespace, name, body };
  });
}

export const keyOf = (pod: PodToCreate) => `${pod.namespace}/${pod.name}`;

// ---------------------------------------------------------------- speed configurations

export interface SpeedConfig {
  name: string;
  speed: SpeedOptions;
}

export const ALL_ON: SpeedConfig = { name: 'all-on', speed: { equivalenceCache: true, scoreCache: true, adaptiveSampling: true } };
export const ALL_OFF: SpeedConfig = { name: 'all-off', speed: { equivalenceCache: false, scoreCache: false, adaptiveSampling: false } };

/** All on, each technique off alone, all off (the baseline). */
export const SPEED_CONFIGS: readonly SpeedConfig[] = [
  ALL_ON,
  { name: 'equivalenceCache-off', speed: { ...ALL_ON.speed, equivalenceCache: false } },
  { name: 'scoreCache-off', speed: { ...ALL_ON.speed, scoreCache: false } },
  { name: 'adaptiveSampling-off', speed: { ...ALL_ON.speed, adaptiveSampling: false } },
  ALL_OFF,
];

// ---------------------------------------------------------------- packing

/** The mixed workload's sizes (drawn uniformly). */
export const PACKING_SIZES: readonly Requests[] = [
  { cpu: '100m', memory: '128Mi' },
  { cpu: '500m', memory: '512Mi' },
  { cpu: '1', memory: '2Gi' },
  { cpu: '2', memory: '4Gi' },
];

/** Sizes in millicores and MiB, for the offline bound. */
const PACKING_UNITS = [[100, 128], [500, 512], [1000, 2048], [2000, 4096]] as const;

/** xorshift32 with a fixed seed: the same sizes on every run. */
export function seededSizes(count: number, seed = 0x5eed1234): number[] {
  let x = seed >>> 0;
  return Array.from({ length: count }, () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x % PACKING_SIZES.length;
  });
}

export interface PackingConfig {
  name: string;
  /** Why it is here (goes into the JSON line). */
  description: string;
  config: SchedulerConfiguration;
}

const fitConfig = (strategy: string, extra = '') => parseSchedulerConfiguration(`
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
${extra}
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
${strategy.trim().split('\n').map((l) => `        ${l}`).join('\n')}
`);

/**
 * NodeResourcesFit scoring strategies over the default plugin set (so
 * BalancedAllocation, weight 1, still scores beside Fit, as in a stock
 * profile). The hybrid is a RequestedToCapacityRatio shape that rises
 * linearly to its top score at 80 % utilisation and falls back to 0 at 100 %:
 * used nodes attract pods as under MostAllocated (consolidation), but a pod
 * that would push a node far past 80 % scores no better there than on an
 * empty node, so nodes are filled to roughly 80–95 % and then left with
 * headroom — for pods that use more than they request, or that are resized —
 * instead of to the brim. It trades a few more nodes for that headroom. CPU
 * weighs 3 to memory's 1: the score averages the resources, and in this
 * workload memory fills at half CPU's pace, so with equal weights a node whose
 * CPU is full still looks half-empty and keeps attracting pods.
 */
export const PACKING_CONFIGS: readonly PackingConfig[] = [
  {
    name: 'LeastAllocated',
    description: 'default scoring: spread requests over the least-requested nodes',
    config: fitConfig(`type: LeastAllocated\nresources: [{name: cpu, weight: 1}, {name: memory, weight: 1}]`),
  },
  {
    name: 'MostAllocated',
    description: 'bin packing: prefer the most-requested nodes',
    config: fitConfig(`type: MostAllocated\nresources: [{name: cpu, weight: 1}, {name: memory, weight: 1}]`),
  },
  {
    name: 'RequestedToCapacityRatio-peak-at-80',
    description: 'hybrid: shape 0%→0, 80%→10, 100%→0, cpu weight 3, memory 1 (consolidate, but keep headroom on each node)',
    config: fitConfig(`type: RequestedToCapacityRatio
resources: [{name: cpu, weight: 3}, {name: memory, weight: 1}]
requestedToCapacityRatio:
  shape:
  - {utilization: 0, score: 0}
  - {utilization: 80, score: 10}
  - {utilization: 100, score: 0}`),
  },
  {
    name: 'MostAllocated-score-all-nodes',
    description: 'MostAllocated with percentageOfNodesToScore: 100 (no sampling: every feasible node is scored)',
    config: fitConfig(`type: MostAllocated\nresources: [{name: cpu, weight: 1}, {name: memory, weight: 1}]`, 'percentageOfNodesToScore: 100'),
  },
];

/**
 * Nodes an offline first-fit-decreasing packing needs for the same pods (a
 * reference, near the optimum for items this small): sizes sorted large to
 * small, each into the first node with room for its CPU, memory and pod count.
 */
export function firstFitDecreasing(sizes: readonly number[], node: { milliCpu: number; memoryMiB: number; pods: number }): number {
  const sorted = [...sizes].sort((a, b) => b - a);
  const free: { cpu: number; mem: number; pods: number }[] = [];
  for (const s of sorted) {
    const [cpu, mem] = PACKING_UNITS[s]!;
    let target = free.find((n) => n.cpu >= cpu && n.mem >= mem && n.pods >= 1);
    if (!target) {
      target = { cpu: node.milliCpu, mem: node.memoryMiB, pods: node.pods };
      free.push(target);
    }
    target.cpu -= cpu;
    target.mem -= mem;
    target.pods -= 1;
  }
  return free.length;
}

/** Requested CPU share of the nodes that got pods: the mean, and how many are ≥ 95 % (no headroom left). */
export function cpuOfUsedNodes(sizes: readonly number[], nodeOfPod: readonly string[], nodeMilliCpu: number): { mean: number; over95: number } {
  const perNode = new Map<string, number>();
  sizes.forEach((s, i) => perNode.set(nodeOfPod[i]!, (perNode.get(nodeOfPod[i]!) ?? 0) + PACKING_UNITS[s]![0]));
  let sum = 0;
  let over95 = 0;
  for (const v of perNode.values()) {
    sum += v / nodeMilliCpu;
    if (v / nodeMilliCpu >= 0.95) over95++;
  }
  return { mean: perNode.size ? sum / perNode.size : 0, over95 };
}

// ---------------------------------------------------------------- constraint checks

export interface ConstraintCheck {
  /** Pods placed against the constraint (see each case). */
  violations: number;
  detail: Record<string, number>;
}

/** Hostname anti-affinity among all color=green pods: nodes holding more than one. */
export function checkAntiAffinity(nodes: readonly string[]): ConstraintCheck {
  const perNode = new Map<string, number>();
  for (const n of nodes) perNode.set(n, (perNode.get(n) ?? 0) + 1);
  let violations = 0;
  let max = 0;
  for (const c of perNode.values()) {
    if (c > 1) violations += c - 1;
    max = Math.max(max, c);
  }
  return { violations, detail: { nodes_used: perNode.size, max_pods_per_node: max } };
}

/** Required zone affinity among all color=blue pods placed one after another: every pod in one zone. */
export function checkAffinity(nodes: readonly string[], zones: ReadonlyMap<string, string>): ConstraintCheck {
  const perZone = counts(nodes.map((n) => zones.get(n) ?? ''));
  const biggest = Math.max(0, ...perZone.values());
  return { violations: nodes.length - biggest, detail: { zones_used: perZone.size } };
}

/** maxSkew 5 over zones (every zone is eligible) among the measured color=blue pods. */
export function checkSpreading(nodes: readonly string[], zones: ReadonlyMap<string, string>, maxSkew: number): ConstraintCheck {
  const perZone = counts(nodes.map((n) => zones.get(n) ?? ''));
  for (const z of new Set(zones.values())) if (!perZone.has(z)) perZone.set(z, 0);
  const values = [...perZone.values()];
  const skew = values.length ? Math.max(...values) - Math.min(...values) : 0;
  return { violations: skew > maxSkew ? skew - maxSkew : 0, detail: { max_skew: skew, zones: perZone.size } };
}

function counts(values: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) out.set(v, (out.get(v) ?? 0) + 1);
  return out;
}
