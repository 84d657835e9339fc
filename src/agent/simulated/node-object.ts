// The API objects a hollow node writes: its Node (as a kubelet registers it)
// and its Lease heartbeat. Pure functions of the node's identity and the
// clock, so registration, restarts and tests all build the same shapes.
import { createHash, randomUUID } from 'node:crypto';
import type { KubeObject } from '../../client/interface.ts';
import { KUBELET_VERSION, nodeConditions } from '../shared/node-lease.ts';
import type { SimulatedCapacity } from './flag.ts';

// Shared with the real kubelet (src/agent/kubelet); re-exported for this folder's users.
export { KUBELET_VERSION, LEASE_DURATION_SECONDS, NODE_LEASE_NAMESPACE, leaseObject, microTime, nodeConditions } from '../shared/node-lease.ts';

export const SIMULATED_LABEL = 'skiff.dev/simulated';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const REGION_LABEL = 'topology.kubernetes.io/region';
export const RUNTIME_VERSION = 'simulated://1.0';
/** Fixed sizes a kubelet would measure on the host; no simulated workload uses them. */
const EPHEMERAL_STORAGE = '100Gi';

/** What one hollow node is, fixed for the lifetime of the simulation. */
export interface SimulatedNodeIdentity {
  name: string;
  index: number;
  internalIp: string;
  /** Its podCIDR ("10.42.3.0/24"); an existing node's own value wins. */
  podCidr: string;
  labels: Record<string, string>;
  capacity: SimulatedCapacity;
  /** Changes on every start, as a real machine's boot id does on reboot. */
  bootId: string;
}

/** zone-a … zone-z, zone-aa … (base-26 letters). */
export function zoneName(index: number): string {
  let letters = '';
  let n = index;
  do {
    letters = String.fromCharCode(97 + (n % 26)) + letters;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `zone-${letters}`;
}

/** The labels a kubelet sets on its node, plus the simulation's own. */
export function nodeLabels(options: {
  name: string;
  index: number;
  zones: number;
  region: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  const { name, index, zones, region } = options;
  return {
    ...options.extra,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'node.kubernetes.io/instance-type': 'simulated',
    ...(zones > 0 ? { [ZONE_LABEL]: zoneName(index % zones), [REGION_LABEL]: region } : {}),
    [SIMULATED_LABEL]: 'true',
  };
}

/** Stable per-name hex, for machineID / systemUUID that survive restarts like a real machine's. */
function stableHex(name: string, salt: string): string {
  return createHash('sha256').update(`${salt}:${name}`).digest('hex').slice(0, 32);
}

function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function newBootId(): string {
  return randomUUID();
}

export function nodeStatus(node: SimulatedNodeIdentity, now: string, previousConditions?: unknown): Record<string, unknown> {
  const resources = {
    cpu: node.capacity.cpu,
    memory: node.capacity.memory,
    pods: node.capacity.pods,
    'ephemeral-storage': EPHEMERAL_STORAGE,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
  };
  return {
    capacity: resources,
    // Nothing is reserved for system daemons: there are none.
    allocatable: { ...resources },
    conditions: nodeConditions(now, previousConditions),
    addresses: [
      { type: 'InternalIP', address: node.internalIp },
      { type: 'Hostname', address: node.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: stableHex(node.name, 'machine'),
      systemUUID: uuidFromHex(stableHex(node.name, 'system')),
      bootID: node.bootId,
      kernelVersion: '6.1.0-simulated',
      osImage: 'skiff simulated node',
      containerRuntimeVersion: RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

/** A fresh Node, as a kubelet POSTs it when it registers. */
export function newNodeObject(node: SimulatedNodeIdentity, now: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      labels: { ...node.labels },
      annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: node.podCidr, podCIDRs: [node.podCidr] },
    status: nodeStatus(node, now),
  };
}

/**
 * The main-resource update for a node that already exists (a restarted
 * simulation): our labels win, everything else people or controllers set —
 * other labels, annotations, taints, unschedulable (a cordon) — is kept, and
 * podCIDR is only filled in, never changed (the API forbids it).
 */
export function reconcileExistingNode(existing: KubeObject, node: SimulatedNodeIdentity): KubeObject | undefined {
  const next = structuredClone(existing);
  next.metadata.labels = { ...existing.metadata.labels, ...node.labels };
  next.metadata.annotations = { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true', ...existing.metadata.annotations };
  const spec = { ...(existing.spec as Record<string, unknown> | undefined) };
  if (!spec.podCIDR) {
    spec.podCIDR = node.podCidr;
    spec.podCIDRs = [node.podCidr];
  }
  next.spec = spec;
  const changed = JSON.stringify([next.metadata.labels, next.metadata.annotations, next.spec])
    !== JSON.stringify([existing.metadata.labels, existing.metadata.annotations, existing.spec]);
  return changed ? next : undefined;
}

/** The podCIDR a node object carries, if any. */
export function podCidrOf(node: KubeObject): string | undefined {
  const spec = node.spec as { podCIDR?: unknown } | undefined;
  return typeof spec?.podCIDR === 'string' && spec.podCIDR ? spec.podCIDR : undefined;
}
