// PrioritySort: higher spec.priority first; among equals, the pod that has
// waited longest (its queue timestamp) first.
import type { Handle, QueuedPodInfo, QueueSortPlugin } from '../../framework/interface.ts';
import { names } from '../names.ts';

export class PrioritySort implements QueueSortPlugin {
  readonly name = names.PrioritySort;

  less(a: QueuedPodInfo, b: QueuedPodInfo): boolean {
    const p1 = a.pod.priority;
    const p2 = b.pod.priority;
    return p1 > p2 || (p1 === p2 && a.timestamp < b.timestamp);
  }
}

export const newPrioritySort = (_args: unknown, _handle: Handle) => new PrioritySort();
