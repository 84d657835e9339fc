// The fields of networking.k8s.io/v1 Ingress and IngressClass, core/v1
// Service and Secret, and discovery.k8s.io/v1 EndpointSlice that the ingress
// controller reads, and the read-only view of the cluster it routes from. The
// view is filled from informer caches (informer-view.ts) or, in tests, from
// plain arrays (fake-view.ts): a request never waits for an API call.
import type { KubeObject } from '../../client/interface.ts';

export interface ServiceBackendPort {
  name?: string;
  number?: number;
}

export interface IngressBackend {
  service?: { name: string; port?: ServiceBackendPort };
  /** A backend by object reference (a CRD): not something skiff can proxy to. */
  resource?: { apiGroup?: string; kind: string; name: string };
}

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

export interface HttpIngressPath {
  path?: string;
  pathType?: PathType;
  backend: IngressBackend;
}

export interface IngressRule {
  host?: string;
  http?: { paths?: HttpIngressPath[] | null };
}

export interface IngressTls {
  hosts?: string[] | null;
  secretName?: string;
}

export interface Ingress extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: IngressRule[] | null;
    tls?: IngressTls[] | null;
  };
}

export interface IngressClass extends KubeObject {
  spec?: { controller?: string };
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

export interface Service extends KubeObject {
  spec?: { type?: string; ports?: ServicePort[] | null };
}

export interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
}

export interface EndpointSlice extends KubeObject {
  addressType?: string;
  endpoints?: Endpoint[] | null;
  ports?: { name?: string | null; port?: number | null; protocol?: string | null }[] | null;
}

export interface Secret extends KubeObject {
  type?: string;
  /** base64 values, as the API serves them. */
  data?: Record<string, string> | null;
}

/** What routing may ask about the cluster. Every answer comes from memory. */
export interface IngressView {
  hasSynced(): boolean;
  ingresses(): Ingress[];
  ingressClasses(): IngressClass[];
  service(namespace: string, name: string): Service | undefined;
  /** The EndpointSlices labelled kubernetes.io/service-name=name in namespace. */
  endpointSlices(namespace: string, serviceName: string): EndpointSlice[];
  /** A kubernetes.io/tls Secret. */
  secret(namespace: string, name: string): Secret | undefined;
  /**
   * Called after a change: 'routes' for Ingresses and IngressClasses (the route
   * table is rebuilt), 'secrets' for TLS Secrets. Returns the disposer.
   */
  onChange(listener: (what: 'routes' | 'secrets') => void): () => void;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
export const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_NAME = 'skiff';
export const CONTROLLER_NAME = 'skiff.dev/ingress-controller';
