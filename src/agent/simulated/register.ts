// Node registration, as the kubelet's registerWithAPIServer: create the Node,
// or — when it exists, because the simulation (or the whole server) was
// restarted — adopt it: reconcile our labels, refresh the status, keep what
// others set. Then the node's Lease. Stable names make restarts find their
// nodes again instead of piling up new ones.
import { ApiStatusError, isAlreadyExists, isConflict, isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { ensureLease } from '../shared/node-lease.ts';
import type { Limiter } from './limiter.ts';
import {
  NODE_LEASE_NAMESPACE, newNodeObject, nodeStatus, podCidrOf, reconcileExistingNode,
  type SimulatedNodeIdentity,
} from './node-object.ts';
import { rfc3339 } from './pod-status.ts';

export { ensureLease } from '../shared/node-lease.ts';

/** A registered hollow node: identity plus what the API assigned. */
export interface RegisteredNode {
  identity: SimulatedNodeIdentity;
  uid: string;
  /** The podCIDR the Node object carries (an existing node's own value wins). */
  podCidr: string;
}

export interface RegisterOptions {
  client: ApiClient;
  limiter: Limiter;
  nodes: SimulatedNodeIdentity[];
  now: () => Date;
  /** Attempts per node for transient failures (network, 5xx, 429, conflicts). */
  attempts?: number;
}

/** Worth another try: the server was busy, away, or someone wrote the object meanwhile. */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof ApiStatusError)) return true;
  return error.code >= 500 || error.code === 429 || isConflict(error);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function withRetries<T>(attempts: number, task: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await sleep(Math.min(2000, 50 * 2 ** attempt));
    }
  }
}

/**
 * Registers every node (bounded by the limiter) and its lease. Reads the
 * existing nodes and leases with one list each first, so a restart of
 * thousands of nodes does not cost thousands of failed creates.
 */
export async function registerNodes(options: RegisterOptions): Promise<RegisteredNode[]> {
  const { client, limiter, nodes } = options;
  const attempts = options.attempts ?? 6;
  const [nodeList, leaseList] = await Promise.all([
    withRetries(attempts, () => client.list(resources.nodes)),
    withRetries(attempts, () => client.list({ ...resources.leases, namespace: NODE_LEASE_NAMESPACE })),
  ]);
  const existingNodes = new Map(nodeList.items.map((n) => [n.metadata.name!, n]));
  const existingLeases = new Map(leaseList.items.map((l) => [l.metadata.name!, l]));

  const results = await Promise.allSettled(nodes.map((identity) => limiter.run(async () => {
    const node = await withRetries(attempts, () => registerOne({ ...options, identity, existing: existingNodes.get(identity.name) }));
    // The existing-lease hint is only used once: on a retry the create path re-checks by itself.
    const lease = existingLeases.get(identity.name);
    existingLeases.delete(identity.name);
    await withRetries(attempts, () => ensureLease({ client, nodeName: identity.name, nodeUid: node.metadata.uid!, exists: !!lease, now: options.now }));
    return { identity, uid: node.metadata.uid!, podCidr: podCidrOf(node) ?? identity.podCidr };
  })));
  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${nodes[i]!.name}: ${(r.reason as Error)?.message ?? r.reason}`] : []));
  if (failures.length) {
    const shown = failures.slice(0, 5).join('; ');
    throw new Error(`registering ${failures.length} of ${nodes.length} simulated nodes failed: ${shown}${failures.length > 5 ? '; …' : ''}`);
  }
  return results.map((r) => (r as PromiseFulfilledResult<RegisteredNode>).value);
}

async function registerOne(options: { client: ApiClient; identity: SimulatedNodeIdentity; existing?: KubeObject; now: () => Date }): Promise<KubeObject> {
  const { client, identity } = options;
  let existing = options.existing;
  if (!existing) {
    try {
      return await client.create(resources.nodes, newNodeObject(identity, rfc3339(options.now())));
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }
  // Exists (our earlier run, or someone's node of the same name): adopt it. A
  // stale hint from the list is harmless: a conflict re-reads and retries.
  const ref = { ...resources.nodes, name: identity.name };
  existing = await client.get(ref);
  const reconciled = reconcileExistingNode(existing, identity);
  let current = existing;
  if (reconciled) {
    try {
      current = await client.update(ref, reconciled);
    } catch (error) {
      if (isNotFound(error)) return registerOne({ ...options, existing: undefined });
      throw error;
    }
  }
  const previous = (current.status as { conditions?: unknown } | undefined)?.conditions;
  const status = nodeStatus(identity, rfc3339(options.now()), previous);
  return client.patch({ ...ref, subresource: 'status' }, 'merge', { metadata: { resourceVersion: current.metadata.resourceVersion }, status });
}
