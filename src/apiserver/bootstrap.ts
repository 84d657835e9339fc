// Objects every cluster has from its first start: the four system namespaces
// (each with its `default` ServiceAccount),
// the system PriorityClasses, the default `local-path` StorageClass, the default `skiff` IngressClass and the `kubernetes` Service (first service IP, port 443) with Endpoints and
// an EndpointSlice pointing at the advertised API address. Idempotent: runs at
// every start and only creates or corrects what is missing or stale.
import type { KindRegistry } from '../api/registry.ts';
import { SYSTEM_PRIORITY_CLASSES } from './admission/priority.ts';
import type { ServerParts } from './handlers/context.ts';
import { createObject, updateObject } from './handlers/write.ts';
import type { KubeObject } from './registry/resource-store.ts';

export interface BootstrapOptions {
  parts: ServerParts;
  advertiseAddress: string;
  securePort: number;
  /** First address of the service range, e.g. 10.43.0.1. */
  kubernetesServiceIp: string;
  /** The `kube-dns` Service's ClusterIP; default the tenth address of the range (10.43.0.10), nine after the first. */
  clusterDnsIp?: string;
}

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function bootstrapCluster(options: BootstrapOptions): Promise<void> {
  const { parts } = options;
  for (const name of SYSTEM_NAMESPACES) {
    await ensure(parts, '', 'v1', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    // The serviceaccount controller makes these too; a server without controllers
    // still needs them, since pods cannot be created without their ServiceAccount.
    await ensure(parts, '', 'v1', 'serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
  }
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    await ensure(parts, 'scheduling.k8s.io', 'v1', 'priorityclasses', {
      apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: pc.name }, value: pc.value, description: pc.description, globalDefault: false,
    });
  }
  // The built-in dynamic provisioner's class, the default one, as k3s ships it
  // (controllers/persistentvolume/provisioner.ts provisions for it).
  await ensure(parts, 'storage.k8s.io', 'v1', 'storageclasses', {
    apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass',
    metadata: { name: 'local-path', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'rancher.io/local-path', reclaimPolicy: 'Delete', volumeBindingMode: 'WaitForFirstConsumer',
  });
  // The built-in ingress controller's class (proxy/ingress, in every node agent), the
  // default one, so Ingresses without ingressClassName are served, as k3s ships traefik's.
  // Only created when missing: an admin's edits (e.g. removing the default mark) stay.
  await ensure(parts, 'networking.k8s.io', 'v1', 'ingressclasses', {
    apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass',
    metadata: { name: 'skiff', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'skiff.dev/ingress-controller' },
  });
  const ports = [{ name: 'https', port: 443, protocol: 'TCP', targetPort: options.securePort }];
  await ensure(parts, '', 'v1', 'services', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: { type: 'ClusterIP', clusterIP: options.kubernetesServiceIp, ports, sessionAffinity: 'None' },
  });
  const endpointPorts = [{ name: 'https', port: options.securePort, protocol: 'TCP' }];
  await ensure(parts, '', 'v1', 'endpoints', {
    apiVersion: 'v1', kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: options.advertiseAddress }], ports: endpointPorts }],
  }, (current) => JSON.stringify((current as { subsets?: unknown }).subsets) !== JSON.stringify([{ addresses: [{ ip: options.advertiseAddress }], ports: endpointPorts }]));
  await ensure(parts, 'discovery.k8s.io', 'v1', 'endpointslices', {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [options.advertiseAddress], conditions: { ready: true } }],
    ports: endpointPorts,
  }, (current) => JSON.stringify((current as { endpoints?: { addresses?: string[] }[] }).endpoints?.[0]?.addresses) !== JSON.stringify([options.advertiseAddress]));
  await ensureKubeDnsService(parts, options.clusterDnsIp ?? ipv4Plus(options.kubernetesServiceIp, 9));
}

/**
 * The cluster DNS Service, as k3s ships it but without a selector: each node
 * agent serves DNS on its pod bridge and publishes its own EndpointSlice
 * (src/proxy/dns/node-dns.ts); `internalTrafficPolicy: Local` keeps every
 * pod's queries on its own node. A cluster whose tenth address is already
 * taken by another Service keeps running without one (pods then get the
 * node's resolvers, as with no cluster DNS).
 */
async function ensureKubeDnsService(parts: ServerParts, clusterIp: string): Promise<void> {
  try {
    await ensure(parts, '', 'v1', 'services', {
      apiVersion: 'v1', kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        type: 'ClusterIP', clusterIP: clusterIp, clusterIPs: [clusterIp], internalTrafficPolicy: 'Local', sessionAffinity: 'None',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 }],
      },
    });
  } catch (error) {
    // Another server on the same datastore made it first: nothing to report.
    if ((error as { reason?: string }).reason === 'AlreadyExists') return;
    console.error(`skiff-apiserver: warning: no kube-dns Service at ${clusterIp}: ${(error as Error).message}`);
  }
}

function ipv4Plus(ip: string, offset: number): string {
  const n = (ip.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0) + offset) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Create the object if missing; replace it when `stale` says so (the advertised address changed). */
async function ensure(parts: ServerParts, group: string, version: string, plural: string, object: KubeObject, stale?: (current: KubeObject) => boolean): Promise<void> {
  const resource = lookup(parts.registry, group, version, plural);
  const scope = { parts, resource, query: new URLSearchParams(), userAgent: 'skiff-apiserver' };
  let current: KubeObject | undefined;
  try {
    current = await parts.store.get(resource, object.metadata.namespace, object.metadata.name!);
  } catch {
    current = undefined;
  }
  if (!current) {
    await createObject(scope, object);
    return;
  }
  if (stale?.(current)) {
    await updateObject(scope, { next: { ...object, metadata: { ...current.metadata } }, old: current, status: false });
  }
}

function lookup(registry: KindRegistry, group: string, version: string, plural: string) {
  const resource = registry.lookup(group, version, plural);
  if (!resource) throw new Error(`bootstrap: ${group}/${version}/${plural} is not served`);
  return resource;
}
