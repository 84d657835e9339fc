// Which endpoint services/proxy sends a request to: the Service port named
// (or numbered) in the request, then a random ready endpoint carrying that
// port in the Service's EndpointSlices (upstream picks at random too).
import { errors } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { ServerParts } from './context.ts';

interface ServicePort { name?: string; port?: number }
interface SlicePort { name?: string; port?: number }
interface SliceEndpoint { addresses?: string[]; conditions?: { ready?: boolean }; nodeName?: string }

export interface ServiceEndpoint {
  ip: string;
  port: number;
  nodeName?: string;
}

/** `port` is what followed the name in the URL: a port name, a number, or '' (the Service's only port, else the unnamed one). */
export async function pickServiceEndpoint(options: { parts: ServerParts; service: KubeObject; port: string }): Promise<ServiceEndpoint> {
  const { parts, service } = options;
  const name = service.metadata.name ?? '';
  const ports = ((service.spec as { ports?: ServicePort[] } | undefined)?.ports) ?? [];
  let portName = options.port;
  if (/^\d+$/.test(portName)) {
    const found = ports.find((p) => p.port === Number(portName));
    if (!found) throw errors.serviceUnavailable(`no service port ${portName} found for service "${name}"`);
    portName = found.name ?? '';
  } else if (portName === '' && ports.length === 1) {
    portName = ports[0]!.name ?? '';
  }
  const slicesInfo = parts.registry.lookup('discovery.k8s.io', 'v1', 'endpointslices');
  const slices = slicesInfo
    ? (await parts.store.list(slicesInfo, {
      namespace: service.metadata.namespace,
      filter: (slice) => slice.metadata.labels?.['kubernetes.io/service-name'] === name,
    })).items
    : [];
  const candidates: ServiceEndpoint[] = [];
  for (const slice of slices) {
    const port = ((slice as { ports?: SlicePort[] }).ports ?? []).find((p) => (p.name ?? '') === portName && p.port);
    if (!port) continue;
    for (const endpoint of (slice as { endpoints?: SliceEndpoint[] }).endpoints ?? []) {
      const ip = endpoint.addresses?.[0];
      // An endpoint is ready unless it says otherwise (the API's rule for an unset condition).
      if (!ip || endpoint.conditions?.ready === false) continue;
      candidates.push({ ip, port: port.port!, nodeName: endpoint.nodeName });
    }
  }
  if (candidates.length === 0) throw errors.serviceUnavailable(`no endpoints available for service "${name}"`);
  return candidates[Math.floor(Math.random() * candidates.length)]!;
}
