// Reading query names: which part of the cluster zone a name addresses
// (the Kubernetes DNS specification's layout, read right to left as CoreDNS's
// kubernetes plugin does), and the address inside a reverse (PTR) name.
import { isIP } from 'node:net';

/** Lower case, no trailing dot: the form names are compared in. */
export function canonicalName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** True when `name` is `zone` or below it (both canonical). */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

export type ClusterName =
  | { kind: 'apex' }
  /** Too long, or neither `svc` nor `pod` where one must be: NXDOMAIN. */
  | { kind: 'invalid' }
  | {
      kind: 'svc' | 'pod';
      namespace: string;
      /** Service name, or the dashed pod address for `pod`; '' when the name stops at the namespace. */
      name: string;
      /** Endpoint hostname (`host.svc.ns.svc.zone`). */
      endpoint?: string;
      /** Named port and protocol (`_port._proto.svc.ns.svc.zone`), underscores removed. */
      port?: string;
      protocol?: string;
    };

const stripUnderscore = (label: string) => (label.startsWith('_') ? label.slice(1) : label);

/** Parse a canonical name inside `zone`. */
export function parseClusterName(name: string, zone: string): ClusterName {
  if (name === zone) return { kind: 'apex' };
  const labels = name.slice(0, name.length - zone.length - 1).split('.');
  const kind = labels.pop()!;
  if (kind !== 'svc' && kind !== 'pod') return { kind: 'invalid' };
  const namespace = labels.pop() ?? '';
  const serviceName = labels.pop() ?? '';
  if (labels.length === 0) return { kind, namespace, name: serviceName };
  if (labels.length === 1) return { kind, namespace, name: serviceName, endpoint: labels[0] };
  if (labels.length === 2) return { kind, namespace, name: serviceName, port: stripUnderscore(labels[0]), protocol: stripUnderscore(labels[1]) };
  // Longer names (e.g. a search-path suffix added to a full name) address nothing.
  return { kind: 'invalid' };
}

export const REVERSE_ZONES = ['in-addr.arpa', 'ip6.arpa'];

export function isReverseName(name: string): boolean {
  return REVERSE_ZONES.some((zone) => inZone(name, zone));
}

/** The address a full reverse name stands for, or undefined for partial/invalid names. */
export function addressFromReverseName(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const octets = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (octets.length !== 4) return undefined;
    const ip = octets.reverse().join('.');
    return isIP(ip) === 4 ? ip : undefined;
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || nibbles.some((n) => !/^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    return normalizeIp(hex.match(/.{4}/g)!.join(':'));
  }
  return undefined;
}

/** One spelling per address (RFC 5952 for IPv6), so addresses from names and from objects compare equal. */
export function normalizeIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = expandIpv6(ip).map((group) => group.replace(/^0+(?=.)/, ''));
  // Compress the longest run (of two or more) of zero groups.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

function expandIpv6(ip: string): string[] {
  const [head, tail] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array(missing).fill('0'), ...right].map((g) => g.padStart(4, '0'));
}

/** The address a pod-record label spells (`10-1-2-3`, or dashes for colons in IPv6), if it is one. */
export function addressFromPodLabel(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const ip = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return isIP(ip) ? normalizeIp(ip) : undefined;
}

/** An endpoint's DNS label: its hostname, else its address with dashes. */
export function endpointLabel(endpoint: { hostname?: string }, address: string): string {
  if (endpoint.hostname) return endpoint.hostname;
  return address.replaceAll('.', '-').replaceAll(':', '-');
}
