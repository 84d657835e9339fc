// kubelet's predicate admission for resources: a pod bound to this node
// runs only if its requests fit in what the node's admitted, unfinished pods
// leave of the allocatable resources; otherwise it fails at once with
// upstream's OutOf<resource> reason and message.
import type { KubeObject } from '../../client/interface.ts';
import { specOf } from './pod-types.ts';
import { milliValue, podRequests, wholeValue } from './resources.ts';

export interface Rejection {
  reason: string;
  message: string;
}

export function admitPod(options: { pod: KubeObject; admitted: readonly KubeObject[]; allocatable: Record<string, string> }): Rejection | undefined {
  const { allocatable } = options;
  const capacityOf = (name: string) => (name === 'cpu' ? milliValue(allocatable[name]) : wholeValue(allocatable[name]));
  const insufficient = (name: string, requested: number, used: number, capacity: number): Rejection => {
    const message = `Node didn't have enough resource: ${name}, requested: ${requested}, used: ${used}, capacity: ${capacity}`;
    return { reason: `OutOf${name}`, message };
  };
  if (allocatable.pods !== undefined && options.admitted.length + 1 > capacityOf('pods')) {
    return insufficient('pods', 1, options.admitted.length, capacityOf('pods'));
  }
  const requested = podRequests(specOf(options.pod));
  const used = new Map<string, number>();
  for (const other of options.admitted) {
    for (const [name, value] of podRequests(specOf(other))) used.set(name, (used.get(name) ?? 0) + value);
  }
  const order = ['cpu', 'memory', 'ephemeral-storage', ...[...requested.keys()].filter((n) => !['cpu', 'memory', 'ephemeral-storage', 'pods'].includes(n)).sort()];
  for (const name of order) {
    const want = requested.get(name) ?? 0;
    if (want <= 0) continue;
    const have = used.get(name) ?? 0;
    const capacity = capacityOf(name);
    if (want + have > capacity) return insufficient(name, want, have, capacity);
  }
  return undefined;
}

/** The status of a pod the node refused. */
export function rejectedStatus(rejection: Rejection): Record<string, unknown> {
  return { phase: 'Failed', reason: rejection.reason, message: `Pod was rejected: ${rejection.message}` };
}
