// From an Ingress backend (service name + port number or name) to the pod
// endpoints to proxy to, as ingress-nginx does it: the Service port is looked
// up in the Service, and its EndpointSlice port (same port name) gives the
// pods' target port; only ready endpoints count. The proxy connects to
// pod IP:targetPort directly, not through the ClusterIP, so it spreads load
// itself (round-robin) and keeps its own keep-alive connections per pod.
import type { IngressView, ServicePort } from './types.ts';
import type { RouteMatch } from './routing.ts';

export interface EndpointAddress {
  host: string;
  port: number;
}

export type BackendResolution =
  | { ok: true; key: string; endpoints: EndpointAddress[] }
  /** The answer is 503 Service Unavailable; `reason` goes to the log and the body. */
  | { ok: false; reason: string };

function servicePortFor(ports: ServicePort[], wanted: { name?: string; number?: number } | undefined): ServicePort | undefined {
  const tcp = ports.filter((p) => (p.protocol ?? 'TCP') === 'TCP');
  if (wanted?.number) return tcp.find((p) => p.port === wanted.number);
  if (wanted?.name) return tcp.find((p) => p.name === wanted.name);
  return tcp.length === 1 ? tcp[0] : undefined;
}

/** The ready endpoints of a backend, sorted (so round-robin order is stable), or why there are none. */
export function resolveBackend(view: IngressView, match: RouteMatch): BackendResolution {
  const { namespace, backend } = match;
  if (!backend.service) {
    const resource = backend.resource;
    return { ok: false, reason: `backend ${resource ? `${resource.kind} ${resource.name}` : '(none)'} is not a Service: only service backends are supported` };
  }
  const { name, port } = backend.service;
  const describe = `service ${namespace}/${name}`;
  const service = view.service(namespace, name);
  if (!service) return { ok: false, reason: `${describe} not found` };
  if (service.spec?.type === 'ExternalName') return { ok: false, reason: `${describe} is an ExternalName service: not supported as an ingress backend` };
  const servicePort = servicePortFor(service.spec?.ports ?? [], port);
  const portText = port?.number ?? port?.name ?? '(unspecified)';
  if (!servicePort) return { ok: false, reason: `${describe} has no TCP port ${portText}` };
  const portName = servicePort.name ?? '';
  const seen = new Set<string>();
  const endpoints: EndpointAddress[] = [];
  for (const slice of view.endpointSlices(namespace, name)) {
    if (slice.addressType === 'FQDN') continue;
    const slicePort = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP');
    if (!slicePort?.port) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // EndpointSlice semantics: a missing ready condition means ready.
      if (endpoint.conditions?.ready === false) continue;
      for (const address of endpoint.addresses.slice(0, 1)) {
        const id = `${address}:${slicePort.port}`;
        if (seen.has(id)) continue;
        seen.add(id);
        endpoints.push({ host: address, port: slicePort.port });
      }
    }
  }
  if (endpoints.length === 0) return { ok: false, reason: `${describe} port ${portText} has no ready endpoints` };
  endpoints.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.port - b.port));
  return { ok: true, key: `${namespace}/${name}:${servicePort.port}`, endpoints };
}

/** Round-robin over each backend's endpoints (one counter per backend; it survives endpoint changes). */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  pick(key: string, endpoints: EndpointAddress[]): EndpointAddress {
    const index = this.next.get(key) ?? 0;
    this.next.set(key, (index + 1) % 1_000_000_007);
    return endpoints[index % endpoints.length]!;
  }
}
