// PodTopologySpread, soft constraints (whenUnsatisfiable: ScheduleAnyway, and
// the cluster defaults). A node scores the matching pods already in its
// domains, each constraint weighted by log(number of domains + 2) so a
// constraint over few big domains does not drown one over many small ones,
// plus maxSkew-1 to soften small differences; NormalizeScore turns "fewer is
// better" into 0..100. PreScore counts the non-hostname domains once over
// all nodes; hostname domains are a single node, counted in Score.
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { MAX_NODE_SCORE } from '../../framework/interface.ts';
import { hasAllTopologyKeys, labelValue, LABEL_HOSTNAME, NodeInclusion, type Constraint } from './common.ts';

export interface SpreadScoreState {
  constraints: readonly Constraint[];
  /** Feasible nodes missing a topology key (scored 0, and 0 after normalising). */
  ignored: ReadonlySet<string>;
  /** Per constraint: matching pods per domain (empty for hostname constraints). */
  counts: Array<Map<string, number>>;
  weights: number[];
  /** Per constraint: matching pods on one node (memoised counter). */
  count: (i: number, ni: NodeInfo) => number;
}

export function computeScoreState(options: {
  pod: PodInfo;
  constraints: readonly Constraint[];
  /** False for the system defaults only: then nodes without a zone label still spread by hostname. */
  requireAllTopologies: boolean;
  feasible: readonly NodeInfo[];
  allNodes: readonly NodeInfo[];
  count: (i: number, ni: NodeInfo) => number;
}): SpreadScoreState {
  const { constraints, requireAllTopologies, feasible, allNodes, count } = options;
  const ignored = new Set<string>();
  const counts = constraints.map(() => new Map<string, number>());
  const sizes = constraints.map(() => 0);
  for (const ni of feasible) {
    const labels = ni.labels;
    if (requireAllTopologies && !hasAllTopologyKeys(labels, constraints)) {
      ignored.add(ni.name);
      continue;
    }
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      if (c.topologyKey === LABEL_HOSTNAME) continue;
      const v = labelValue(labels, c.topologyKey) ?? '';
      const m = counts[i]!;
      if (!m.has(v)) {
        m.set(v, 0);
        sizes[i]!++;
      }
    }
  }
  const weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? feasible.length - ignored.size : sizes[i]!) + 2));

  // Pods on every node count, feasible or not, but only in domains some feasible node is in.
  const inclusion = new NodeInclusion(options.pod);
  for (const ni of allNodes) {
    const labels = ni.labels;
    if (requireAllTopologies && !hasAllTopologyKeys(labels, constraints)) continue;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      const m = counts[i]!;
      if (m.size === 0) continue;
      const v = labelValue(labels, c.topologyKey) ?? '';
      const old = m.get(v);
      if (old === undefined || !inclusion.matches(c, ni)) continue;
      m.set(v, old + count(i, ni));
    }
  }
  return { constraints, ignored, counts, weights, count };
}

export function scoreNode(s: SpreadScoreState, ni: NodeInfo): number {
  if (s.ignored.has(ni.name)) return 0;
  const labels = ni.labels;
  let score = 0;
  for (let i = 0; i < s.constraints.length; i++) {
    const c = s.constraints[i]!;
    const v = labelValue(labels, c.topologyKey);
    if (v === undefined) continue;
    const n = c.topologyKey === LABEL_HOSTNAME ? s.count(i, ni) : (s.counts[i]!.get(v) ?? 0);
    score += n * s.weights[i]! + (c.maxSkew - 1);
  }
  return Math.round(score);
}

/** Fewest matching pods → 100; ignored nodes → 0. */
export function normalize(s: SpreadScoreState, scores: Float64Array, nodes: readonly NodeInfo[]): void {
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < scores.length; i++) {
    if (s.ignored.has(nodes[i]!.name)) continue;
    const v = scores[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  for (let i = 0; i < scores.length; i++) {
    if (s.ignored.has(nodes[i]!.name)) {
      scores[i] = 0;
      continue;
    }
    scores[i] = max === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (max + min - scores[i]!)) / max);
  }
}
