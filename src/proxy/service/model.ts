// From Services and EndpointSlices to what the proxy programs: one entry per
// service port, with the endpoints each kind of traffic may use. Pure (no I/O),
// so the rules follow from the objects alone and tests need no kernel.
//
// Behaviour follows upstream kube-proxy (pkg/proxy: service/endpoint caches and
// topology.CategorizeEndpoints):
//   - an endpoint condition left unset counts as ready/serving, terminating as false;
//   - traffic uses the ready endpoints, or the serving-terminating ones only
//     when none is ready (so a rolling update drains instead of failing);
//   - internalTrafficPolicy: Local picks the node-local endpoints for
//     ClusterIP traffic, externalTrafficPolicy: Local for NodePort,
//     externalIPs and load-balancer addresses;
//   - headless (clusterIP None) and ExternalName services have no rules.
// Only IPv4 is programmed (table `ip skiff`).
import type { KubeObject } from '../../client/interface.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
    externalIPs?: string[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: {
    addresses?: string[];
    conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
    nodeName?: string;
  }[];
  ports?: { name?: string | null; protocol?: string; port?: number | null }[] | null;
}

export interface Endpoint {
  ip: string;
  port: number;
  /** On this node (nodeName matches). */
  local: boolean;
}

export interface ServicePortModel {
  /** `namespace/name:portName` (portName may be empty) + protocol: unique per entry. */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  port: number;
  clusterIp: string;
  nodePort?: number;
  /** spec.externalIPs and status.loadBalancer.ingress[].ip (IPv4). */
  externalAddresses: string[];
  /** ClientIP affinity timeout in seconds, when sessionAffinity is ClientIP. */
  affinitySeconds?: number;
  internalLocal: boolean;
  externalLocal: boolean;
  /** Usable endpoints cluster-wide (ready, else serving-terminating). */
  clusterEndpoints: Endpoint[];
  /** Usable endpoints on this node (ready local, else serving-terminating local). */
  localEndpoints: Endpoint[];
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
export const isIpv4 = (ip: string | undefined): ip is string => !!ip && IPV4.test(ip) && ip.split('.').every((o) => Number(o) <= 255);

function protocolOf(value: string | undefined): Protocol | undefined {
  const p = value ?? 'TCP';
  return p === 'TCP' || p === 'UDP' || p === 'SCTP' ? p : undefined;
}

const DEFAULT_AFFINITY_SECONDS = 10_800;

/** Upstream's default for unset conditions: ready and serving unless said otherwise. */
function conditionsOf(endpoint: NonNullable<EndpointSlice['endpoints']>[number]) {
  const c = endpoint.conditions ?? {};
  return { ready: c.ready !== false, serving: c.serving !== false, terminating: c.terminating === true };
}

/** Ready endpoints, or the serving-terminating ones when none is ready. */
function usable(candidates: { endpoint: Endpoint; ready: boolean; serving: boolean; terminating: boolean }[]): Endpoint[] {
  const ready = candidates.filter((c) => c.ready).map((c) => c.endpoint);
  if (ready.length) return ready;
  return candidates.filter((c) => c.serving && c.terminating).map((c) => c.endpoint);
}

/** Slices grouped by `namespace/service` (their kubernetes.io/service-name label). */
export function groupSlices(slices: Iterable<EndpointSlice>): Map<string, EndpointSlice[]> {
  const byService = new Map<string, EndpointSlice[]>();
  for (const slice of slices) {
    const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!service) continue;
    const key = `${slice.metadata.namespace}/${service}`;
    const list = byService.get(key);
    if (list) list.push(slice);
    else byService.set(key, [slice]);
  }
  return byService;
}

/** The endpoints of one service port, resolved by port name and protocol from the slices (named targetPorts included). */
function endpointsFor(options: { slices: EndpointSlice[]; portName: string; protocol: Protocol; nodeName: string }) {
  const seen = new Set<string>();
  const candidates: { endpoint: Endpoint; ready: boolean; serving: boolean; terminating: boolean }[] = [];
  for (const slice of options.slices) {
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === options.portName && (p.protocol ?? 'TCP') === options.protocol);
    if (!port || typeof port.port !== 'number' || port.port < 1 || port.port > 65535) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0];
      if (!isIpv4(ip)) continue;
      const key = `${ip}:${port.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push({ endpoint: { ip, port: port.port, local: ep.nodeName === options.nodeName }, ...conditionsOf(ep) });
    }
  }
  candidates.sort((a, b) => compareEndpoints(a.endpoint, b.endpoint));
  return {
    cluster: usable(candidates),
    local: usable(candidates.filter((c) => c.endpoint.local)),
  };
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const pa = a.ip.split('.').map(Number);
  const pb = b.ip.split('.').map(Number);
  for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return a.port - b.port;
}

/** True for services the proxy programs: a ClusterIP that is an address (not headless, not ExternalName). */
export function isProxied(service: Service): boolean {
  const spec = service.spec ?? {};
  if (spec.type === 'ExternalName') return false;
  const ip = spec.clusterIP;
  return !!ip && ip !== 'None';
}

export interface BuildModelOptions {
  services: Iterable<Service>;
  slices: Iterable<EndpointSlice>;
  nodeName: string;
}

/** Every proxied service port, sorted by namespace, name, port name and protocol (stable output). */
export function buildModel(options: BuildModelOptions): ServicePortModel[] {
  const slicesByService = groupSlices(options.slices);
  const result: ServicePortModel[] = [];
  for (const service of options.services) {
    if (!isProxied(service)) continue;
    const spec = service.spec ?? {};
    const clusterIp = [spec.clusterIP, ...(spec.clusterIPs ?? [])].find(isIpv4);
    if (!clusterIp) continue;
    const namespace = service.metadata.namespace ?? '';
    const name = service.metadata.name ?? '';
    const type = spec.type ?? 'ClusterIP';
    const externalAddresses = [...new Set([
      ...(spec.externalIPs ?? []),
      ...(type === 'LoadBalancer' ? (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip) : []),
    ].filter(isIpv4))];
    const externallyAccessible = type === 'NodePort' || type === 'LoadBalancer' || externalAddresses.length > 0;
    const slices = slicesByService.get(`${namespace}/${name}`) ?? [];
    for (const port of spec.ports ?? []) {
      const protocol = protocolOf(port.protocol);
      if (!protocol || !Number.isInteger(port.port) || port.port < 1 || port.port > 65535) continue;
      const portName = port.name ?? '';
      const endpoints = endpointsFor({ slices, portName, protocol, nodeName: options.nodeName });
      result.push({
        id: `${namespace}/${name}:${portName}/${protocol.toLowerCase()}`,
        namespace, name, portName, protocol,
        port: port.port,
        clusterIp,
        nodePort: (type === 'NodePort' || type === 'LoadBalancer') && port.nodePort ? port.nodePort : undefined,
        externalAddresses,
        affinitySeconds: spec.sessionAffinity === 'ClientIP'
          ? spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS
          : undefined,
        internalLocal: spec.internalTrafficPolicy === 'Local',
        externalLocal: externallyAccessible && spec.externalTrafficPolicy === 'Local',
        clusterEndpoints: endpoints.cluster,
        localEndpoints: endpoints.local,
      });
    }
  }
  return result.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
