// Printers for the core ("") API group, except pods (core-pods.ts) and
// events (core-events.ts).
import type { Column, KindPrinter, Obj } from './types.ts';
import {
  accessModesString, ageColumn, containerColumns, createdAtColumns, formatLabels, int, loadBalancerStatus,
  nameColumn, orNone, str,
} from './helpers.ts';
import { podPrinter } from './core-pods.ts';
import { eventPrinter } from './core-events.ts';

const list = (v: unknown): Obj[] => (Array.isArray(v) ? v : []);
const count = (v: unknown): number => Object.keys(v && typeof v === 'object' ? v : {}).length;

// ---- nodes ----

const NODE_ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Roles from `node-role.kubernetes.io/<role>` labels and the older `kubernetes.io/role=<role>`. */
function nodeRoles(node: Obj): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries<string>(node?.metadata?.labels ?? {})) {
    if (key.startsWith(NODE_ROLE_PREFIX) && key.length > NODE_ROLE_PREFIX.length) roles.add(key.slice(NODE_ROLE_PREFIX.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.add(value);
  }
  return [...roles].sort().join(',') || '<none>';
}

/** "Ready", "NotReady" or "Unknown" (no Ready condition), plus ",SchedulingDisabled" when cordoned. */
function nodeStatus(node: Obj): string {
  const ready = list(node?.status?.conditions).find((c) => c?.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node?.spec?.unschedulable === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const nodeAddress = (node: Obj, type: string): string =>
  str(list(node?.status?.addresses).find((a) => a?.type === type)?.address) || '<none>';
const nodeInfo = (node: Obj, field: string): string => str(node?.status?.nodeInfo?.[field]) || '<unknown>';

const nodePrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Status', description: 'Whether the node is ready, and whether it accepts new pods.', cell: nodeStatus },
    { name: 'Roles', description: 'Roles from the node-role.kubernetes.io/ labels.', cell: nodeRoles },
    ageColumn,
    { name: 'Version', description: 'Version of the node agent.', cell: (o) => str(o?.status?.nodeInfo?.kubeletVersion) },
    { name: 'Internal-IP', priority: 1, description: 'First internal address of the node.', cell: (o) => nodeAddress(o, 'InternalIP') },
    { name: 'External-IP', priority: 1, description: 'First external address of the node.', cell: (o) => nodeAddress(o, 'ExternalIP') },
    { name: 'OS-Image', priority: 1, description: 'Operating system of the node.', cell: (o) => nodeInfo(o, 'osImage') },
    { name: 'Kernel-Version', priority: 1, description: 'Kernel version of the node.', cell: (o) => nodeInfo(o, 'kernelVersion') },
    {
      name: 'Container-Runtime',
      priority: 1,
      description: 'Container runtime and its version.',
      cell: (o) => nodeInfo(o, 'containerRuntimeVersion'),
    },
  ],
};

// ---- services ----

function serviceExternalIP(svc: Obj, wide: boolean): string {
  const externalIPs: string[] = list(svc?.spec?.externalIPs).map(String);
  switch (svc?.spec?.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerStatus(svc?.status?.loadBalancer?.ingress, wide);
      if (externalIPs.length) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(svc?.spec?.externalName);
    default:
      return '<unknown>';
  }
}

/** "80/TCP,443:30443/TCP". */
function servicePorts(svc: Obj): string {
  const ports = list(svc?.spec?.ports).map((p) => {
    const protocol = p?.protocol ?? 'TCP';
    return int(p?.nodePort) > 0 ? `${int(p.port)}:${int(p.nodePort)}/${protocol}` : `${int(p?.port)}/${protocol}`;
  });
  return ports.join(',') || '<none>';
}

const servicePrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Type', description: 'How the service is exposed.', cell: (o) => str(o?.spec?.type) },
    {
      name: 'Cluster-IP',
      description: 'The virtual IP of the service inside the cluster.',
      cell: (o) => orNone(o?.spec?.clusterIPs?.[0] ?? o?.spec?.clusterIP),
    },
    { name: 'External-IP', description: 'Addresses the service is reachable on from outside.', cell: (o, ctx) => serviceExternalIP(o, ctx.wide) },
    { name: 'Port(s)', description: 'Service ports (with node ports) and protocols.', cell: servicePorts },
    ageColumn,
    { name: 'Selector', priority: 1, description: 'Labels of the pods the service sends traffic to.', cell: (o) => formatLabels(o?.spec?.selector) },
  ],
};

// ---- endpoints ----

/** Up to three "ip:port" endpoints, then "+ N more...". */
function formatEndpoints(ep: Obj): string {
  const subsets = list(ep?.subsets);
  if (subsets.length === 0) return '<none>';
  const shown: string[] = [];
  let total = 0;
  for (const subset of subsets) {
    const addresses = list(subset?.addresses);
    const ports = list(subset?.ports);
    // A headless service without ports lists bare addresses.
    const targets = ports.length === 0 ? [undefined] : ports;
    for (const port of targets) {
      total += addresses.length;
      for (const addr of addresses) {
        if (shown.length === 3) break;
        const ip = str(addr?.ip);
        shown.push(port === undefined ? ip : `${ip.includes(':') ? `[${ip}]` : ip}:${int(port?.port)}`);
      }
    }
  }
  const joined = shown.join(',');
  return total > 3 ? `${joined} + ${total - 3} more...` : joined;
}

// ---- persistent volumes ----

/** The storage class, from the beta annotation if set (it predates the field). */
function storageClassOf(obj: Obj): string {
  const annotation = obj?.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'];
  return str(annotation ?? obj?.spec?.storageClassName);
}

const phaseOrTerminating = (o: Obj): string => (o?.metadata?.deletionTimestamp ? 'Terminating' : str(o?.status?.phase));
const unsetOr = (v: unknown): string => (v == null ? '<unset>' : String(v));

const persistentVolumePrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Capacity', description: 'Size of the volume.', cell: (o) => str(o?.spec?.capacity?.storage ?? '0') },
    { name: 'Access Modes', description: 'How the volume can be mounted.', cell: (o) => accessModesString(o?.spec?.accessModes) },
    { name: 'Reclaim Policy', description: 'What happens to the volume when its claim goes away.', cell: (o) => str(o?.spec?.persistentVolumeReclaimPolicy) },
    { name: 'Status', description: 'Lifecycle phase of the volume.', cell: phaseOrTerminating },
    {
      name: 'Claim',
      description: 'The claim bound to the volume (namespace/name).',
      cell: (o) => (o?.spec?.claimRef ? `${str(o.spec.claimRef.namespace)}/${str(o.spec.claimRef.name)}` : ''),
    },
    { name: 'StorageClass', description: 'Storage class of the volume.', cell: storageClassOf },
    { name: 'VolumeAttributesClass', description: 'Volume attributes class of the volume.', cell: (o) => unsetOr(o?.spec?.volumeAttributesClassName) },
    { name: 'Reason', description: 'Why the volume is in its phase.', cell: (o) => str(o?.status?.reason) },
    ageColumn,
    { name: 'VolumeMode', priority: 1, description: 'Filesystem or Block.', cell: (o) => unsetOr(o?.spec?.volumeMode) },
  ],
};

/** Capacity and access modes are known only once the claim is bound. */
const boundClaim = (o: Obj): boolean => str(o?.spec?.volumeName) !== '';

const persistentVolumeClaimPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Status', description: 'Lifecycle phase of the claim.', cell: phaseOrTerminating },
    { name: 'Volume', description: 'The volume bound to the claim.', cell: (o) => str(o?.spec?.volumeName) },
    { name: 'Capacity', description: 'Size of the bound volume.', cell: (o) => (boundClaim(o) ? str(o?.status?.capacity?.storage ?? '0') : '') },
    {
      name: 'Access Modes',
      description: 'How the bound volume can be mounted.',
      cell: (o) => (boundClaim(o) ? accessModesString(o?.status?.accessModes) : ''),
    },
    { name: 'StorageClass', description: 'Storage class requested by the claim.', cell: storageClassOf },
    { name: 'VolumeAttributesClass', description: 'Volume attributes class of the claim.', cell: (o) => unsetOr(o?.spec?.volumeAttributesClassName) },
    ageColumn,
    { name: 'VolumeMode', priority: 1, description: 'Filesystem or Block.', cell: (o) => unsetOr(o?.spec?.volumeMode) },
  ],
};

// ---- resource quotas ----

/** "cpu: 100m/1, pods: 2/10" for requests, the `limits.*` resources in their own column. */
function quotaColumn(quota: Obj, limits: boolean): string {
  const hard: Record<string, unknown> = quota?.status?.hard ?? {};
  const used: Record<string, unknown> = quota?.status?.used ?? {};
  return Object.keys(hard)
    .sort()
    .filter((name) => (name.split('.').length > 1 && name.split('.')[0] === 'limits') === limits)
    .map((name) => `${name}: ${str(used[name] ?? '0')}/${str(hard[name])}`)
    .join(', ');
}

// ---- replication controllers ----

const replicationControllerPrinter: KindPrinter = {
  columns: [
    nameColumn,
    { name: 'Desired', type: 'integer', description: 'Number of pods wanted.', cell: (o) => int(o?.spec?.replicas ?? 1) },
    { name: 'Current', type: 'integer', description: 'Number of pods that exist.', cell: (o) => int(o?.status?.replicas) },
    { name: 'Ready', type: 'integer', description: 'Number of pods that are ready.', cell: (o) => int(o?.status?.readyReplicas) },
    ageColumn,
    ...containerColumns((o) => o?.spec?.template),
    { name: 'Selector', priority: 1, description: 'Labels of the pods it manages.', cell: (o) => formatLabels(o?.spec?.selector) },
  ],
};

const simple = (columns: Column[]): KindPrinter => ({ columns });

export const corePrinters: Record<string, KindPrinter> = {
  Pod: podPrinter as KindPrinter,
  Event: eventPrinter,
  Node: nodePrinter,
  Namespace: simple([
    nameColumn,
    { name: 'Status', description: 'Active, or Terminating while being deleted.', cell: (o) => str(o?.status?.phase) },
    ageColumn,
  ]),
  Service: servicePrinter,
  Endpoints: simple([
    nameColumn,
    { name: 'Endpoints', description: 'Addresses and ports of the ready endpoints.', cell: formatEndpoints },
    ageColumn,
  ]),
  ConfigMap: simple([
    nameColumn,
    { name: 'Data', description: 'Number of data entries (text and binary).', cell: (o) => count(o?.data) + count(o?.binaryData) },
    ageColumn,
  ]),
  Secret: simple([
    nameColumn,
    { name: 'Type', description: 'Type of the secret.', cell: (o) => str(o?.type) },
    { name: 'Data', description: 'Number of data entries.', cell: (o) => count(o?.data) },
    ageColumn,
  ]),
  ServiceAccount: simple([
    nameColumn,
    { name: 'Secrets', description: 'Number of secrets listed on the account.', cell: (o) => list(o?.secrets).length },
    ageColumn,
  ]),
  PersistentVolume: persistentVolumePrinter,
  PersistentVolumeClaim: persistentVolumeClaimPrinter,
  ResourceQuota: simple([
    nameColumn,
    { name: 'Request', description: 'Used and hard amounts of requested resources.', cell: (o) => quotaColumn(o, false) },
    { name: 'Limit', description: 'Used and hard amounts of resource limits.', cell: (o) => quotaColumn(o, true) },
    ageColumn,
  ]),
  // Upstream has no printer for these and answers with its default table.
  LimitRange: simple(createdAtColumns),
  ReplicationController: replicationControllerPrinter,
  PodTemplate: simple([
    nameColumn,
    { name: 'Containers', description: 'Names of the containers in the template.', cell: (o) => list(o?.template?.spec?.containers).map((c) => str(c?.name)).join(',') },
    { name: 'Images', description: 'Images of the containers in the template.', cell: (o) => list(o?.template?.spec?.containers).map((c) => str(c?.image)).join(',') },
    { name: 'Pod Labels', description: 'Labels of the pod template.', cell: (o) => formatLabels(o?.template?.metadata?.labels) },
  ]),
};
