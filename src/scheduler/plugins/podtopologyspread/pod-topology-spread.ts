// PodTopologySpread: spec.topologySpreadConstraints. DoNotSchedule
// constraints filter (filtering.ts), ScheduleAnyway ones score
// (scoring.ts). A pod without constraints gets the cluster's default ones
// (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway), counting the pods
// its Services or controller select; with no such selector it has none and
// the plugin skips itself, keeping the equivalence and score caches for
// everything else.
import type { CycleState } from '../../framework/cycle-state.ts';
import type {
  FilterPlugin, Handle, PreFilterExtensions, PreFilterPlugin, PreFilterResult, PreScorePlugin, Reads, ScorePlugin,
} from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { SKIP, Status, type PluginResult } from '../../framework/status.ts';
import type { TopologySpreadConstraint } from '../../framework/types.ts';
import { NodeCounts } from '../helper/node-counts.ts';
import { slotCountOf, snapshotOf } from '../helper/snapshot.ts';
import { names } from '../names.ts';
import {
  DO_NOT_SCHEDULE, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, SCHEDULE_ANYWAY, SYSTEM_DEFAULT_CONSTRAINTS,
  countQuestion, defaultSelector, parseConstraints, type Constraint,
} from './common.ts';
import { computeFilterState, filterNode, readFilterState } from './filtering.ts';
import { computeScoreState, normalize, scoreNode, type SpreadScoreState } from './scoring.ts';

/** PodTopologySpreadArgs (kubescheduler.config.k8s.io/v1). */
export interface PodTopologySpreadArgs {
  /** Constraints for pods that have none (defaultingType List); no labelSelector allowed, it comes from Services/controllers. */
  defaultConstraints?: TopologySpreadConstraint[];
  /** System (the default): the built-in hostname/zone defaults; List: `defaultConstraints`. */
  defaultingType?: 'System' | 'List';
}

const PRE_FILTER_KEY = `PreFilter${names.PodTopologySpread}`;
const PRE_SCORE_KEY = `PreScore${names.PodTopologySpread}`;

const errorStatus = (message: string) => new Status('Error', [message], { plugin: names.PodTopologySpread });

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = names.PodTopologySpread;
  readonly filterReads: Reads = { otherNodes: true, podLabels: true };
  readonly scoreReads: Reads = { otherNodes: true };
  /** Per-node counts of matching pods, reused while a node is unchanged. */
  readonly counts = new NodeCounts();
  readonly #handle: Handle | undefined;
  readonly #defaults: readonly TopologySpreadConstraint[];
  readonly #systemDefaulted: boolean;
  readonly #defaultsHaveHard: boolean;
  readonly #statuses = {
    missingLabel: new Status('UnschedulableAndUnresolvable', [ERR_REASON_NODE_LABEL_NOT_MATCH], { plugin: names.PodTopologySpread }),
    skew: new Status('Unschedulable', [ERR_REASON_CONSTRAINTS_NOT_MATCH], { plugin: names.PodTopologySpread }),
  };

  constructor(options: { args?: PodTopologySpreadArgs; handle?: Handle } = {}) {
    const args = options.args ?? {};
    this.#handle = options.handle;
    this.#systemDefaulted = (args.defaultingType ?? 'System') === 'System';
    this.#defaults = this.#systemDefaulted ? SYSTEM_DEFAULT_CONSTRAINTS : (args.defaultConstraints ?? []);
    this.#defaultsHaveHard = this.#defaults.some((c) => c.whenUnsatisfiable === DO_NOT_SCHEDULE);
  }

  /** The pod's constraints for `action`, or the defaults with the selector of its Services/controller. */
  constraints(pod: PodInfo, action: string): Constraint[] {
    const own = pod.pod.spec?.topologySpreadConstraints ?? [];
    if (own.length > 0) return parseConstraints(own, pod.labels, action);
    if (this.#defaults.length === 0 || (action === DO_NOT_SCHEDULE && !this.#defaultsHaveHard)) return [];
    const cs = parseConstraints(this.#defaults, pod.labels, action);
    if (cs.length === 0) return [];
    const selector = defaultSelector(pod, this.#handle?.data);
    if (selector.isEmpty()) return [];
    return cs.map((c) => ({ ...c, selector }));
  }

  /** count(i, ni): pods on ni matching constraint i, from the memo when ni is unchanged. */
  #counter(pod: PodInfo, constraints: readonly Constraint[], nodes: readonly NodeInfo[]): (i: number, ni: NodeInfo) => number {
    const slots = slotCountOf(snapshotOf(this.#handle), nodes);
    const counters = constraints.map((c) => {
      const q = countQuestion(pod.namespace, c.selector);
      return this.counts.counter(q.key, slots, q.matches);
    });
    return (i, ni) => counters[i]!(ni);
  }

  // ---- Filter ----------------------------------------------------------------

  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status | PreFilterResult | undefined {
    let constraints: Constraint[];
    try {
      constraints = this.constraints(pod, DO_NOT_SCHEDULE);
    } catch (err) {
      return errorStatus(`get constraints from pod: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (constraints.length === 0) return SKIP;
    state.write(PRE_FILTER_KEY, computeFilterState({ pod, constraints, nodes, count: this.#counter(pod, constraints, nodes) }));
    return undefined;
  }

  preFilterExtensions(): PreFilterExtensions {
    const update = (state: CycleState, other: PodInfo, ni: NodeInfo, delta: number): PluginResult => {
      const s = readFilterState(state, PRE_FILTER_KEY);
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
    const s = readFilterState(state, PRE_FILTER_KEY);
    if (!s) return errorStatus(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
    return filterNode(s, nodeInfo, this.#statuses);
  }

  // ---- Score -------------------------------------------------------------------

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): PluginResult {
    const allNodes = snapshotOf(this.#handle)?.nodes ?? nodes;
    if (allNodes.length === 0) return SKIP;
    let constraints: Constraint[];
    try {
      constraints = this.constraints(pod, SCHEDULE_ANYWAY);
    } catch (err) {
      return errorStatus(`obtaining pod's soft topology spread constraints: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (constraints.length === 0) return SKIP;
    // Only the system defaults let nodes without a zone label still spread by hostname.
    const requireAllTopologies = (pod.pod.spec?.topologySpreadConstraints?.length ?? 0) > 0 || !this.#systemDefaulted;
    const count = this.#counter(pod, constraints, allNodes);
    state.write(PRE_SCORE_KEY, computeScoreState({ pod, constraints, requireAllTopologies, feasible: nodes, allNodes, count }));
    return undefined;
  }

  score(state: CycleState, _pod: PodInfo, nodeInfo: NodeInfo): number | Status {
    const s = state.read<SpreadScoreState>(PRE_SCORE_KEY);
    if (!s) return errorStatus(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    return scoreNode(s, nodeInfo);
  }

  normalizeScore(state: CycleState, _pod: PodInfo, scores: Float64Array, nodes: readonly NodeInfo[]): PluginResult {
    const s = state.read<SpreadScoreState>(PRE_SCORE_KEY);
    if (!s) return errorStatus(`reading "${PRE_SCORE_KEY}" from cycleState: not found`);
    normalize(s, scores, nodes);
    return undefined;
  }
}

export const newPodTopologySpread = (args: unknown, handle: Handle) =>
  new PodTopologySpread({ args: (args ?? {}) as PodTopologySpreadArgs, handle });
