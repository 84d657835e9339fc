// Deleting a pod for a NoExecute taint: first the DisruptionTarget
// condition (so the pod's owner — a Job with a pod failure policy, say —
// can tell why it went), then an ordinary graceful delete.
import { isNotFound, resources, type ApiClient } from '../../client/interface.ts';
import { rfc3339, type Pod, type PodCondition } from '../framework/types.ts';

export const DISRUPTION_TARGET = 'DisruptionTarget';

/** Set `condition` in the list, as upstream's UpdatePodCondition: a changed status gets a new transition time. Returns undefined when nothing changes. */
export function withPodCondition(conditions: readonly PodCondition[], condition: PodCondition, now: Date): PodCondition[] | undefined {
  const old = conditions.find((c) => c.type === condition.type);
  const next: PodCondition = {
    ...condition,
    lastTransitionTime: old && old.status === condition.status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(now),
  };
  if (old && old.status === next.status && old.reason === next.reason && old.message === next.message && old.lastTransitionTime === next.lastTransitionTime) return undefined;
  return old ? conditions.map((c) => (c === old ? next : c)) : [...conditions, next];
}

export interface ConditionAndDeleteOptions {
  client: ApiClient;
  namespace: string;
  name: string;
  /** Only this pod (a new pod of the same name is not touched). */
  uid?: string;
  condition?: PodCondition;
  now: () => Date;
  /** Grace period of the delete (undefined: the pod's own). */
  gracePeriodSeconds?: number;
  /**
   * Pod GC's way: a pod not finished yet is marked phase Failed (with the
   * condition) first, since no kubelet will ever finish it; a finished pod
   * is deleted as it is.
   */
  markFailed?: boolean;
  /** Attempts before giving up (upstream: 5). */
  attempts?: number;
}

/** The status change to write before deleting, or undefined for none. */
function statusChange(pod: Pod, options: ConditionAndDeleteOptions): Record<string, unknown> | undefined {
  const phase = pod.status?.phase;
  if (options.markFailed && (phase === 'Succeeded' || phase === 'Failed')) return undefined;
  const conditions = options.condition ? withPodCondition(pod.status?.conditions ?? [], options.condition, options.now()) : undefined;
  if (!options.markFailed && !conditions) return undefined;
  return { ...(conditions ? { conditions } : {}), ...(options.markFailed ? { phase: 'Failed' } : {}) };
}

/** Returns false when the pod is already gone (or replaced). */
export async function addConditionAndDeletePod(options: ConditionAndDeleteOptions): Promise<boolean> {
  const { client, namespace, name } = options;
  const ref = { ...resources.pods, namespace, name };
  for (let attempt = 1; ; attempt++) {
    try {
      const pod = await client.get<Pod>(ref);
      if (options.uid && pod.metadata.uid !== options.uid) return false;
      const status = statusChange(pod, options);
      if (status) {
        await client.patch({ ...ref, subresource: 'status' }, 'merge', { metadata: { resourceVersion: pod.metadata.resourceVersion }, status });
      }
      await client.delete(ref, { preconditions: { uid: pod.metadata.uid }, ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}) });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      // Retried whatever failed (as upstream): a conflict or a failed uid precondition is re-read, and a new pod of the name stops us.
      if (attempt >= (options.attempts ?? 5)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt));
    }
  }
}
