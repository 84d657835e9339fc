// An IngressView over plain arrays, for tests: change the arrays, then call
// `changed()` as an informer event would.
import { SERVICE_NAME_LABEL, type EndpointSlice, type Ingress, type IngressBackend, type IngressClass, type IngressView, type Secret, type Service } from './types.ts';

export interface FakeIngressView extends IngressView {
  objects: { ingresses: Ingress[]; classes: IngressClass[]; services: Service[]; slices: EndpointSlice[]; secrets: Secret[] };
  changed(what?: 'routes' | 'secrets'): void;
}

export function createFakeView(initial: Partial<FakeIngressView['objects']> = {}): FakeIngressView {
  const objects = { ingresses: [], classes: [], services: [], slices: [], secrets: [], ...initial };
  const listeners = new Set<(what: 'routes' | 'secrets') => void>();
  const same = (obj: { metadata: { namespace?: string; name?: string } }, namespace: string, name: string) =>
    obj.metadata.namespace === namespace && obj.metadata.name === name;
  return {
    objects,
    changed(what = 'routes') { for (const listener of listeners) listener(what); },
    hasSynced: () => true,
    ingresses: () => objects.ingresses,
    ingressClasses: () => objects.classes,
    service: (namespace, name) => objects.services.find((s) => same(s, namespace, name)),
    endpointSlices: (namespace, serviceName) => objects.slices.filter((s) => s.metadata.namespace === namespace && s.metadata.labels?.[SERVICE_NAME_LABEL] === serviceName),
    secret: (namespace, name) => objects.secrets.find((s) => same(s, namespace, name)),
    onChange(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}

/** A backend by service name and port number (or name, when a string). */
export function backend(service: string, port: number | string): IngressBackend {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

export function service(namespace: string, name: string, ports: { name?: string; port: number; targetPort?: number | string }[]): Service {
  return { metadata: { namespace, name }, spec: { type: 'ClusterIP', ports: ports.map((p) => ({ protocol: 'TCP', ...p })) } };
}

/** One EndpointSlice for a service: `endpoints` as [address, ready]. */
export function slice(namespace: string, serviceName: string, ports: { name?: string; port: number }[], endpoints: [string, boolean][], suffix = 'a'): EndpointSlice {
  return {
    metadata: { namespace, name: `${serviceName}-${suffix}`, labels: { [SERVICE_NAME_LABEL]: serviceName } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: 'TCP' })),
    endpoints: endpoints.map(([address, ready]) => ({ addresses: [address], conditions: { ready } })),
  };
}
