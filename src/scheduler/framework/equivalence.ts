// Borg's equivalence classes and score caching. Pods whose scheduling-relevant
// spec is identical (the replicas of one ReplicaSet, typically) get the same
// Filter verdict and the same raw Score on a node as long as that node did
// not change, so both are stored per class and per node, stamped with the
// node's generation. A node change gives it a new generation, which makes
// its entries stale without any explicit invalidation.
//
// Plugins that read more than the pod's spec and the node (see Reads in
// interface.ts) shape the cache: `podLabels` adds labels and namespace to the
// class key, `otherNodes` makes Filter entries valid only for one snapshot
// generation (and keeps that plugin's scores out of the cache), `nodeSet`
// ties entries to the node-set generation.
import type { PodInfo } from './pod-info.ts';
import type { Status } from './status.ts';
import type { Pod } from './types.ts';

/** The speed techniques, each switchable for benchmarks. */
export interface SpeedOptions {
  /** Share Filter verdicts between pods of one equivalence class until the node changes. */
  equivalenceCache: boolean;
  /** Reuse raw Score values per (class, node generation). */
  scoreCache: boolean;
  /** Stop filtering after numFeasibleNodesToFind; off = filter and score every node. */
  adaptiveSampling: boolean;
}

export const defaultSpeedOptions: Readonly<SpeedOptions> = Object.freeze({
  equivalenceCache: true,
  scoreCache: true,
  adaptiveSampling: true,
});

const baseKeys = new WeakMap<Pod, string>();

/**
 * A string equal for two pods exactly when every spec field a scheduling
 * plugin reads is equal: requests (containers, init containers, overhead,
 * pod-level), images, host ports, nodeSelector, affinity, tolerations,
 * topology spread constraints, scheduler name, priority, nodeName, claimed
 * volumes. The namespace joins when the pod has pod-(anti-)affinity or
 * spread constraints, whose terms default to it.
 */
export function equivalenceKey(pod: Pod): string {
  const hit = baseKeys.get(pod);
  if (hit !== undefined) return hit;
  const spec = pod.spec ?? {};
  const container = (c: NonNullable<typeof spec.containers>[number]) => [
    c.image ?? '',
    c.resources?.requests ?? null,
    c.restartPolicy ?? '',
    (c.ports ?? []).filter((p) => p.hostPort).map((p) => [p.hostPort, p.hostIP ?? '', p.protocol ?? '']),
  ];
  const namespaced = !!(spec.affinity?.podAffinity || spec.affinity?.podAntiAffinity || spec.topologySpreadConstraints?.length);
  const key = JSON.stringify([
    spec.schedulerName ?? '',
    spec.priority ?? 0,
    spec.nodeName ?? '',
    spec.nodeSelector ?? null,
    spec.affinity ?? null,
    spec.tolerations ?? null,
    spec.topologySpreadConstraints ?? null,
    (spec.containers ?? []).map(container),
    (spec.initContainers ?? []).map(container),
    spec.overhead ?? null,
    spec.resources?.requests ?? null,
    (spec.volumes ?? []).map((v) => v.persistentVolumeClaim?.claimName ?? (v.ephemeral ? v.name : null)).filter((v) => v),
    namespaced ? (pod.metadata.namespace ?? 'default') : '',
  ]);
  baseKeys.set(pod, key);
  return key;
}

/** The class key with the pod's identity-ish fields, for when a plugin that reads them is active. */
export function keyWithLabels(pod: PodInfo): string {
  return `${equivalenceKey(pod.pod)}|${pod.namespace}|${JSON.stringify(Object.entries(pod.labels).sort())}`;
}

/** Per-class storage of Filter verdicts and raw scores, indexed by NodeInfo.slot. */
export class EquivalenceClass {
  readonly key: string;
  /** Generation each slot's filter entry was computed at (0: none). */
  filterGen = new Float64Array(0);
  /** null: the node passed. */
  filterStatus: Array<Status | null> = [];
  /** Snapshot generations the filter entries depend on (-1: not depended on). */
  filterToken: [number, number] = [-1, -1];
  scoreGen = new Float64Array(0);
  /** slot * scoreWidth + index of the cached score plugin. */
  scores = new Float64Array(0);
  scoreWidth: number;
  scoreToken = -1;

  constructor(key: string, scoreWidth: number) {
    this.key = key;
    this.scoreWidth = scoreWidth;
  }

  ensureCapacity(slots: number): void {
    if (this.filterGen.length >= slots) return;
    const size = Math.max(slots, this.filterGen.length * 2, 16);
    const grow = (old: Float64Array, n: number) => {
      const next = new Float64Array(n);
      next.set(old);
      return next;
    };
    this.filterGen = grow(this.filterGen, size);
    this.scoreGen = grow(this.scoreGen, size);
    this.scores = grow(this.scores, size * this.scoreWidth);
    this.filterStatus.length = size;
  }

  /** Drops filter entries unless they were made under the same snapshot generations. */
  checkFilterToken(clusterGen: number, nodeSetGen: number): void {
    if (this.filterToken[0] === clusterGen && this.filterToken[1] === nodeSetGen) return;
    this.filterGen.fill(0);
    this.filterToken = [clusterGen, nodeSetGen];
  }

  checkScoreToken(nodeSetGen: number): void {
    if (this.scoreToken === nodeSetGen) return;
    this.scoreGen.fill(0);
    this.scoreToken = nodeSetGen;
  }
}

export interface CacheStats {
  classes: number;
  filterHits: number;
  filterMisses: number;
  scoreHits: number;
  scoreMisses: number;
}

/** A bounded map of classes, least recently used dropped first. */
export class EquivalenceCache {
  readonly #classes = new Map<string, EquivalenceClass>();
  readonly #maxClasses: number;
  readonly #scoreWidth: number;
  readonly stats: CacheStats = { classes: 0, filterHits: 0, filterMisses: 0, scoreHits: 0, scoreMisses: 0 };

  constructor(options: { scoreWidth: number; maxClasses?: number }) {
    this.#scoreWidth = options.scoreWidth;
    this.#maxClasses = options.maxClasses ?? 512;
  }

  classFor(key: string, slots: number): EquivalenceClass {
    let c = this.#classes.get(key);
    if (c) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.#classes.delete(key);
    } else {
      c = new EquivalenceClass(key, this.#scoreWidth);
      if (this.#classes.size >= this.#maxClasses) this.#classes.delete(this.#classes.keys().next().value!);
    }
    this.#classes.set(key, c);
    c.ensureCapacity(slots);
    this.stats.classes = this.#classes.size;
    return c;
  }

  clear(): void {
    this.#classes.clear();
    this.stats.classes = 0;
  }
}
