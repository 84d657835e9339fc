// Test support for the node controllers: Node objects that heartbeat like a
// kubelet (Lease renewals and Ready status) until told to stop. Not a test
// file itself (no .test.ts).
import { isConflict, resources, type ApiClient } from '../../client/interface.ts';
import { rfc3339 } from '../framework/types.ts';
import { leasesResource, NODE_LEASE_NAMESPACE, type NodeObject } from './types.ts';

const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function kubeletConditions(now: string, ready = 'True') {
  return [
    { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', lastHeartbeatTime: now, lastTransitionTime: now },
    { type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady', lastHeartbeatTime: now, lastTransitionTime: now },
  ];
}

/** Create a Node with healthy kubelet conditions and its Lease. */
export async function createNode(client: ApiClient, name: string, labels: Record<string, string> = {}): Promise<NodeObject> {
  const node = await client.create<NodeObject>(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels } });
  const now = new Date();
  await client.patch({ ...resources.nodes, name, subresource: 'status' }, 'merge', { status: { conditions: kubeletConditions(rfc3339(now)) } });
  await client.create({ ...leasesResource, namespace: NODE_LEASE_NAMESPACE }, {
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: NODE_LEASE_NAMESPACE },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(now) },
  });
  return node;
}

export async function renewLease(client: ApiClient, name: string): Promise<void> {
  await client.patch({ ...leasesResource, namespace: NODE_LEASE_NAMESPACE, name }, 'merge', { spec: { renewTime: microTime(new Date()) } });
}

/** As a kubelet that finds its node marked Unknown: write healthy conditions again. */
export async function postReady(client: ApiClient, name: string): Promise<void> {
  for (;;) {
    const node = await client.get<NodeObject>({ ...resources.nodes, name });
    try {
      await client.patch({ ...resources.nodes, name, subresource: 'status' }, 'merge', {
        metadata: { resourceVersion: node.metadata.resourceVersion },
        status: { conditions: kubeletConditions(rfc3339(new Date())) },
      });
      return;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}

/** Renew the leases of `names` every `ms` until stopped; `pause(name)` silences one. */
export function heartbeat(client: ApiClient, names: string[], ms = 100) {
  const paused = new Set<string>();
  const timer = setInterval(() => {
    for (const name of names) if (!paused.has(name)) renewLease(client, name).catch(() => {});
  }, ms);
  return {
    pause: (name: string) => paused.add(name),
    resume: (name: string) => paused.delete(name),
    stop: () => clearInterval(timer),
  };
}
