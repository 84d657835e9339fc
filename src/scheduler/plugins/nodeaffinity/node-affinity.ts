// NodeAffinity: spec.nodeSelector and required node affinity filter nodes;
// preferred node affinity scores them (sum of the matching terms' weights,
// normalised to 0..100). Args can add scheduler-enforced affinity for every
// pod of the profile (NodeAffinityArgs.addedAffinity).
import type { CycleState } from '../../framework/cycle-state.ts';
import {
  MAX_NODE_SCORE, type FilterPlugin, type Handle, type PreFilterPlugin, type PreFilterResult, type PreScorePlugin, type ScorePlugin,
} from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { SKIP, Status, type PluginResult } from '../../framework/status.ts';
import type { NodeSelectorTerm, PreferredSchedulingTerm } from '../../framework/types.ts';
import { defaultNormalizeScore } from '../helper/normalize.ts';
import { NodeSelector, PreferredSchedulingTerms, RequiredNodeAffinity } from '../helper/node-affinity.ts';
import { names } from '../names.ts';

export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
export const ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity";
export const ERR_REASON_CONFLICT = 'pod affinity terms conflict';

export interface NodeAffinityArgs {
  addedAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] };
    preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
  };
}

const PRE_FILTER_KEY = `PreFilter${names.NodeAffinity}`;
const PRE_SCORE_KEY = `PreScore${names.NodeAffinity}`;

/** Parsed lazily: with the equivalence cache warm, Filter rarely runs at all. */
class PreFilterState {
  readonly #pod: PodInfo;
  #required: RequiredNodeAffinity | undefined;
  constructor(pod: PodInfo) {
    this.#pod = pod;
  }
  get required(): RequiredNodeAffinity {
    return (this.#required ??= new RequiredNodeAffinity(this.#pod.pod));
  }
}

interface PreScoreState {
  preferred: PreferredSchedulingTerms | undefined;
}

const rejectedPod = new Status('UnschedulableAndUnresolvable', [ERR_REASON_POD], { plugin: names.NodeAffinity });
const rejectedEnforced = new Status('UnschedulableAndUnresolvable', [ERR_REASON_ENFORCED], { plugin: names.NodeAffinity });

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = names.NodeAffinity;
  readonly #addedSelector: NodeSelector | undefined;
  readonly #addedPreferred: PreferredSchedulingTerms | undefined;

  constructor(args: NodeAffinityArgs = {}) {
    const added = args.addedAffinity;
    const req = added?.requiredDuringSchedulingIgnoredDuringExecution;
    this.#addedSelector = req ? new NodeSelector(req.nodeSelectorTerms ?? []) : undefined;
    const pref = added?.preferredDuringSchedulingIgnoredDuringExecution;
    this.#addedPreferred = pref?.length ? new PreferredSchedulingTerms(pref) : undefined;
  }

  preFilter(state: CycleState, pod: PodInfo): Status | PreFilterResult | undefined {
    const spec = pod.pod.spec ?? {};
    const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!required && !this.#addedSelector && spec.nodeSelector == null) return SKIP;
    state.write(PRE_FILTER_KEY, new PreFilterState(pod));
    const terms = required?.nodeSelectorTerms ?? [];
    if (terms.length === 0) return undefined;

    // Terms that pin metadata.name let the framework filter only those nodes.
    let union: Set<string> | undefined;
    for (const t of terms) {
      let inTerm: Set<string> | undefined;
      for (const r of t.matchFields ?? []) {
        if (r.key !== 'metadata.name' || r.operator !== 'In') continue;
        const values = new Set(r.values ?? []);
        inTerm = inTerm ? new Set([...inTerm].filter((v) => values.has(v))) : values;
      }
      // A term without a name restriction can match any node: no narrowing.
      if (!inTerm) return undefined;
      union = union ? new Set([...union, ...inTerm]) : inTerm;
    }
    if (union && union.size === 0) return new Status('UnschedulableAndUnresolvable', [ERR_REASON_CONFLICT]);
    return union ? { nodeNames: union } : undefined;
  }

  filter(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    const labels = nodeInfo.labels;
    if (this.#addedSelector && !this.#addedSelector.match(labels, nodeInfo.name)) return rejectedEnforced;
    const s = state.read<PreFilterState>(PRE_FILTER_KEY) ?? new PreFilterState(pod);
    return s.required.match(labels, nodeInfo.name) ? undefined : rejectedPod;
  }

  preScore(state: CycleState, pod: PodInfo): PluginResult {
    const terms = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    const preferred = terms?.length ? new PreferredSchedulingTerms(terms) : undefined;
    if (!preferred && !this.#addedPreferred) return SKIP;
    state.write(PRE_SCORE_KEY, { preferred } satisfies PreScoreState);
    return undefined;
  }

  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    let s = state.read<PreScoreState>(PRE_SCORE_KEY);
    if (!s) {
      const terms = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
      s = { preferred: terms?.length ? new PreferredSchedulingTerms(terms) : undefined };
    }
    const labels = nodeInfo.labels;
    return (this.#addedPreferred?.score(labels, nodeInfo.name) ?? 0) + (s.preferred?.score(labels, nodeInfo.name) ?? 0);
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: Float64Array): PluginResult {
    defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
    return undefined;
  }
}

export const newNodeAffinity = (args: unknown, _handle: Handle) => new NodeAffinity((args ?? {}) as NodeAffinityArgs);
