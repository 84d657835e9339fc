// InterPodAffinity, required terms. PreFilter counts per topology pair:
//  - existing pods whose required anti-affinity selects the incoming pod
//    (only nodes holding such pods are visited);
//  - existing pods the incoming pod's required affinity selects (all terms);
//  - existing pods each of its required anti-affinity terms selects.
// Filter then checks a node's pairs in O(terms + labels).
import type { StateData } from '../../framework/cycle-state.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { AffinityTerm, PodInfo } from '../../framework/pod-info.ts';
import type { NamespaceLabels } from './common.ts';
import { allTermsSelect, labelValue, termSelects, TopologyCounts } from './common.ts';

export const ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules";

export class AffinityFilterState implements StateData {
  readonly pod: PodInfo;
  readonly nsLabels: NamespaceLabels;
  /** Pairs where existing pods' required anti-affinity selects the incoming pod. */
  existingAntiAffinity: TopologyCounts;
  /** Pairs with existing pods matching all of the incoming pod's required affinity terms. */
  affinity: TopologyCounts;
  /** Pairs with existing pods matching one of its required anti-affinity terms. */
  antiAffinity: TopologyCounts;

  constructor(options: { pod: PodInfo; nsLabels: NamespaceLabels; existingAntiAffinity: TopologyCounts; affinity: TopologyCounts; antiAffinity: TopologyCounts }) {
    this.pod = options.pod;
    this.nsLabels = options.nsLabels;
    this.existingAntiAffinity = options.existingAntiAffinity;
    this.affinity = options.affinity;
    this.antiAffinity = options.antiAffinity;
  }

  /** AddPod/RemovePod: `other` appears on or leaves `ni`. */
  update(other: PodInfo, ni: NodeInfo, delta: number): void {
    const labels = ni.labels;
    for (const t of other.requiredAntiAffinityTerms) {
      if (termSelects(t, this.pod, this.nsLabels)) this.existingAntiAffinity.addForTerms([t], labels, delta);
    }
    const aff = this.pod.requiredAffinityTerms;
    if (allTermsSelect(aff, other, this.nsLabels)) this.affinity.addForTerms(aff, labels, delta);
    for (const t of this.pod.requiredAntiAffinityTerms) {
      if (termSelects(t, other, this.nsLabels)) this.antiAffinity.addForTerms([t], labels, delta);
    }
  }

  clone(): AffinityFilterState {
    return new AffinityFilterState({
      pod: this.pod,
      nsLabels: this.nsLabels,
      existingAntiAffinity: this.existingAntiAffinity.clone(),
      affinity: this.affinity.clone(),
      antiAffinity: this.antiAffinity.clone(),
    });
  }
}

/** Existing pods' required anti-affinity against the incoming pod, over the nodes that hold such pods. */
export function existingAntiAffinityCounts(pod: PodInfo, nodes: readonly NodeInfo[], nsLabels: NamespaceLabels): TopologyCounts {
  const out = new TopologyCounts();
  for (const ni of nodes) {
    if (!ni.node) continue;
    const labels = ni.labels;
    for (const existing of ni.podsWithRequiredAntiAffinity) {
      for (const t of existing.requiredAntiAffinityTerms) {
        if (termSelects(t, pod, nsLabels)) out.addForTerms([t], labels, 1);
      }
    }
  }
  return out;
}

/**
 * The incoming pod's required terms against every existing pod.
 * `countAffinity(ni)` counts pods on ni matching all affinity terms,
 * `countAnti(j, ni)` those matching anti-affinity term j (memoised by the caller).
 */
export function incomingCounts(options: {
  pod: PodInfo;
  nodes: readonly NodeInfo[];
  countAffinity: (ni: NodeInfo) => number;
  countAnti: (j: number, ni: NodeInfo) => number;
}): { affinity: TopologyCounts; antiAffinity: TopologyCounts } {
  const { pod, nodes, countAffinity, countAnti } = options;
  const affinity = new TopologyCounts();
  const antiAffinity = new TopologyCounts();
  const aff = pod.requiredAffinityTerms;
  const anti = pod.requiredAntiAffinityTerms;
  if (aff.length === 0 && anti.length === 0) return { affinity, antiAffinity };
  for (const ni of nodes) {
    if (!ni.node || ni.pods.length === 0) continue;
    const labels = ni.labels;
    if (aff.length > 0) {
      const n = countAffinity(ni);
      if (n > 0) affinity.addForTerms(aff, labels, n);
    }
    for (let j = 0; j < anti.length; j++) {
      const t = anti[j]!;
      const v = labelValue(labels, t.topologyKey);
      if (v === undefined) continue;
      const n = countAnti(j, ni);
      if (n > 0) antiAffinity.add(t.topologyKey, v, n);
    }
  }
  return { affinity, antiAffinity };
}

/**
 * Every required affinity term must find a matching pod in the node's
 * domain, and the node must have every term's topology key. The first pod
 * of a group whose affinity selects itself may go anywhere with those keys
 * when no pod anywhere matches yet (else such groups could never start).
 */
export function satisfiesAffinity(s: AffinityFilterState, ni: NodeInfo): boolean {
  const terms = s.pod.requiredAffinityTerms;
  if (terms.length === 0) return true;
  const labels = ni.labels;
  let podsExist = true;
  for (const t of terms) {
    const v = labelValue(labels, t.topologyKey);
    if (v === undefined) return false;
    if (s.affinity.get(t.topologyKey, v) <= 0) podsExist = false;
  }
  if (podsExist) return true;
  return s.affinity.pairs === 0 && allTermsSelect(terms, s.pod, s.nsLabels);
}

/** No pod matching a required anti-affinity term in the node's domain for that term. */
export function satisfiesAntiAffinity(s: AffinityFilterState, ni: NodeInfo): boolean {
  if (s.antiAffinity.pairs === 0) return true;
  const labels = ni.labels;
  for (const t of s.pod.requiredAntiAffinityTerms as readonly AffinityTerm[]) {
    const v = labelValue(labels, t.topologyKey);
    if (v !== undefined && s.antiAffinity.get(t.topologyKey, v) > 0) return false;
  }
  return true;
}

/** No existing pod whose required anti-affinity selects the incoming pod shares a domain with the node. */
export function satisfiesExistingAntiAffinity(s: AffinityFilterState, ni: NodeInfo): boolean {
  return !s.existingAntiAffinity.anyPositive(ni.labels);
}
