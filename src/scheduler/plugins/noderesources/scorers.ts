// The resource scoring strategies of NodeResourcesFit and the balance score
// of NodeResourcesBalancedAllocation. Each takes, per configured resource,
// what the node would have requested with the pod placed (`requested`) and
// what it can allocate (`allocatable`); resources with nothing allocatable
// are left out. Integer arithmetic follows upstream (Go int64 truncation).
import { MAX_NODE_SCORE } from '../../framework/interface.ts';
import { CPU, MEMORY, isScalarResourceName } from '../../framework/resources.ts';
import type { NodeInfo } from '../../framework/node-info.ts';
import type { PodInfo } from '../../framework/pod-info.ts';

export interface ResourceSpec {
  name: string;
  weight: number;
}

export interface UtilizationShapePoint {
  /** 0..100 */
  utilization: number;
  /** 0..10 */
  score: number;
}

/** Upstream MaxCustomPriorityScore: shape scores are 0..10 and scaled to 0..100. */
export const MAX_CUSTOM_PRIORITY_SCORE = 10;

export type Scorer = (requested: Float64Array, allocatable: Float64Array) => number;

export function leastAllocatedScorer(resources: readonly ResourceSpec[]): Scorer {
  return (requested, allocatable) => {
    let score = 0;
    let weights = 0;
    for (let i = 0; i < resources.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const req = requested[i]!;
      const s = req > cap ? 0 : Math.trunc(((cap - req) * MAX_NODE_SCORE) / cap);
      score += s * resources[i]!.weight;
      weights += resources[i]!.weight;
    }
    return weights === 0 ? 0 : Math.trunc(score / weights);
  };
}

export function mostAllocatedScorer(resources: readonly ResourceSpec[]): Scorer {
  return (requested, allocatable) => {
    let score = 0;
    let weights = 0;
    for (let i = 0; i < resources.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      // Pods without requests are counted at default values, so requested may exceed capacity.
      const req = Math.min(requested[i]!, cap);
      score += Math.trunc((req * MAX_NODE_SCORE) / cap) * resources[i]!.weight;
      weights += resources[i]!.weight;
    }
    return weights === 0 ? 0 : Math.trunc(score / weights);
  };
}

/** A piecewise linear function through the shape points, flat before the first and after the last. */
export function brokenLinearFunction(shape: readonly UtilizationShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i]!.utilization) {
        if (i === 0) return shape[0]!.score;
        const a = shape[i - 1]!;
        const b = shape[i]!;
        return a.score + Math.trunc(((b.score - a.score) * (p - a.utilization)) / (b.utilization - a.utilization));
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

export function requestedToCapacityRatioScorer(resources: readonly ResourceSpec[], shape: readonly UtilizationShapePoint[]): Scorer {
  const scale = MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE;
  const raw = brokenLinearFunction(shape.map((p) => ({ utilization: p.utilization, score: p.score * scale })));
  const resourceScore = (req: number, cap: number) => (cap === 0 || req > cap ? raw(100) : raw(Math.trunc((req * 100) / cap)));
  return (requested, allocatable) => {
    let score = 0;
    let weights = 0;
    for (let i = 0; i < resources.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const s = resourceScore(requested[i]!, cap);
      if (s > 0) {
        score += s * resources[i]!.weight;
        weights += resources[i]!.weight;
      }
    }
    return weights === 0 ? 0 : Math.round(score / weights);
  };
}

/** 1 minus the standard deviation of the requested/allocatable fractions, scaled to 0..100. */
export const balancedScorer: Scorer = (requested, allocatable) => {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(requested[i]! / allocatable[i]!, 1);
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) {
    std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  } else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let sum = 0;
    for (const f of fractions) sum += (f - mean) * (f - mean);
    std = Math.sqrt(sum / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
};

/**
 * The pod's request per resource. `nonZero` counts containers without a
 * CPU/memory request at the defaults (the allocation scorers do; the
 * balance scorer does not).
 */
export function podRequestList(pod: PodInfo, resources: readonly ResourceSpec[], nonZero: boolean): Float64Array {
  const out = new Float64Array(resources.length);
  for (let i = 0; i < resources.length; i++) {
    const name = resources[i]!.name;
    out[i] = nonZero && name === CPU ? pod.nonZeroMilliCPU : nonZero && name === MEMORY ? pod.nonZeroMemory : pod.requests.get(name);
  }
  return out;
}

/**
 * Fills `requested`/`allocatable` for `nodeInfo` with the pod placed. An
 * extended resource the pod does not request is left at 0/0 so it does not
 * count (a GPU node is not "less allocated" for a CPU pod).
 */
export function fillNodeLists(
  nodeInfo: NodeInfo, resources: readonly ResourceSpec[], podRequests: Float64Array, nonZero: boolean,
  requested: Float64Array, allocatable: Float64Array,
): void {
  for (let i = 0; i < resources.length; i++) {
    const name = resources[i]!.name;
    const podReq = podRequests[i]!;
    if (podReq === 0 && isScalarResourceName(name)) {
      requested[i] = 0;
      allocatable[i] = 0;
      continue;
    }
    const used = nonZero && (name === CPU || name === MEMORY) ? nodeInfo.nonZeroRequested.get(name) : nodeInfo.requested.get(name);
    requested[i] = used + podReq;
    allocatable[i] = nodeInfo.allocatable.get(name);
  }
}
