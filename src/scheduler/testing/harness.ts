// A test harness in the spirit of Nomad's: build nodes and pods from small
// specs, run one scheduling decision on in-memory state, read the chosen
// node or the failure message. Deterministic: node order and tie breaks use
// a seeded random source.
import { SchedulerCache } from '../cache/cache.ts';
import { parseSchedulerConfiguration, type ProfileConfig } from '../config.ts';
import type { SpeedOptions } from '../framework/equivalence.ts';
import type { Diagnosis } from '../framework/explain.ts';
import type { DataProviders, Nominator } from '../framework/interface.ts';
import type { OwnerReference } from '../../client/interface.ts';
import type { Framework } from '../framework/runtime.ts';
import type { ScheduleResult } from '../framework/cycle.ts';
import type { Status } from '../framework/status.ts';
import type { Affinity, ContainerPort, Node, Pod, ResourceList, Taint, Toleration, TopologySpreadConstraint } from '../framework/types.ts';
import { buildFramework } from '../profile.ts';
import type { Registry } from '../registry.ts';

/** mulberry32: a tiny seeded PRNG, good enough for shuffles and tie breaks. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NodeSpec {
  name: string;
  cpu?: string | number;
  memory?: string | number;
  ephemeralStorage?: string | number;
  /** Allowed pods; 110 by default. */
  pods?: number;
  /** Extended resources, e.g. {"example.com/gpu": 2}. */
  extended?: ResourceList;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: Array<{ names: string[]; sizeBytes: number }>;
}

export function makeNode(spec: NodeSpec): Node {
  const allocatable: ResourceList = { cpu: spec.cpu ?? '4', memory: spec.memory ?? '8Gi', pods: spec.pods ?? 110, ...spec.extended };
  if (spec.ephemeralStorage !== undefined) allocatable['ephemeral-storage'] = spec.ephemeralStorage;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: spec.name, uid: `node-${spec.name}`, labels: { 'kubernetes.io/hostname': spec.name, ...spec.labels } },
    spec: { taints: spec.taints, unschedulable: spec.unschedulable },
    status: { capacity: allocatable, allocatable, images: spec.images },
  };
}

export interface ContainerSpec {
  cpu?: string | number;
  memory?: string | number;
  ephemeralStorage?: string | number;
  extended?: ResourceList;
  image?: string;
  ports?: ContainerPort[];
  /** "Always" on an init container makes it a sidecar. */
  restartPolicy?: string;
}

export interface PodSpecLite extends ContainerSpec {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  /** Replaces the single container built from the top-level resource fields. */
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
  overhead?: ResourceList;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  priority?: number;
  nodeName?: string;
  nominatedNodeName?: string;
  schedulingGates?: string[];
  /** Creation order for queue tests. */
  creationTimestamp?: string;
  /** "Never" keeps the pod from preempting others. */
  preemptionPolicy?: string;
  /** status.startTime (preemption prefers victims that started later). */
  startTime?: string;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
}

function container(c: ContainerSpec, i: number) {
  const requests: ResourceList = { ...c.extended };
  if (c.cpu !== undefined) requests.cpu = c.cpu;
  if (c.memory !== undefined) requests.memory = c.memory;
  if (c.ephemeralStorage !== undefined) requests['ephemeral-storage'] = c.ephemeralStorage;
  return {
    name: `c${i}`,
    image: c.image ?? 'registry.example/app:1',
    resources: Object.keys(requests).length ? { requests } : {},
    ...(c.ports ? { ports: c.ports } : {}),
    ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
  };
}

export function makePod(spec: PodSpecLite): Pod {
  const namespace = spec.namespace ?? 'default';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: spec.name, namespace, uid: spec.uid ?? `uid-${namespace}-${spec.name}`, labels: spec.labels,
      creationTimestamp: spec.creationTimestamp,
      ...(spec.ownerReferences ? { ownerReferences: spec.ownerReferences } : {}),
      ...(spec.deletionTimestamp ? { deletionTimestamp: spec.deletionTimestamp } : {}),
    },
    spec: {
      schedulerName: 'default-scheduler',
      containers: (spec.containers ?? [spec]).map(container),
      ...(spec.initContainers ? { initContainers: spec.initContainers.map(container) } : {}),
      ...(spec.overhead ? { overhead: spec.overhead } : {}),
      ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.affinity ? { affinity: spec.affinity } : {}),
      ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
      ...(spec.topologySpreadConstraints ? { topologySpreadConstraints: spec.topologySpreadConstraints } : {}),
      ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
      ...(spec.preemptionPolicy ? { preemptionPolicy: spec.preemptionPolicy } : {}),
      ...(spec.nodeName ? { nodeName: spec.nodeName } : {}),
      ...(spec.schedulingGates ? { schedulingGates: spec.schedulingGates.map((name) => ({ name })) } : {}),
    },
    status: {
      phase: 'Pending',
      ...(spec.nominatedNodeName ? { nominatedNodeName: spec.nominatedNodeName } : {}),
      ...(spec.startTime ? { startTime: spec.startTime } : {}),
    },
  };
}

export interface HarnessOptions {
  nodes?: Array<NodeSpec | Node>;
  /** Pods already bound (they need nodeName). */
  pods?: Array<PodSpecLite | Pod>;
  /** A profile, or KubeSchedulerConfiguration YAML whose first profile is used. */
  profile?: ProfileConfig | string;
  registry?: Registry;
  speed?: Partial<SpeedOptions>;
  percentageOfNodesToScore?: number;
  nominator?: Nominator;
  /** PDBs, Services, ReplicaSets… for DefaultPreemption and PodTopologySpread's default constraints. */
  data?: DataProviders;
  seed?: number;
}

const asNode = (n: NodeSpec | Node): Node => ('metadata' in n ? n : makeNode(n));
const asPod = (p: PodSpecLite | Pod): Pod => ('metadata' in p ? p : makePod(p));

/** A cache and a framework wired together, for several cycles in a row. */
export class Harness {
  readonly cache: SchedulerCache;
  readonly fw: Framework & { missingPlugins: string[] };

  constructor(options: HarnessOptions = {}) {
    const random = seededRandom(options.seed ?? 1);
    this.cache = new SchedulerCache({ random });
    let profile: ProfileConfig | undefined;
    let percentage = options.percentageOfNodesToScore;
    if (typeof options.profile === 'string') {
      const cfg = parseSchedulerConfiguration(options.profile);
      profile = cfg.profiles[0];
      percentage ??= cfg.percentageOfNodesToScore;
    } else {
      profile = options.profile;
    }
    this.fw = buildFramework(profile, {
      registry: options.registry, speed: options.speed, random, nominator: options.nominator, percentageOfNodesToScore: percentage,
      data: options.data,
    });
    for (const n of options.nodes ?? []) this.cache.addNode(asNode(n));
    for (const p of options.pods ?? []) this.cache.addPod(asPod(p));
  }

  addNode(n: NodeSpec | Node): void {
    this.cache.addNode(asNode(n));
  }

  addPod(p: PodSpecLite | Pod): void {
    this.cache.addPod(asPod(p));
  }

  schedule(p: PodSpecLite | Pod): ScheduleResult {
    return this.fw.schedule(asPod(p), this.cache);
  }

  /** Schedules and, on success, assumes the pod onto the chosen node (as the scheduler loop does). */
  scheduleAndAssume(p: PodSpecLite | Pod): ScheduleResult {
    const pod = asPod(p);
    const r = this.fw.schedule(pod, this.cache);
    if (r.node !== undefined) this.cache.assumePod(r.podInfo, r.node);
    return r;
  }
}

export type Outcome = { node: string } | { node?: undefined; message: string; status: Status; diagnosis: Diagnosis };

/** One decision: where `pod` goes given `nodes` and bound `pods`, or why it goes nowhere. */
export function scheduleOne(options: HarnessOptions & { pod: PodSpecLite | Pod }): Outcome {
  const r = new Harness(options).schedule(options.pod);
  return r.node !== undefined ? { node: r.node } : { message: r.message, status: r.status, diagnosis: r.diagnosis };
}
