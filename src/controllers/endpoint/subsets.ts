// The subsets of a v1 Endpoints object for a Service (upstream's endpoints
// controller syncService and endpoints.RepackSubsets): each selected pod's
// address of the Service's first IP family, ready or not ready, per
// resolved port; then regrouped so that addresses offering the same ports
// (with the same readiness) share one subset, sorted so that equal content
// always gives equal objects; and truncated at 1000 addresses.
import { canonicalJson } from '../framework/template-hash.ts';
import type { Pod } from '../framework/types.ts';
import {
  findPort, isIPv6, isPodReady, podHostname, podIPs, podNodeName, shouldPodBeInEndpoints, shouldSetHostname, type Service,
} from '../endpointslice/pod-endpoints.ts';

/** Upstream's maxCapacity: addresses an Endpoints object holds at most. */
export const MAX_ENDPOINTS_ADDRESSES = 1000;

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string; resourceVersion?: string; [field: string]: unknown };
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

export interface ComputedSubsets {
  subsets: EndpointSubset[];
  /** Ready and not-ready address/port pairs before repacking (for the log and tests). */
  ready: number;
  notReady: number;
}

/** The IP family the Service's addresses come from: its first, else the cluster IP's, else the pod's own. */
function familyIsIPv6(service: Service, pod: Pod): boolean {
  const first = service.spec?.ipFamilies?.[0];
  if (first) return first === 'IPv6';
  const clusterIP = service.spec?.clusterIP;
  if (clusterIP && clusterIP !== 'None') return isIPv6(clusterIP);
  return isIPv6(podIPs(pod)[0] ?? '');
}

function podAddress(service: Service, pod: Pod): EndpointAddress | undefined {
  const v6 = familyIsIPv6(service, pod);
  const ip = podIPs(pod).find((candidate) => isIPv6(candidate) === v6);
  if (!ip) return undefined;
  const address: EndpointAddress = { ip };
  if (shouldSetHostname(pod, service)) address.hostname = podHostname(pod);
  const nodeName = podNodeName(pod);
  if (nodeName) address.nodeName = nodeName;
  address.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
  return address;
}

export function computeSubsets(service: Service, pods: readonly Pod[]): ComputedSubsets {
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  const servicePorts = service.spec?.ports ?? [];
  const raw: EndpointSubset[] = [];
  let ready = 0;
  let notReady = 0;
  const add = (pod: Pod, address: EndpointAddress, port: EndpointPort | undefined) => {
    const ports = port ? [port] : [];
    if (publishNotReady || isPodReady(pod)) {
      raw.push({ addresses: [address], ports });
      ready++;
    } else {
      raw.push({ notReadyAddresses: [address], ports });
      notReady++;
    }
  };
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const address = podAddress(service, pod);
    if (!address) continue;
    // A headless Service may have no ports: bare addresses.
    if (servicePorts.length === 0) {
      if (service.spec?.clusterIP === 'None') add(pod, address, undefined);
      continue;
    }
    for (const servicePort of servicePorts) {
      const port = findPort(pod, servicePort);
      if (port === undefined) continue;
      const entry: EndpointPort = { ...(servicePort.name ? { name: servicePort.name } : {}), port, protocol: servicePort.protocol ?? 'TCP' };
      if (servicePort.appProtocol !== undefined) entry.appProtocol = servicePort.appProtocol;
      add(pod, address, entry);
    }
  }
  return { subsets: repackSubsets(raw), ready, notReady };
}

const addressKey = (a: EndpointAddress) => `${a.ip}/${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort) => JSON.stringify([p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? '']);
const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const compareAddresses = (a: EndpointAddress, b: EndpointAddress) => compareText(a.ip, b.ip) || compareText(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');

/**
 * Regroup: each port maps to the addresses offering it (ready wins when an
 * address is listed both ways); ports with the same address set share a
 * subset. Ports, addresses and subsets come out sorted.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  // port key → (address key → ready); the sentinel '' stands for "no ports".
  const byPort = new Map<string, { port: EndpointPort | undefined; members: Map<string, boolean> }>();
  const note = (port: EndpointPort | undefined, address: EndpointAddress, ready: boolean) => {
    const akey = addressKey(address);
    if (!addresses.has(akey)) addresses.set(akey, address);
    const pkey = port ? portKey(port) : '';
    let entry = byPort.get(pkey);
    if (!entry) byPort.set(pkey, entry = { port, members: new Map() });
    if (!entry.members.get(akey)) entry.members.set(akey, ready);
  };
  for (const subset of subsets) {
    const ports: (EndpointPort | undefined)[] = subset.ports?.length ? subset.ports : [undefined];
    for (const port of ports) {
      for (const address of subset.addresses ?? []) note(port, address, true);
      for (const address of subset.notReadyAddresses ?? []) note(port, address, false);
    }
  }
  // Address set (with readiness) → the ports offered by exactly those addresses.
  const groups = new Map<string, { members: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, members } of byPort.values()) {
    const setKey = [...members].map(([k, r]) => `${k}=${r}`).sort().join(',');
    let group = groups.get(setKey);
    if (!group) groups.set(setKey, group = { members, ports: [] });
    if (port) group.ports.push(port);
  }
  const result: EndpointSubset[] = [];
  for (const { members, ports } of groups.values()) {
    const ready = [...members].filter(([, r]) => r).map(([k]) => addresses.get(k)!).sort(compareAddresses);
    const notReady = [...members].filter(([, r]) => !r).map(([k]) => addresses.get(k)!).sort(compareAddresses);
    const subset: EndpointSubset = {};
    if (ready.length) subset.addresses = ready;
    if (notReady.length) subset.notReadyAddresses = notReady;
    if (ports.length) subset.ports = ports.sort((a, b) => compareText(portKey(a), portKey(b)));
    result.push(subset);
  }
  const subsetKey = (s: EndpointSubset) => JSON.stringify([(s.ports ?? []).map(portKey), (s.addresses ?? []).map(addressKey), (s.notReadyAddresses ?? []).map(addressKey)]);
  return result.sort((a, b) => compareText(subsetKey(a), subsetKey(b)));
}

const addressCount = (subsets: readonly EndpointSubset[]) => subsets.reduce((n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);

/**
 * Cut the subsets down to MAX_ENDPOINTS_ADDRESSES addresses, each subset
 * keeping its proportional share (rounded up, the last ones getting what is
 * left); ready addresses are kept before not-ready ones. Returns undefined
 * when nothing had to go.
 */
export function truncateSubsets(subsets: readonly EndpointSubset[], max = MAX_ENDPOINTS_ADDRESSES): EndpointSubset[] | undefined {
  const totalReady = subsets.reduce((n, s) => n + (s.addresses?.length ?? 0), 0);
  const totalNotReady = subsets.reduce((n, s) => n + (s.notReadyAddresses?.length ?? 0), 0);
  if (totalReady + totalNotReady <= max) return undefined;
  const truncateReady = totalReady > max;
  const budget = truncateReady ? max : max - totalReady;
  const total = truncateReady ? totalReady : totalNotReady;
  let left = budget;
  return subsets.map((subset) => {
    const pool = (truncateReady ? subset.addresses : subset.notReadyAddresses) ?? [];
    const share = Math.min(Math.ceil((pool.length / total) * budget), left);
    const kept = pool.slice(0, share);
    left -= kept.length;
    const out: EndpointSubset = { ...subset };
    if (truncateReady) {
      out.addresses = kept;
      delete out.notReadyAddresses;
    } else {
      out.notReadyAddresses = kept;
    }
    if (out.addresses?.length === 0) delete out.addresses;
    if (out.notReadyAddresses?.length === 0) delete out.notReadyAddresses;
    return out;
  }).filter((s) => (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0) > 0);
}

/** The over-capacity annotation is as it should be: absent, and the subsets within capacity. */
export function capacityAnnotationCorrect(annotations: Record<string, string> | undefined, subsets: readonly EndpointSubset[]): boolean {
  return addressCount(subsets) <= MAX_ENDPOINTS_ADDRESSES && !(annotations && OVER_CAPACITY_ANNOTATION in annotations);
}

export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';

/** Equal subsets, ignoring the pods' resourceVersions (an annotation change on a pod must not rewrite Endpoints). */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  const strip = (subsets: readonly EndpointSubset[] | undefined) => canonicalJson((subsets ?? []).map((s) => {
    const address = (x: EndpointAddress) => [x.ip, x.hostname ?? '', x.nodeName ?? '', x.targetRef ? { ...x.targetRef, resourceVersion: undefined } : null];
    return [(s.addresses ?? []).map(address), (s.notReadyAddresses ?? []).map(address), (s.ports ?? []).map((p) => [p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? ''])];
  }));
  return strip(a) === strip(b);
}
