// The taints the node controllers own, and how they are written.
//
// TaintNodesByCondition: each node condition in a bad state has a NoSchedule
// taint (Ready=False → not-ready, Ready=Unknown → unreachable, pressure and
// network conditions True → their taint) and spec.unschedulable (a cordon)
// has node.kubernetes.io/unschedulable. The NoExecute not-ready/unreachable
// taints, which evict pods, are added separately under the eviction rate
// limit (controller.ts).
//
// Writes are merge patches of spec.taints guarded by the node's
// resourceVersion (upstream's PatchNodeTaints): a concurrent writer makes the
// patch fail with a conflict, and the next attempt starts from a fresh GET.
import { isConflict, isNotFound, resources, type ApiClient } from '../../client/interface.ts';
import type { Taint } from '../daemonset/nodes.ts';
import { rfc3339 } from '../framework/types.ts';
import type { NodeCondition, NodeObject } from './types.ts';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_OUT_OF_SERVICE = 'node.kubernetes.io/out-of-service';

export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: 'NoExecute' };

/** condition type → condition status → taint key (upstream's nodeConditionToTaintKeyStatusMap). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};

/** Taint keys that mirror a condition: the NoSchedule ones the condition pass adds and removes. */
const CONDITION_TAINT_KEYS = new Set(Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)));

export const sameTaint = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
export const hasTaint = (node: NodeObject, taint: Taint) => (node.spec?.taints ?? []).some((t) => sameTaint(t, taint));

/** The NoSchedule taints a node's conditions and spec.unschedulable call for. */
export function desiredNoScheduleTaints(node: NodeObject): Taint[] {
  const taints: Taint[] = [];
  for (const condition of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[condition.type]?.[condition.status];
    if (key) taints.push({ key, effect: 'NoSchedule' });
  }
  if (node.spec?.unschedulable) taints.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  return taints;
}

/** What to add and remove so the node's condition/unschedulable NoSchedule taints match its state. */
export function noScheduleTaintDiff(node: NodeObject): { add: Taint[]; remove: Taint[] } {
  const desired = desiredNoScheduleTaints(node);
  const owned = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoSchedule' && (t.key === TAINT_UNSCHEDULABLE || CONDITION_TAINT_KEYS.has(t.key)));
  return {
    add: desired.filter((d) => !owned.some((t) => sameTaint(t, d))),
    remove: owned.filter((t) => !desired.some((d) => sameTaint(t, d))),
  };
}

export function getCondition(node: NodeObject, type: string): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

/** A node is ready when its Ready condition is True (upstream's IsNodeReady). */
export const isNodeReady = (node: NodeObject) => getCondition(node, 'Ready')?.status === 'True';

export interface SwapTaintsOptions {
  client: ApiClient;
  /** The node as last seen (the first attempt's base: no GET when it is current). */
  node: NodeObject;
  add?: Taint[];
  remove?: Taint[];
  now: () => Date;
  /** Attempts before giving up on conflicts (upstream: 5). */
  attempts?: number;
}

/**
 * Add (with timeAdded, unless a taint with the same key and effect is there)
 * and remove taints in one guarded write; returns false when the node is gone.
 */
export async function swapNodeTaints(options: SwapTaintsOptions): Promise<boolean> {
  const { client, now } = options;
  const add = options.add ?? [];
  const remove = options.remove ?? [];
  const ref = { ...resources.nodes, name: options.node.metadata.name };
  let node = options.node;
  for (let attempt = 1; ; attempt++) {
    const current = node.spec?.taints ?? [];
    let next = current.filter((t) => !remove.some((r) => sameTaint(t, r)));
    for (const taint of add) {
      if (!next.some((t) => sameTaint(t, taint))) next = [...next, { ...taint, timeAdded: rfc3339(now()) }];
    }
    if (next.length === current.length && next.every((t, i) => t === current[i])) return true;
    try {
      await client.patch(ref, 'merge', {
        metadata: { resourceVersion: node.metadata.resourceVersion },
        // An empty list is written as null, so the field goes away as upstream's two-way patch does.
        spec: { taints: next.length ? next : null },
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      if (!isConflict(error) || attempt >= (options.attempts ?? 5)) throw error;
    }
    try {
      node = await client.get<NodeObject>(ref);
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
