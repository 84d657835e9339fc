// Which NoExecute taints a pod tolerates, and for how long (upstream's
// GetMatchingTolerations and getMinTolerationTime).
import { tolerates, type Taint, type Toleration } from '../daemonset/nodes.ts';

export const noExecuteTaints = (taints: readonly Taint[] | undefined): Taint[] => (taints ?? []).filter((t) => t.effect === 'NoExecute');

/** For each taint the first toleration that tolerates it; `allTolerated` false when some taint has none. */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[]): { allTolerated: boolean; used: Toleration[] } {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const match = tolerations.find((t) => tolerates(t, taint));
    if (!match) return { allTolerated: false, used: [] };
    used.push(match);
  }
  return { allTolerated: true, used };
}

/**
 * How long the pod may stay (ms): the smallest tolerationSeconds of the
 * tolerations in use, 0 when one is zero or negative (or none is in use),
 * and -1 (forever) when none of them sets tolerationSeconds.
 */
export function minTolerationMs(used: readonly Toleration[]): number {
  if (used.length === 0) return 0;
  let min = Infinity;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

/** Tolerations as compared to decide whether a pod update matters (only these and the node do). */
export const tolerationsKey = (tolerations: readonly Toleration[] | undefined) => JSON.stringify(tolerations ?? []);
