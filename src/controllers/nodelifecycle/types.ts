// The slices of Node and Lease the node controllers read and write.
import type { KubeObject } from '../../client/interface.ts';
import type { Taint } from '../daemonset/nodes.ts';

export interface NodeCondition {
  type: string;
  status: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
  [field: string]: unknown;
}

export interface NodeObject extends KubeObject {
  spec?: { taints?: Taint[]; unschedulable?: boolean; [field: string]: unknown };
  status?: { conditions?: NodeCondition[]; [field: string]: unknown };
}

export interface LeaseObject extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string; [field: string]: unknown };
}

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export const leasesResource = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' } as const;

/** Nodes carrying this label are left out of zone disruption counts (upstream's labelNodeDisruptionExclusion). */
export const EXCLUDE_DISRUPTION_LABEL = 'node.kubernetes.io/exclude-disruption';

/**
 * The zone a node belongs to for eviction rate limiting: region and zone
 * from the topology labels (or their deprecated failure-domain forms), ""
 * when it has neither — as upstream's GetZoneKey.
 */
export function zoneKey(node: KubeObject): string {
  const labels = node.metadata.labels ?? {};
  const region = labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (!region && !zone) return '';
  return `${region}:\x00:${zone}`;
}
