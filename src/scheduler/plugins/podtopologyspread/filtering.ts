// PodTopologySpread, hard constraints (whenUnsatisfiable: DoNotSchedule).
//
// PreFilter counts, per constraint, the matching pods in every topology
// domain (the values of the topology key over the nodes that count), and
// keeps the smallest count up to date; Filter is then O(constraints) per
// node: a node fails when putting the pod in its domain would leave it more
// than maxSkew above the emptiest domain (taken as 0 while fewer than
// minDomains domains exist). AddPod/RemovePod keep the counts right for
// preemption's and nominated pods' what-ifs.
import type { CycleState, StateData } from '../../framework/cycle-state.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import { hasAllTopologyKeys, labelValue, NodeInclusion, type Constraint } from './common.ts';

/**
 * Matching pods per domain for one constraint, plus how many domains hold
 * each count, so the minimum stays exact in O(1) per change (preemption
 * changes one pod at a time). Copy-on-write: preemption clones the cycle
 * state once per candidate node, and most victims do not touch the counts.
 */
export class DomainCounts {
  #counts: Map<string, number>;
  #histogram: Map<number, number>;
  #min: number;
  #shared = false;

  constructor(counts = new Map<string, number>(), histogram = new Map<number, number>(), min = Infinity) {
    this.#counts = counts;
    this.#histogram = histogram;
    this.#min = min;
  }

  /** Builds the histogram and minimum once all domains are counted. */
  static from(counts: Map<string, number>): DomainCounts {
    const histogram = new Map<number, number>();
    let min = Infinity;
    for (const n of counts.values()) {
      histogram.set(n, (histogram.get(n) ?? 0) + 1);
      if (n < min) min = n;
    }
    return new DomainCounts(counts, histogram, min);
  }

  get(domain: string): number {
    return this.#counts.get(domain) ?? 0;
  }

  /** Number of domains (nodes that count, by distinct topology value). */
  get size(): number {
    return this.#counts.size;
  }

  /** The smallest count over all domains (Infinity when there are none). */
  get min(): number {
    return this.#min;
  }

  add(domain: string, delta: number): void {
    if (this.#shared) {
      this.#counts = new Map(this.#counts);
      this.#histogram = new Map(this.#histogram);
      this.#shared = false;
    }
    let old = this.#counts.get(domain);
    if (old === undefined) {
      old = 0;
      this.#bump(0, 1);
      if (this.#min > 0) this.#min = 0;
    }
    const next = old + delta;
    this.#counts.set(domain, next);
    this.#bump(old, -1);
    this.#bump(next, 1);
    if (next < this.#min) this.#min = next;
    else if (old === this.#min && !this.#histogram.has(old)) {
      // The domain that held the minimum alone grew: the next smallest count takes over.
      let m = Infinity;
      for (const n of this.#histogram.keys()) if (n < m) m = n;
      this.#min = m;
    }
  }

  #bump(count: number, by: number): void {
    const n = (this.#histogram.get(count) ?? 0) + by;
    if (n === 0) this.#histogram.delete(count);
    else this.#histogram.set(count, n);
  }

  clone(): DomainCounts {
    this.#shared = true;
    const c = new DomainCounts(this.#counts, this.#histogram, this.#min);
    c.#shared = true;
    return c;
  }
}

export class SpreadFilterState implements StateData {
  readonly constraints: readonly Constraint[];
  /** Whether the incoming pod itself matches each constraint's selector (it adds one to its domain). */
  readonly selfMatch: readonly number[];
  readonly inclusion: NodeInclusion;
  readonly namespace: string;
  domains: DomainCounts[];

  constructor(options: { pod: PodInfo; constraints: readonly Constraint[]; inclusion: NodeInclusion; domains: DomainCounts[] }) {
    this.constraints = options.constraints;
    this.selfMatch = options.constraints.map((c) => (c.selector.matches(options.pod.labels) ? 1 : 0));
    this.inclusion = options.inclusion;
    this.namespace = options.pod.namespace;
    this.domains = options.domains;
  }

  /** The emptiest domain's count for skew, or 0 while fewer than minDomains domains exist. */
  minMatch(i: number): number {
    const d = this.domains[i]!;
    return d.size < this.constraints[i]!.minDomains ? 0 : d.min;
  }

  /** AddPod/RemovePod: `pod` appears on or leaves `ni`. */
  update(pod: PodInfo, ni: NodeInfo, delta: number): void {
    if (pod.namespace !== this.namespace || !ni.node) return;
    const labels = ni.labels;
    if (!hasAllTopologyKeys(labels, this.constraints)) return;
    for (let i = 0; i < this.constraints.length; i++) {
      const c = this.constraints[i]!;
      if (!c.selector.matches(pod.labels) || !this.inclusion.matches(c, ni)) continue;
      this.domains[i]!.add(labels[c.topologyKey]!, delta);
    }
  }

  clone(): SpreadFilterState {
    const c = Object.create(SpreadFilterState.prototype) as SpreadFilterState;
    Object.assign(c, this);
    c.domains = this.domains.map((d) => d.clone());
    return c;
  }
}

/** Counts every domain; `count(i, ni)` is the number of pods on ni matching constraint i. */
export function computeFilterState(options: {
  pod: PodInfo;
  constraints: readonly Constraint[];
  nodes: readonly NodeInfo[];
  count: (i: number, ni: NodeInfo) => number;
}): SpreadFilterState {
  const { pod, constraints, nodes, count } = options;
  const inclusion = new NodeInclusion(pod);
  const maps = constraints.map(() => new Map<string, number>());
  for (const ni of nodes) {
    if (!ni.node) continue;
    const labels = ni.labels;
    if (!hasAllTopologyKeys(labels, constraints)) continue;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      if (!inclusion.matches(c, ni)) continue;
      const v = labels[c.topologyKey]!;
      const m = maps[i]!;
      // A domain with no matching pod still counts as a domain (it is the emptiest one).
      m.set(v, (m.get(v) ?? 0) + count(i, ni));
    }
  }
  return new SpreadFilterState({ pod, constraints, inclusion, domains: maps.map((m) => DomainCounts.from(m)) });
}

export function filterNode(s: SpreadFilterState, ni: NodeInfo, statuses: { missingLabel: Status; skew: Status }): PluginResult {
  const labels = ni.labels;
  const constraints = s.constraints;
  for (let i = 0; i < constraints.length; i++) {
    const c = constraints[i]!;
    const v = labelValue(labels, c.topologyKey);
    if (v === undefined) return statuses.missingLabel;
    const skew = s.domains[i]!.get(v) + s.selfMatch[i]! - s.minMatch(i);
    if (skew > c.maxSkew) return statuses.skew;
  }
  return undefined;
}

export const readFilterState = (state: CycleState, key: string): SpreadFilterState | undefined => state.read<SpreadFilterState>(key);
