// How many feasible nodes are enough (upstream numFeasibleNodesToFind,
// Borg's "relaxed randomization"): in a big cluster, scoring every feasible
// node buys little placement quality for a lot of time, so Filter stops once
// it has found this many, and the next cycle starts where this one stopped.

export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;

/**
 * `percentage` is percentageOfNodesToScore (profile, else global); 0 or
 * undefined picks it adaptively: 50% minus 1% per 125 nodes, at least 5%.
 * Never fewer than 100 nodes (or all of them when there are fewer).
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage?: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let p = percentage ?? 0;
  if (p === 0) {
    p = 50 - Math.trunc(numAllNodes / 125);
    if (p < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) p = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  if (p >= 100) return numAllNodes;
  const n = Math.trunc((numAllNodes * p) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}
