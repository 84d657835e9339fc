// TaintToleration: a node's NoSchedule/NoExecute taints keep off pods that do
// not tolerate them (Filter); PreferNoSchedule taints the pod does not
// tolerate lower the node's score (Score, reversed by NormalizeScore).
import type { CycleState } from '../../framework/cycle-state.ts';
import { MAX_NODE_SCORE, type FilterPlugin, type Handle, type PreScorePlugin, type ScorePlugin } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import type { Taint, Toleration } from '../../framework/types.ts';
import { defaultNormalizeScore } from '../helper/normalize.ts';
import { doNotScheduleTaint, findUntoleratedTaint, tolerationsTolerateTaint } from '../helper/taints.ts';
import { names } from '../names.ts';

const PRE_SCORE_KEY = `PreScore${names.TaintToleration}`;

/** Upstream's wording: node(s) had untolerated taint {key: value}. */
// Current upstream names no taint in the reason (older releases printed `{key: value}`).
export const untoleratedTaintReason = (_taint: Taint): string => 'node(s) had untolerated taint(s)';

interface PreScoreState {
  tolerationsPreferNoSchedule: Toleration[];
}

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = names.TaintToleration;
  /** One Status per distinct reason: nodes share them, and the hot path allocates nothing. */
  readonly #statuses = new Map<string, Status>();

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    const taints = nodeInfo.taints;
    if (taints.length === 0) return undefined;
    const taint = findUntoleratedTaint(taints, pod.tolerations, doNotScheduleTaint);
    if (!taint) return undefined;
    const reason = untoleratedTaintReason(taint);
    let s = this.#statuses.get(reason);
    if (!s) {
      if (this.#statuses.size > 1024) this.#statuses.clear();
      this.#statuses.set(reason, (s = new Status('UnschedulableAndUnresolvable', [reason], { plugin: this.name })));
    }
    return s;
  }

  preScore(state: CycleState, pod: PodInfo): PluginResult {
    const tolerationsPreferNoSchedule = pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(PRE_SCORE_KEY, { tolerationsPreferNoSchedule } satisfies PreScoreState);
    return undefined;
  }

  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const tolerations = state.read<PreScoreState>(PRE_SCORE_KEY)?.tolerationsPreferNoSchedule
      ?? pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    let count = 0;
    for (const taint of nodeInfo.taints) {
      if (taint.effect === 'PreferNoSchedule' && !tolerationsTolerateTaint(tolerations, taint)) count++;
    }
    return count;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: Float64Array): PluginResult {
    defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
    return undefined;
  }
}

export const newTaintToleration = (_args: unknown, _handle: Handle) => new TaintToleration();
