// Which watched changes matter to scheduling. Upstream ignores updates that
// only touch status or bookkeeping metadata (resourceVersion, managedFields),
// so the scheduler's own PodScheduled condition does not re-trigger a pod; and
// moves unschedulable pods only for node changes that can make them fit.
import type { KubeObject } from '../client/interface.ts';
import { nodeFingerprint } from './cache/cache.ts';
import type { Node, Pod } from './framework/types.ts';

function schedulingView(pod: Pod & KubeObject): string {
  const { resourceVersion: _rv, managedFields: _mf, generation: _g, ...metadata } = pod.metadata;
  return JSON.stringify([metadata, pod.spec]);
}

export function podChangeMattersForScheduling(old: Pod & KubeObject, pod: Pod & KubeObject): boolean {
  return schedulingView(old) !== schedulingView(pod);
}

/** Labels, taints, allocatable, unschedulable, images or readiness changed. */
export function nodeChangeMattersForScheduling(old: Node, node: Node): boolean {
  return nodeFingerprint(old) !== nodeFingerprint(node);
}
