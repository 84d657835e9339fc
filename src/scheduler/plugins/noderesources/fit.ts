// NodeResourcesFit: a pod fits where the free allocatable (allocatable minus
// the requests of the pods already there, assumed ones included) covers its
// requests — CPU, memory, ephemeral storage, extended resources — and one
// more pod is allowed. Scores nodes with the configured strategy
// (LeastAllocated by default, MostAllocated for bin packing, or
// RequestedToCapacityRatio with a utilization → score shape).
import type { CycleState } from '../../framework/cycle-state.ts';
import type { FilterPlugin, Handle, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../../framework/interface.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';
import { CPU, EPHEMERAL_STORAGE, MEMORY, isExtendedResourceName } from '../../framework/resources.ts';
import { Status, type PluginResult } from '../../framework/status.ts';
import { names } from '../names.ts';
import {
  fillNodeLists, leastAllocatedScorer, mostAllocatedScorer, podRequestList, requestedToCapacityRatioScorer,
  type ResourceSpec, type Scorer, type UtilizationShapePoint,
} from './scorers.ts';

export type ScoringStrategyType = 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio';

export interface NodeResourcesFitArgs {
  ignoredResources?: string[];
  ignoredResourceGroups?: string[];
  scoringStrategy?: {
    type?: ScoringStrategyType;
    resources?: ResourceSpec[];
    requestedToCapacityRatio?: { shape?: UtilizationShapePoint[] };
  };
}

export const DEFAULT_RESOURCES: readonly ResourceSpec[] = Object.freeze([{ name: CPU, weight: 1 }, { name: MEMORY, weight: 1 }]);

/** Defaults and validation of the args (upstream SetDefaults + ValidateNodeResourcesFitArgs); throws on bad args. */
export function defaultFitArgs(args: NodeResourcesFitArgs | undefined): Required<Pick<NodeResourcesFitArgs, 'ignoredResources' | 'ignoredResourceGroups'>> & {
  type: ScoringStrategyType;
  resources: ResourceSpec[];
  shape: UtilizationShapePoint[];
} {
  const strategy = args?.scoringStrategy ?? {};
  const type = strategy.type ?? 'LeastAllocated';
  if (!['LeastAllocated', 'MostAllocated', 'RequestedToCapacityRatio'].includes(type)) {
    throw new Error(`scoringStrategy.type: Unsupported value: "${type}": supported values: "LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"`);
  }
  const resources = strategy.resources?.length ? strategy.resources.map((r) => ({ name: r.name, weight: r.weight ?? 1 })) : [...DEFAULT_RESOURCES];
  validateResources(resources, 'scoringStrategy.resources');
  const shape = strategy.requestedToCapacityRatio?.shape ?? [];
  if (type === 'RequestedToCapacityRatio') validateShape(shape);
  return { ignoredResources: args?.ignoredResources ?? [], ignoredResourceGroups: args?.ignoredResourceGroups ?? [], type, resources, shape };
}

export function validateResources(resources: readonly ResourceSpec[], path: string): void {
  resources.forEach((r, i) => {
    if (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > 100) throw new Error(`${path}[${i}].weight: Invalid value: ${r.weight}: resource weight of ${r.name} should be in range [1, 100]`);
  });
}

function validateShape(shape: readonly UtilizationShapePoint[]): void {
  if (shape.length === 0) throw new Error('scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified');
  shape.forEach((p, i) => {
    const path = `scoringStrategy.requestedToCapacityRatio.shape[${i}]`;
    if (!(p.utilization >= 0 && p.utilization <= 100)) throw new Error(`${path}.utilization: Invalid value: ${p.utilization}: not in valid range [0, 100]`);
    if (i > 0 && p.utilization <= shape[i - 1]!.utilization) throw new Error(`${path}.utilization: Invalid value: ${p.utilization}: utilization values must be sorted in increasing order`);
    if (!(p.score >= 0 && p.score <= 10)) throw new Error(`${path}.score: Invalid value: ${p.score}: not in valid range [0, 10]`);
  });
}

const PRE_SCORE_KEY = `PreScore${names.NodeResourcesFit}`;

interface PreScoreState {
  podRequests: Float64Array;
}

export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

/**
 * What does not fit. Order: pods, cpu, memory, ephemeral-storage, then
 * scalar resources by name (upstream iterates a map; a fixed order keeps
 * messages stable).
 */
export function fitsRequest(pod: PodInfo, nodeInfo: NodeInfo, ignored: ReadonlySet<string> = new Set(), ignoredGroups: ReadonlySet<string> = new Set()): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (nodeInfo.pods.length + 1 > alloc.allowedPodNumber) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: nodeInfo.pods.length, capacity: alloc.allowedPodNumber });
  }
  const req = pod.requests;
  if (req.isZero()) return out;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) {
    out.push({ resourceName: CPU, reason: 'Insufficient cpu', requested: req.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU });
  }
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) {
    out.push({ resourceName: MEMORY, reason: 'Insufficient memory', requested: req.memory, used: used.memory, capacity: alloc.memory });
  }
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    out.push({ resourceName: EPHEMERAL_STORAGE, reason: 'Insufficient ephemeral-storage', requested: req.ephemeralStorage, used: used.ephemeralStorage, capacity: alloc.ephemeralStorage });
  }
  if (req.scalar) {
    for (const name of [...req.scalar.keys()].sort()) {
      const q = req.scalar.get(name)!;
      if (q === 0) continue;
      if (isExtendedResourceName(name) && (ignored.has(name) || ignoredGroups.has(name.slice(0, name.indexOf('/'))))) continue;
      const a = alloc.get(name);
      const u = used.get(name);
      if (q > a - u) out.push({ resourceName: name, reason: `Insufficient ${name}`, requested: q, used: u, capacity: a });
    }
  }
  return out;
}

export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = names.NodeResourcesFit;
  readonly strategy: ScoringStrategyType;
  readonly resources: readonly ResourceSpec[];
  readonly #scorer: Scorer;
  readonly #ignored: ReadonlySet<string>;
  readonly #ignoredGroups: ReadonlySet<string>;
  /** One Status per distinct set of reasons (nodes share them). */
  readonly #statuses = new Map<string, Status>();
  readonly #requested: Float64Array;
  readonly #allocatable: Float64Array;

  constructor(rawArgs?: NodeResourcesFitArgs) {
    const args = defaultFitArgs(rawArgs);
    this.strategy = args.type;
    this.resources = args.resources;
    this.#ignored = new Set(args.ignoredResources);
    this.#ignoredGroups = new Set(args.ignoredResourceGroups);
    this.#scorer = args.type === 'MostAllocated'
      ? mostAllocatedScorer(args.resources)
      : args.type === 'RequestedToCapacityRatio'
        ? requestedToCapacityRatioScorer(args.resources, args.shape)
        : leastAllocatedScorer(args.resources);
    this.#requested = new Float64Array(args.resources.length);
    this.#allocatable = new Float64Array(args.resources.length);
  }

  /** Requests are computed once per pod in PodInfo; nothing to precompute here. */
  preFilter(): undefined {
    return undefined;
  }

  filter(_state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): PluginResult {
    const alloc = nodeInfo.allocatable;
    const used = nodeInfo.requested;
    const req = pod.requests;
    // Fast path for the common case; fitsRequest builds the full explanation.
    if (
      nodeInfo.pods.length + 1 <= alloc.allowedPodNumber && req.milliCPU <= alloc.milliCPU - used.milliCPU
      && req.memory <= alloc.memory - used.memory && req.ephemeralStorage <= alloc.ephemeralStorage - used.ephemeralStorage
      && req.scalar === undefined
    ) return undefined;
    const insufficient = fitsRequest(pod, nodeInfo, this.#ignored, this.#ignoredGroups);
    if (insufficient.length === 0) return undefined;
    const reasons = insufficient.map((r) => r.reason);
    const key = reasons.join('\n');
    let s = this.#statuses.get(key);
    if (!s) {
      if (this.#statuses.size > 1024) this.#statuses.clear();
      this.#statuses.set(key, (s = new Status('Unschedulable', reasons, { plugin: this.name })));
    }
    return s;
  }

  preScore(state: CycleState, pod: PodInfo): PluginResult {
    state.write(PRE_SCORE_KEY, { podRequests: podRequestList(pod, this.resources, true) } satisfies PreScoreState);
    return undefined;
  }

  score(state: CycleState, pod: PodInfo, nodeInfo: NodeInfo): number {
    const podRequests = state.read<PreScoreState>(PRE_SCORE_KEY)?.podRequests ?? podRequestList(pod, this.resources, true);
    fillNodeLists(nodeInfo, this.resources, podRequests, true, this.#requested, this.#allocatable);
    return this.#scorer(this.#requested, this.#allocatable);
  }
}

export const newNodeResourcesFit = (args: unknown, _handle: Handle) => new NodeResourcesFit(args as NodeResourcesFitArgs | undefined);
