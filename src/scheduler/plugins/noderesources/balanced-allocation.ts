// NodeResourcesBalancedAllocation: prefer nodes where, with the pod placed,
// the requested fractions of the resources (CPU and memory by default) are
// close to each other, so no resource is stranded. Best-effort pods (no
// requests) are skipped: counting them would pile them onto one node.
import type { CycleState } from '../../framework/cycle-state.ts';
import type { Handle, PreScorePlugin, ScorePlugin } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { SKIP, type PluginResult } from '../../framework/status.ts';
import { names } from '../names.ts';
import { DEFAULT_RESOURCES, validateResources } from './fit.ts';
import { balancedScorer, fillNodeLists, podRequestList, type ResourceSpec } from './scorers.ts';

export interface NodeResourcesBalancedAllocationArgs {
  resources?: ResourceSpec[];
}

const PRE_SCORE_KEY = `PreScore${names.NodeResourcesBalancedAllocation}`;

interface PreScoreState {
  podRequests: Float64Array;
}

export class BalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = names.NodeResourcesBalancedAllocation;
  readonly resources: readonly ResourceSpec[];
  readonly #requested: Float64Array;
  readonly #allocatable: Float64Array;

  constructor(args: NodeResourcesBalancedAllocationArgs = {}) {
    this.resources = args.resources?.length ? args.resources.map((r) => ({ name: r.name, weight: r.weight ?? 1 })) : [...DEFAULT_RESOURCES];
    validateResources(this.resources, 'resources');
    this.#requested = new Float64Array(this.resources.length);
    this.#allocatable = new Float64Array(this.resources.length);
  }

  preScore(state: CycleState, pod: PodInfo): PluginResult {
    const podRequests = podRequestList(pod, this.resources, false);
    if (podRequests.every((r) => r === 0)) return SKIP;
    state.write(PRE_SCORE_KEY, { podRequests } satisfies PreScoreState);
    return undefined;
  }

  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const podRequests = state.read<PreScoreState>(PRE_SCORE_KEY)?.podRequests ?? podRequestList(pod, this.resources, false);
    if (podRequests.every((r) => r === 0)) return 0;
    fillNodeLists(nodeInfo, this.resources, podRequests, false, this.#requested, this.#allocatable);
    return balancedScorer(this.#requested, this.#allocatable);
  }
}

export const newBalancedAllocation = (args: unknown, _handle: Handle) =>
  new BalancedAllocation((args ?? {}) as NodeResourcesBalancedAllocationArgs);
