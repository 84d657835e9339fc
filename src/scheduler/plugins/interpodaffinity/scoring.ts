// InterPodAffinity, preferred terms. PreScore sums weights per topology pair:
// + the incoming pod's preferred affinity terms for every existing pod they
//   select, − its preferred anti-affinity terms likewise;
// + hardPodAffinityWeight for every existing pod whose *required* affinity
//   selects the incoming pod (so pods that must be near it are drawn to it),
// ± existing pods' preferred (anti-)affinity terms that select it.
// A node's score is the sum over its labels' pairs; NormalizeScore maps
// [min, max] onto [0, 100]. Without preferred terms of its own the pod only
// needs the nodes holding pods with affinity terms.
import { MAX_NODE_SCORE } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo, WeightedAffinityTerm } from '../../framework/pod-info.ts';
import { labelValue, termSelects, type NamespaceLabels } from './common.ts';

/** topologyKey → value → summed weight. */
export type TopologyScores = Map<string, Map<string, number>>;

function addScore(scores: TopologyScores, key: string, value: string, weight: number): void {
  let values = scores.get(key);
  if (!values) scores.set(key, (values = new Map()));
  values.set(value, (values.get(value) ?? 0) + weight);
}

/** Adds `sign * weight` for each term selecting `target` whose key the node has. */
function processTerms(
  scores: TopologyScores, terms: readonly WeightedAffinityTerm[], target: PodInfo, labels: Readonly<Record<string, string>>,
  nsLabels: NamespaceLabels, sign: number,
): void {
  for (const t of terms) {
    const v = labelValue(labels, t.topologyKey);
    if (v !== undefined && termSelects(t, target, nsLabels)) addScore(scores, t.topologyKey, v, sign * t.weight);
  }
}

export function computeTopologyScores(options: {
  pod: PodInfo;
  /** All nodes when the pod has preferred terms, else only nodes holding pods with affinity terms. */
  nodes: readonly NodeInfo[];
  hardPodAffinityWeight: number;
  nsLabels: NamespaceLabels;
  /** Pods on ni the incoming pod's preferred affinity (j < nAffinity) or anti-affinity term selects (memoised). */
  countPreferred: (j: number, ni: NodeInfo) => number;
}): TopologyScores {
  const { pod, nodes, hardPodAffinityWeight, nsLabels, countPreferred } = options;
  const scores: TopologyScores = new Map();
  const aff = pod.preferredAffinityTerms;
  const anti = pod.preferredAntiAffinityTerms;
  const own = aff.length + anti.length > 0;
  for (const ni of nodes) {
    if (!ni.node || ni.pods.length === 0) continue;
    const labels = ni.labels;
    // Pods on a node without labels cannot share a domain with anything.
    if (Object.keys(labels).length === 0) continue;
    if (own) {
      for (let j = 0; j < aff.length + anti.length; j++) {
        const t = j < aff.length ? aff[j]! : anti[j - aff.length]!;
        const v = labelValue(labels, t.topologyKey);
        if (v === undefined) continue;
        const n = countPreferred(j, ni);
        if (n > 0) addScore(scores, t.topologyKey, v, (j < aff.length ? 1 : -1) * t.weight * n);
      }
    }
    for (const existing of ni.podsWithAffinity) {
      if (hardPodAffinityWeight > 0) {
        for (const t of existing.requiredAffinityTerms) {
          const v = labelValue(labels, t.topologyKey);
          if (v !== undefined && termSelects(t, pod, nsLabels)) addScore(scores, t.topologyKey, v, hardPodAffinityWeight);
        }
      }
      processTerms(scores, existing.preferredAffinityTerms, pod, labels, nsLabels, 1);
      processTerms(scores, existing.preferredAntiAffinityTerms, pod, labels, nsLabels, -1);
    }
  }
  return scores;
}

export function scoreNode(scores: TopologyScores, ni: NodeInfo): number {
  const labels = ni.labels;
  let score = 0;
  for (const [key, values] of scores) {
    const v = labelValue(labels, key);
    if (v !== undefined) score += values.get(v) ?? 0;
  }
  return score;
}

/** [min, max] → [0, 100]; all equal → 0. */
export function normalize(scores: Float64Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (const s of scores) {
    if (s > max) max = s;
    if (s < min) min = s;
  }
  const diff = max - min;
  for (let i = 0; i < scores.length; i++) {
    // The same operation order as upstream, so float rounding agrees: 100 * (x / diff).
    scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i]! - min) / diff)) : 0;
  }
}
