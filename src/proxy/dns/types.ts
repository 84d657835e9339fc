// The few fields of Services, EndpointSlices and Pods the cluster DNS reads,
// and the read-only view of the cluster that name resolution works on. The
// view is filled from informer caches (informer-view.ts) or, in tests, from
// plain arrays (fake-view.ts): resolution never calls the API server.
import type { KubeObject } from '../../client/interface.ts';

export interface DnsService extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
}

export interface DnsEndpoint {
  addresses: string[];
  hostname?: string;
  conditions?: { ready?: boolean };
}

export interface DnsEndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: DnsEndpoint[] | null;
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
}

export interface DnsPod extends KubeObject {
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

/** What name resolution may ask about the cluster. Every answer comes from memory. */
export interface ClusterView {
  /** False until every cache holds its first list: name errors are then SERVFAIL, as CoreDNS answers. */
  hasSynced(): boolean;
  namespaceExists(namespace: string): boolean;
  service(namespace: string, name: string): DnsService | undefined;
  /** The EndpointSlices labelled kubernetes.io/service-name=name in namespace. */
  endpointSlices(namespace: string, serviceName: string): DnsEndpointSlice[];
  /** Services with this ClusterIP. */
  servicesByClusterIp(ip: string): DnsService[];
  /** EndpointSlices with an endpoint at this address. */
  endpointSlicesByAddress(ip: string): DnsEndpointSlice[];
  /** Pods with this IP (only needed for `pods verified`). */
  podsByIp(ip: string): DnsPod[];
  /** Unix seconds of the last change seen: the SOA serial. */
  lastChangeSeconds(): number;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The ClusterIPs a service answers with; none for headless and ExternalName services. */
export function clusterIps(service: DnsService): string[] {
  const spec = service.spec ?? {};
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip && ip !== 'None');
}

export function isHeadless(service: DnsService): boolean {
  const spec = service.spec ?? {};
  return spec.type !== 'ExternalName' && (spec.clusterIP === 'None' || clusterIps(service).length === 0);
}

/** Ready endpoints count; a missing condition means ready (EndpointSlice API semantics). */
export function isReadyEndpoint(endpoint: DnsEndpoint): boolean {
  return endpoint.conditions?.ready !== false;
}

export function podIps(pod: DnsPod): string[] {
  const ips = pod.status?.podIPs?.map((p) => p.ip) ?? [];
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  return ips;
}
