// Pods on a node that stopped reporting are not known to be ready: their
// Ready condition goes False (upstream's MarkPodsNotReady), so Services and
// rollouts stop counting on them before they are evicted.
import { isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import type { EventRecorder } from '../../client/events.ts';
import { rfc3339, type Pod } from '../framework/types.ts';

export interface MarkPodsNotReadyOptions {
  client: ApiClient;
  recorder: EventRecorder;
  pods: readonly Pod[];
  nodeName: string;
  now: () => Date;
}

/** Writes Ready=False on each pod of the node that has Ready otherwise; throws one error naming every failure. */
export async function markPodsNotReady(options: MarkPodsNotReadyOptions): Promise<void> {
  const failures: string[] = [];
  for (const pod of options.pods) {
    if (pod.spec?.nodeName !== options.nodeName) continue;
    const conditions = pod.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    if (!ready || ready.status === 'False') continue;
    const next = conditions.map((c) => (c === ready ? { ...c, status: 'False', lastTransitionTime: rfc3339(options.now()) } : c));
    const ref = { ...resources.pods, namespace: pod.metadata.namespace, name: pod.metadata.name, subresource: 'status' };
    try {
      // Guarded by the resourceVersion, as upstream's UpdateStatus: a pod that changed meanwhile is retried with its new state.
      await options.client.patch(ref, 'merge', { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { conditions: next } });
    } catch (error) {
      if (isNotFound(error)) continue;
      failures.push(`${pod.metadata.namespace}/${pod.metadata.name}: ${(error as Error)?.message ?? error}`);
      continue;
    }
    const object: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid } };
    options.recorder.record({ object, type: 'Warning', reason: 'NodeNotReady', message: 'Node is not ready' });
  }
  if (failures.length) throw new Error(`marking pods not ready: ${failures.join('; ')}`);
}
