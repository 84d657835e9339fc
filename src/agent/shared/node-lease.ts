// What every node agent (the kubelet and the hollow nodes) writes about its
// node besides pods: the Lease in kube-node-lease that the node lifecycle
// controller watches, the kubelet's version string, and the time formats of
// those objects. Pure, except ensureLease (one create-or-adopt call).
import { isAlreadyExists, isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
export const KUBELET_VERSION = 'v1.36.0-skiff';
/** As the kubelet's default nodeLeaseDurationSeconds. */
export const LEASE_DURATION_SECONDS = 40;

/** RFC 3339 with whole seconds, as metav1.Time serializes. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Lease renewTime is a MicroTime: six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function leaseObject(options: { nodeName: string; nodeUid?: string; renewTime: string }): KubeObject {
  const { nodeName, nodeUid, renewTime } = options;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: nodeName,
      namespace: NODE_LEASE_NAMESPACE,
      // As the kubelet does: the garbage collector removes the lease with its node.
      ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] } : {}),
    },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime },
  };
}

/**
 * Create the node's lease, or take over the one a previous run left: the
 * ownerReference must name this Node object's uid (a node deleted and
 * re-created has a new one, and a lease owned by the old uid would be
 * garbage-collected from under us).
 */
export async function ensureLease(options: { client: ApiClient; nodeName: string; nodeUid: string; exists: boolean; now: () => Date }): Promise<KubeObject> {
  const { client, nodeName, nodeUid } = options;
  const lease = leaseObject({ nodeName, nodeUid, renewTime: microTime(options.now()) });
  const ref = { ...resources.leases, namespace: NODE_LEASE_NAMESPACE };
  if (!options.exists) {
    try {
      return await client.create(ref, lease);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  try {
    // Merge patch replaces the ownerReferences list whole, which is what we want.
    return await client.patch({ ...ref, name: nodeName }, 'merge', { metadata: { ownerReferences: lease.metadata.ownerReferences }, spec: lease.spec });
  } catch (error) {
    if (isNotFound(error)) return client.create(ref, lease);
    throw error;
  }
}

/** A merge patch that renews the lease: no resourceVersion, so a renewal never conflicts. */
export function leaseRenewal(nodeName: string, now: Date): Record<string, unknown> {
  return { spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) } };
}

type Condition = Record<string, unknown> & { type: string; status: string };

/** The node's resource pressures as the kubelet's eviction manager sees them. */
export interface NodePressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

const NO_PRESSURE: NodePressure = { memory: false, disk: false, pid: false };

/**
 * The four conditions a kubelet reports (upstream's reasons and messages),
 * then everyone else's. `previous` (the node's current conditions) keeps
 * lastTransitionTime when the status is unchanged, so a restart does not
 * look like a flap to controllers.
 */
export function nodeConditions(now: string, previous: unknown, pressure: NodePressure = NO_PRESSURE): Condition[] {
  const prior = new Map<string, Condition>();
  if (Array.isArray(previous)) for (const c of previous as Condition[]) if (c?.type) prior.set(c.type, c);
  const condition = (type: string, status: string, reason: string, message: string): Condition => {
    const old = prior.get(type);
    const lastTransitionTime = old?.status === status && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : now;
    return { type, status, lastHeartbeatTime: now, lastTransitionTime, reason, message };
  };
  const ours = [
    pressure.memory
      ? condition('MemoryPressure', 'True', 'KubeletHasInsufficientMemory', 'kubelet has insufficient memory available')
      : condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    pressure.disk
      ? condition('DiskPressure', 'True', 'KubeletHasDiskPressure', 'kubelet has disk pressure')
      : condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    pressure.pid
      ? condition('PIDPressure', 'True', 'KubeletHasInsufficientPID', 'kubelet has insufficient PID available')
      : condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
  // Conditions other components own (NetworkUnavailable, a node problem
  // detector's) stay: the merge patch that writes these replaces the list.
  const ourTypes = new Set(ours.map((c) => c.type));
  return [...ours, ...[...prior.values()].filter((c) => !ourTypes.has(c.type))];
}
