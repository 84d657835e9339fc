// What the EndpointSlice and Endpoints controllers both need to know about
// Services and their pods (upstream's k8s.io/endpointslice/util and
// podutil.FindPort): which pods belong in endpoints, which port a service
// port reaches on a given pod, which addresses and hostname a pod offers,
// and which Services a pod event concerns. Pure functions; no I/O.
import type { KubeObject } from '../../client/interface.ts';
import { isPodReady } from '../framework/pods.ts';
import type { Pod } from '../framework/types.ts';

export { isPodReady };

export interface ServicePort {
  name?: string;
  protocol?: string;
  appProtocol?: string;
  port: number;
  /** A number, or the name of a container port. Defaulted to `port`. */
  targetPort?: number | string;
  nodePort?: number;
}

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    selector?: Record<string, string> | null;
    clusterIP?: string;
    ipFamilies?: string[];
    ports?: ServicePort[];
    publishNotReadyAddresses?: boolean;
    [field: string]: unknown;
  };
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

interface PodContainer {
  ports?: ContainerPort[];
  restartPolicy?: string;
}

/** The fields of a pod the endpoint controllers read (besides Pod's own). */
interface EndpointPodSpec {
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  containers?: PodContainer[];
  initContainers?: PodContainer[];
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

const specOf = (pod: Pod) => (pod.spec ?? {}) as EndpointPodSpec;

/**
 * The selector a controller acts on, or undefined when the Service has none.
 * An empty map counts as none: the API stores it as absent (protobuf has no
 * empty map), so upstream never sees `{}` either.
 */
export function serviceSelector(service: Service): Record<string, string> | undefined {
  const selector = service.spec?.selector;
  return selector && Object.keys(selector).length > 0 ? selector : undefined;
}

/** Whether the endpoint controllers manage this Service: a selector, and not ExternalName. */
export function managesEndpoints(service: Service): boolean {
  return service.spec?.type !== 'ExternalName' && serviceSelector(service) !== undefined;
}

export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [key, value] of Object.entries(selector)) if (labels?.[key] !== value) return false;
  return true;
}

/** The Service has a cluster IP (not headless, not ExternalName without one). */
export function isServiceIPSet(service: Service): boolean {
  const ip = service.spec?.clusterIP;
  return ip !== undefined && ip !== '' && ip !== 'None';
}

export const isIPv6 = (ip: string) => ip.includes(':');

/**
 * The pod's IPs. The API server's internal conversion fills podIPs from a
 * lone podIP; this one may not, so do it here.
 */
export function podIPs(pod: Pod): string[] {
  const status = pod.status as { podIP?: string; podIPs?: { ip?: string }[] } | undefined;
  const listed = (status?.podIPs ?? []).map((p) => p.ip ?? '').filter(Boolean);
  if (listed.length > 0) return listed;
  return status?.podIP ? [status.podIP] : [];
}

const isTerminal = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/**
 * Whether a pod belongs in endpoints at all: not finished, has an IP, and —
 * unless `includeTerminating` — not being deleted.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isTerminal(pod)) return false;
  if (podIPs(pod).length === 0) return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

/** Pods with hostname and subdomain = the Service's name get a DNS hostname (StatefulSets, headless services). */
export function shouldSetHostname(pod: Pod, service: Service): boolean {
  const spec = specOf(pod);
  return !!spec.hostname && spec.subdomain === service.metadata.name && pod.metadata.namespace === service.metadata.namespace;
}

export function podHostname(pod: Pod): string | undefined {
  return specOf(pod).hostname;
}

export function podNodeName(pod: Pod): string {
  return specOf(pod).nodeName ?? '';
}

/**
 * The port a service port reaches on this pod: a numeric targetPort as is,
 * a named one looked up among the pod's container ports of the same
 * protocol (and those of sidecars: init containers with restartPolicy
 * Always). Undefined when the pod has no such port.
 */
export function findPort(pod: Pod, servicePort: ServicePort): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') return target;
  const protocol = servicePort.protocol ?? 'TCP';
  const spec = specOf(pod);
  const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  for (const container of [...(spec.containers ?? []), ...sidecars]) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? 'TCP') === protocol) return port.containerPort;
    }
  }
  return undefined;
}

const sameLabels = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a![k] === b?.[k]);
};

/**
 * Whether a pod update may change its endpoints (deletion started,
 * readiness, IPs), and whether it may change which Services select it
 * (labels, or hostname/subdomain).
 */
export function podEndpointsChanged(old: Pod, pod: Pod): { podChanged: boolean; labelsChanged: boolean } {
  const labelsChanged = !sameLabels(old.metadata.labels, pod.metadata.labels)
    || podHostname(old) !== podHostname(pod) || specOf(old).subdomain !== specOf(pod).subdomain;
  const podChanged = old.metadata.deletionTimestamp !== pod.metadata.deletionTimestamp
    || isPodReady(old) !== isPodReady(pod)
    || podIPs(old).join(',') !== podIPs(pod).join(',')
    // A pod reaching a terminal phase leaves the endpoints.
    || isTerminal(old) !== isTerminal(pod);
  return { podChanged, labelsChanged };
}

/** Keys (`namespace/name`) of the managed Services in `services` that select these labels. */
export function servicesSelecting(services: readonly Service[], labels: Record<string, string> | undefined): Set<string> {
  const keys = new Set<string>();
  for (const service of services) {
    const selector = serviceSelector(service);
    if (selector && selectorMatches(selector, labels)) keys.add(`${service.metadata.namespace}/${service.metadata.name}`);
  }
  return keys;
}

/**
 * The Services to look at again after a pod update (upstream's
 * GetServicesToUpdateOnPodChange): none for a resync or an irrelevant
 * change; those selecting the pod when only its endpoint changed; with
 * changed labels, those it joined or left — and all of both when its
 * endpoint changed too.
 */
export function servicesToUpdateOnPodChange(services: readonly Service[], old: Pod, pod: Pod): Set<string> {
  if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return new Set();
  const { podChanged, labelsChanged } = podEndpointsChanged(old, pod);
  if (!podChanged && !labelsChanged) return new Set();
  const now = servicesSelecting(services, pod.metadata.labels);
  if (!labelsChanged) return now;
  const before = servicesSelecting(services, old.metadata.labels);
  if (podChanged) return new Set([...now, ...before]);
  return new Set([...now, ...before].filter((key) => now.has(key) !== before.has(key)));
}

/** A create refused because the namespace is being deleted: nothing to retry. */
export function isNamespaceTerminating(error: unknown): boolean {
  const causes = (error as { status?: { details?: { causes?: { type?: string }[] } } })?.status?.details?.causes ?? [];
  return causes.some((c) => c.type === 'NamespaceTerminating') || /because it is being terminated/.test((error as Error)?.message ?? '');
}
