// Taint/toleration matching as core/v1 defines it, shared by TaintToleration,
// NodeUnschedulable and (later) PodTopologySpread's nodeTaintsPolicy.
import type { Taint, Toleration } from '../../framework/types.ts';

export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

/**
 * A toleration matches a taint when the effects agree (empty tolerates all
 * effects), the keys agree (empty key with Exists tolerates every key), and
 * the value matches (Equal, the default) or is ignored (Exists).
 */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerationsTolerateTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}

/** The first taint passing `relevant` that no toleration tolerates. */
export function findUntoleratedTaint(
  taints: readonly Taint[], tolerations: readonly Toleration[], relevant: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints) {
    if (relevant(taint) && !tolerationsTolerateTaint(tolerations, taint)) return taint;
  }
  return undefined;
}

/** Taints that keep new pods off a node (Filter); PreferNoSchedule only lowers scores. */
export const doNotScheduleTaint = (t: Taint): boolean => t.effect === 'NoSchedule' || t.effect === 'NoExecute';
