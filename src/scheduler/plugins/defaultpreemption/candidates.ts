// Picking the node to preempt on among the candidates, by upstream's
// criteria in order, each applied only to the nodes tied on the previous:
//   1. fewest PodDisruptionBudget violations;
//   2. lowest priority of its most important victim;
//   3. smallest sum of victim priorities (shifted so negatives stay ordered);
//   4. fewest victims;
//   5. latest start among its most important victims (disturb the newest work);
//   then the first remaining candidate.
import type { PodInfo } from '../../framework/pod-info.ts';
import { podStartTime, type NodeVictims } from './victims.ts';

export interface Candidate extends NodeVictims {
  nodeName: string;
}

const INT32_SHIFT = 2 ** 31;

/** The earliest start among the victims of the highest priority (victims are non-empty). */
function earliestStartOfTopVictims(pods: readonly PodInfo[], now: number): number {
  let top = pods[0]!.priority;
  let earliest = podStartTime(pods[0]!.pod, now);
  for (const p of pods) {
    if (p.priority === top) {
      const t = podStartTime(p.pod, now);
      if (t < earliest) earliest = t;
    } else if (p.priority > top) {
      top = p.priority;
      earliest = podStartTime(p.pod, now);
    }
  }
  return earliest;
}

export function pickCandidate(candidates: readonly Candidate[], now: number): Candidate | undefined {
  if (candidates.length <= 1) return candidates[0];
  // Higher is better for every function.
  const criteria: Array<(c: Candidate) => number> = [
    (c) => -c.numPdbViolations,
    (c) => -c.pods[0]!.priority,
    (c) => -c.pods.reduce((sum, p) => sum + p.priority + INT32_SHIFT, 0),
    (c) => -c.pods.length,
    (c) => earliestStartOfTopVictims(c.pods, now),
  ];
  let remaining = candidates;
  for (const score of criteria) {
    let best = -Infinity;
    let selected: Candidate[] = [];
    for (const c of remaining) {
      const s = score(c);
      if (s > best) {
        best = s;
        selected = [c];
      } else if (s === best) {
        selected.push(c);
      }
    }
    if (selected.length === 1) return selected[0];
    remaining = selected;
  }
  return remaining[0];
}
