// A ClusterView over plain arrays, for tests of resolution and of the server
// without an API server. Not a test file itself.
import { normalizeIp } from './names.ts';
import { clusterIps, podIps, SERVICE_NAME_LABEL, type ClusterView, type DnsEndpointSlice, type DnsPod, type DnsService } from './types.ts';

export interface FakeCluster {
  namespaces: string[];
  services?: DnsService[];
  slices?: DnsEndpointSlice[];
  pods?: DnsPod[];
  synced?: boolean;
}

export function createFakeView(cluster: FakeCluster): ClusterView {
  const services = () => cluster.services ?? [];
  const slices = () => cluster.slices ?? [];
  return {
    hasSynced: () => cluster.synced ?? true,
    namespaceExists: (namespace) => cluster.namespaces.includes(namespace),
    service: (namespace, name) => services().find((s) => s.metadata.namespace === namespace && s.metadata.name === name),
    endpointSlices: (namespace, serviceName) =>
      slices().filter((s) => s.metadata.namespace === namespace && s.metadata.labels?.[SERVICE_NAME_LABEL] === serviceName),
    servicesByClusterIp: (ip) => services().filter((s) => clusterIps(s).map(normalizeIp).includes(ip)),
    endpointSlicesByAddress: (ip) => slices().filter((s) => (s.endpoints ?? []).some((e) => e.addresses.map(normalizeIp).includes(ip))),
    podsByIp: (ip) => (cluster.pods ?? []).filter((p) => podIps(p).map(normalizeIp).includes(ip)),
    lastChangeSeconds: () => 1_700_000_000,
  };
}

type Port = { name?: string; port: number; protocol?: string };

export function service(namespace: string, name: string, spec: DnsService['spec']): DnsService {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec };
}

export function slice(options: {
  namespace: string; service: string; name?: string; ports?: Port[];
  endpoints: { addresses: string[]; hostname?: string; ready?: boolean }[];
}): DnsEndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
    metadata: { namespace: options.namespace, name: options.name ?? `${options.service}-abc`, labels: { [SERVICE_NAME_LABEL]: options.service } },
    ports: options.ports ?? [],
    endpoints: options.endpoints.map((e) => ({ addresses: e.addresses, hostname: e.hostname, conditions: { ready: e.ready ?? true } })),
  };
}
