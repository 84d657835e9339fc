// InterPodAffinity: spec.affinity.podAffinity / podAntiAffinity. Required
// terms filter (filtering.ts), preferred terms score (scoring.ts); existing
// pods' terms count too (their required anti-affinity can keep the pod
// away, their required and preferred affinity can draw it near). When
// neither the pod nor any existing pod has such terms, PreFilter and
// PreScore skip, so pods without affinity stay on the cached fast path.
import type { CycleState } from '../../framework/cycle-state.ts';
import type {
  FilterPlugin, Handle, PreFilterExtensions, PreFilterPlugin, PreFilterResult, PreScorePlugin, Reads, ScorePlugin,
} from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { AffinityTerm, PodInfo } from '../../framework/pod-info.ts';
import { SKIP, Status, type PluginResult } from '../../framework/status.ts';
import { NodeCounts } from '../helper/node-counts.ts';
import { slotCountOf, snapshotOf } from '../helper/snapshot.ts';
import { names } from '../names.ts';
import { allTermsSelect, countOn, namespaceLabelsOf, termsKey, type NamespaceLabels } from './common.ts';
import {
  AffinityFilterState, ERR_REASON_AFFINITY_RULES_NOT_MATCH, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
  ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH, existingAntiAffinityCounts, incomingCounts, satisfiesAffinity,
  satisfiesAntiAffinity, satisfiesExistingAntiAffinity,
} from './filtering.ts';
import { computeTopologyScores, normalize, scoreNode, type TopologyScores } from './scoring.ts';

/** InterPodAffinityArgs (kubescheduler.config.k8s.io/v1). */
export interface InterPodAffinityArgs {
  /** Score for every existing pod whose required affinity selects the incoming pod; 0..100, default 1. */
  hardPodAffinityWeight?: number;
  /** Score only the incoming pod's own preferred terms (skip PreScore for pods without them). */
  ignorePreferredTermsOfExistingPods?: boolean;
}

const PRE_FILTER_KEY = `PreFilter${names.InterPodAffinity}`;
const PRE_SCORE_KEY = `PreScore${names.InterPodAffinity}`;
const plugin = { plugin: names.InterPodAffinity };

const errorStatus = (message: string) => new Status('Error', [message], plugin);

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = names.InterPodAffinity;
  readonly filterReads: Reads = { otherNodes: true, podLabels: true };
  readonly scoreReads: Reads = { otherNodes: true };
  /** Per-node counts of pods a term selects, reused while a node is unchanged. */
  readonly counts = new NodeCounts();
  readonly #handle: Handle | undefined;
  readonly #hardPodAffinityWeight: number;
  readonly #ignorePreferredTermsOfExistingPods: boolean;
  readonly #statuses = {
    affinity: new Status('UnschedulableAndUnresolvable', [ERR_REASON_AFFINITY_RULES_NOT_MATCH], plugin),
    antiAffinity: new Status('Unschedulable', [ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH], plugin),
    existing: new Status('Unschedulable', [ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH], plugin),
  };

  constructor(options: { args?: InterPodAffinityArgs; handle?: Handle } = {}) {
    const args = options.args ?? {};
    const w = args.hardPodAffinityWeight ?? 1;
    if (!Number.isInteger(w) || w < 0 || w > 100) {
      throw new Error(`hardPodAffinityWeight: Invalid value: ${w}: not in valid range [0-100]`);
    }
    this.#handle = options.handle;
    this.#hardPodAffinityWeight = w;
    this.#ignorePreferredTermsOfExistingPods = args.ignorePreferredTermsOfExistingPods ?? false;
  }

  /** A counter of pods on a node selected by all of `terms` (memoised unless a term has a namespaceSelector). */
  #counter(terms: readonly AffinityTerm[], nsLabels: NamespaceLabels, slots: number): (ni: NodeInfo) => number {
    const matches = (p: PodInfo) => allTermsSelect(terms, p, nsLabels);
    const key = termsKey('sel', terms);
    return key === undefined ? (ni) => countOn(ni, matches) : this.counts.counter(key, slots, matches);
  }

  // ---- Filter ----------------------------------------------------------------

  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | PreFilterResult | undefined {
    if (pod.parseError !== undefined) return new Status('UnschedulableAndUnresolvable', [`parsing pod: ${pod.parseError}`]);
    const aff = pod.requiredAffinityTerms;
    const anti = pod.requiredAntiAffinityTerms;
    const snapshot = snapshotOf(this.#handle);
    const antiNodes = snapshot?.nodesWithRequiredAntiAffinity() ?? nodes.filter((ni) => ni.podsWithRequiredAntiAffinity.length > 0);
    if (aff.length === 0 && anti.length === 0 && antiNodes.length === 0) return SKIP;
    const nsLabels = namespaceLabelsOf(snapshot);
    const existingAntiAffinity = existingAntiAffinityCounts(pod, antiNodes, nsLabels);
    if (aff.length === 0 && anti.length === 0 && existingAntiAffinity.pairs === 0) return SKIP;

    const slots = slotCountOf(snapshot, nodes);
    const countAffinity = aff.length > 0 ? this.#counter(aff, nsLabels, slots) : () => 0;
    const antiCounters = anti.map((t) => this.#counter([t], nsLabels, slots));
    const { affinity, antiAffinity } = incomingCounts({ pod, nodes, countAffinity, countAnti: (j, ni) => antiCounters[j]!(ni) });
    state.write(PRE_FILTER_KEY, new AffinityFilterState({ pod, nsLabels, existingAntiAffinity, affinity, antiAffinity }));
    return undefined;
  }

  preFilterExtensions(): PreFilterExtensions {
    const update = (state: CycleState, other: PodInfo, ni: NodeInfo, delta: number): PluginResult => {
      const s = state.read<AffinityFilterState>(PRE_FILTER_KEY);
      if (!s) return errorStatus(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
      s.update(other, ni, delta);
      return undefined;
    };
    return {
      addPod: (state, _pod, podToAdd, ni) => update(state, podToAdd, ni, 1),
      removePod: (state, _pod, podToRemove, ni) => update(state, podToRemove, ni, -1),
    };
  }

  filter(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    const s = state.read<AffinityFilterState>(PRE_FILTER_KEY);
    if (!s) return errorStatus(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
    if (!satisfiesAffinity(s, nodeInfo)) return this.#statuses.affinity;
    if (!satisfiesAntiAffinity(s, nodeInfo)) return this.#statuses.antiAffinity;
    if (!satisfiesExistingAntiAffinity(s, nodeInfo)) return this.#statuses.existing;
    return undefined;
  }

  // ---- Score -------------------------------------------------------------------

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): PluginResult {
    const aff = pod.preferredAffinityTerms;
    const anti = pod.preferredAntiAffinityTerms;
    const own = aff.length + anti.length > 0;
    if (!own && this.#ignorePreferredTermsOfExistingPods) return SKIP;
    const snapshot = snapshotOf(this.#handle);
    // Without preferred terms of its own, only pods with affinity terms can score the pod.
    const toProcess = own
      ? (snapshot?.nodes ?? nodes)
      : (snapshot?.nodesWithPodAffinity() ?? nodes.filter((ni) => ni.podsWithAffinity.length > 0));
    if (toProcess.length === 0) return SKIP;
    if (pod.parseError !== undefined) return errorStatus(`parsing pod: ${pod.parseError}`);
    const nsLabels = namespaceLabelsOf(snapshot);
    const slots = slotCountOf(snapshot, toProcess);
    const counters = own ? [...aff, ...anti].map((t) => this.#counter([t], nsLabels, slots)) : [];
    const scores = computeTopologyScores({
      pod, nodes: toProcess, hardPodAffinityWeight: this.#hardPodAffinityWeight, nsLabels,
      countPreferred: (j, ni) => counters[j]!(ni),
    });
    if (scores.size === 0) return SKIP;
    state.write(PRE_SCORE_KEY, scores);
    return undefined;
  }

  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number | Status {
    const scores = state.read<TopologyScores>(PRE_SCORE_KEY);
    if (!scores) return errorStatus(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    return scoreNode(scores, nodeInfo);
  }

  normalizeScore(state: CycleState, _pod: PodInfo, scores: Float64Array): PluginResult {
    const s = state.read<TopologyScores>(PRE_SCORE_KEY);
    if (!s) return errorStatus(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    if (s.size > 0) normalize(scores);
    return undefined;
  }
}

export const newInterPodAffinity = (args: unknown, handle: Handle) =>
  new InterPodAffinity({ args: (args ?? {}) as InterPodAffinityArgs, handle });
