// EndpointSlice building blocks (upstream's k8s.io/endpointslice utils): the
// endpoint a pod gives for one address type, the ports a pod resolves a
// Service's ports to, the keys that group and match them, and new slices
// with the labels and ownerReference the controller puts on them.
import type { KubeObject, OwnerReference } from '../../client/interface.ts';
import { canonicalJson } from '../framework/template-hash.ts';
import type { Pod } from '../framework/types.ts';
import {
  findPort, HEADLESS_LABEL, isIPv6, isPodReady, isServiceIPSet, MANAGED_BY_LABEL, podHostname, podIPs, podNodeName,
  SERVICE_NAME_LABEL, shouldSetHostname, type Service,
} from './pod-endpoints.ts';

/** The value of endpointslice.kubernetes.io/managed-by on the slices this controller owns. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const endpointSlicesResource = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' } as const;

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface SliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  [field: string]: unknown;
}

export interface SlicePort {
  name?: string;
  protocol?: string;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints?: SliceEndpoint[] | null;
  ports?: SlicePort[] | null;
}

export interface Node extends KubeObject {}

/**
 * The address types a Service's slices carry: one per entry of
 * spec.ipFamilies; without families (an old server), the cluster IP's
 * family, or both for a headless Service.
 */
export function addressTypesFor(service: Service): AddressType[] {
  const families = service.spec?.ipFamilies ?? [];
  const types = new Set<AddressType>();
  for (const family of families) {
    if (family === 'IPv4') types.add('IPv4');
    if (family === 'IPv6') types.add('IPv6');
  }
  if (types.size > 0) return [...types];
  if (isServiceIPSet(service)) return [isIPv6(service.spec!.clusterIP!) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/**
 * The endpoint a pod gives a Service for one address type (upstream's
 * podToEndpoint): serving = Ready, terminating = being deleted, ready =
 * serving and not terminating — or always with publishNotReadyAddresses.
 */
export function podToEndpoint(options: { pod: Pod; node: Node | undefined; service: Service; addressType: AddressType }): SliceEndpoint {
  const { pod, node, service, addressType } = options;
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = service.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const endpoint: SliceEndpoint = {
    addresses: podIPs(pod).filter((ip) => isIPv6(ip) === (addressType === 'IPv6')),
    conditions: { ready, serving, terminating },
  };
  if (shouldSetHostname(pod, service)) endpoint.hostname = podHostname(pod);
  endpoint.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  const nodeName = podNodeName(pod);
  if (nodeName) endpoint.nodeName = nodeName;
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  if (zone) endpoint.zone = zone;
  return endpoint;
}

/**
 * The Service's ports as this pod resolves them: a port whose named
 * targetPort the pod lacks is left out. A headless Service may have none.
 */
export function endpointPortsFor(service: Service, pod: Pod): SlicePort[] {
  const ports: SlicePort[] = [];
  for (const servicePort of service.spec?.ports ?? []) {
    const port = findPort(pod, servicePort);
    if (port === undefined) continue;
    const entry: SlicePort = { name: servicePort.name ?? '', protocol: servicePort.protocol ?? 'TCP', port };
    if (servicePort.appProtocol !== undefined) entry.appProtocol = servicePort.appProtocol;
    ports.push(entry);
  }
  return ports;
}

const normalPort = (p: SlicePort) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port ?? null, appProtocol: p.appProtocol ?? null });

/** Identifies a set of ports whatever their order: pods resolving ports alike share slices. */
export function portMapKey(ports: readonly SlicePort[] | null | undefined): string {
  return (ports ?? []).map((p) => canonicalJson(normalPort(p))).sort().join('|');
}

/** Identifies an endpoint across syncs: its addresses, hostname and pod (upstream's endpoint hash). */
export function endpointKey(endpoint: SliceEndpoint): string {
  return canonicalJson({
    addresses: [...endpoint.addresses].sort(),
    hostname: endpoint.hostname ?? '',
    namespace: endpoint.targetRef?.namespace ?? '',
    name: endpoint.targetRef?.name ?? '',
  });
}

const withoutResourceVersion = (ref: ObjectReference | undefined) => (ref ? { ...ref, resourceVersion: undefined } : null);

/** Equal in what the key does not cover: node, zone, conditions, the pod reference (not its resourceVersion). */
export function endpointsEqualBeyondKey(a: SliceEndpoint, b: SliceEndpoint): boolean {
  const facts = (e: SliceEndpoint) => canonicalJson({
    nodeName: e.nodeName ?? null,
    zone: e.zone ?? null,
    ready: e.conditions?.ready ?? null,
    serving: e.conditions?.serving ?? null,
    terminating: e.conditions?.terminating ?? null,
    targetRef: withoutResourceVersion(e.targetRef),
  });
  return facts(a) === facts(b);
}

const isReservedLabel = (key: string) => key === SERVICE_NAME_LABEL || key === MANAGED_BY_LABEL || key === HEADLESS_LABEL;

/**
 * A slice's labels: the Service's own (but the reserved ones), the headless
 * marker when it has no cluster IP, the service name and the manager.
 * `changed`: the Service's labels differ from those the slice carries.
 */
export function sliceLabels(slice: EndpointSlice | undefined, service: Service): { labels: Record<string, string>; changed: boolean } {
  const fromService = Object.fromEntries(Object.entries(service.metadata.labels ?? {}).filter(([k]) => !isReservedLabel(k)));
  const onSlice = Object.fromEntries(Object.entries(slice?.metadata.labels ?? {}).filter(([k]) => !isReservedLabel(k)));
  const changed = canonicalJson(fromService) !== canonicalJson(onSlice);
  const labels: Record<string, string> = { ...fromService };
  if (!isServiceIPSet(service)) labels[HEADLESS_LABEL] = '';
  labels[SERVICE_NAME_LABEL] = service.metadata.name!;
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
  return { labels, changed };
}

/** The controller reference every slice of a Service carries. */
export function serviceOwnerReference(service: Service): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: service.metadata.name!, uid: service.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** Owned by this very Service (same uid), not a deleted namesake. */
export function ownedBy(slice: EndpointSlice, service: Service): boolean {
  return (slice.metadata.ownerReferences ?? []).some((o) => o.uid === service.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

/** A new, empty slice for a Service (named by the server from `<service>-`). */
export function newSlice(service: Service, ports: SlicePort[], addressType: AddressType): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${service.metadata.name}-`,
      namespace: service.metadata.namespace,
      labels: sliceLabels(undefined, service).labels,
      ownerReferences: [serviceOwnerReference(service)],
    },
    addressType,
    endpoints: [],
    ports,
  };
}
