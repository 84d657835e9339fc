// Answering one question from the cluster view, the way CoreDNS's kubernetes
// plugin answers it (the Kubernetes DNS-Based Service Discovery spec):
// - `svc.ns.svc.zone`: A/AAAA with the ClusterIPs; headless → the ready
//   endpoint addresses; ExternalName → CNAME (A/AAAA/CNAME questions only).
// - `_port._proto.svc.ns.svc.zone` and `svc.ns.svc.zone` SRV: one record per
//   (named) port; headless → one per endpoint, its target the endpoint's name.
// - `host.svc.ns.svc.zone`: the endpoint with that hostname (or dashed address).
// - `a-b-c-d.ns.pod.zone`: pod records (`pods insecure` by default).
// - PTR for ClusterIPs and ready endpoint addresses.
// A name that does not exist is NXDOMAIN; a name that exists without records
// of the asked type is NODATA (NOERROR, no answer); both carry the zone's SOA.
// Names outside the zone, and reverse names the cluster does not know, are
// for the upstream resolvers.
import { isIP } from 'node:net';
import type { Answer, Question } from 'dns-packet';
import { addressFromPodLabel, addressFromReverseName, canonicalName, endpointLabel, inZone, isReverseName, normalizeIp, parseClusterName, type ClusterName } from './names.ts';
import { clusterIps, isHeadless, isReadyEndpoint, podIps, SERVICE_NAME_LABEL, type ClusterView } from './types.ts';

/** CoreDNS's `pods` option: answer any well-formed pod name, only names of existing pods, or none. */
export type PodMode = 'insecure' | 'verified' | 'disabled';

export interface ResolverConfig {
  view: ClusterView;
  /** Canonical: lower case, no trailing dot. */
  zone: string;
  ttlSeconds: number;
  podMode: PodMode;
  /** Addresses of the DNS server itself, for `ns.dns.<zone>` and the NS glue. */
  nameserverAddresses: () => string[];
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';

export interface AnswerResolution {
  kind: 'answer';
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** An ExternalName target outside the zone: the server asks upstream and appends what it hears. */
  chase?: { name: string; type: 'A' | 'AAAA' };
}

export type Resolution = AnswerResolution | { kind: 'forward' };

/** What a cluster name stands for: addresses (with port and SRV target), or an ExternalName. */
interface ClusterRecord {
  ip?: string;
  cname?: string;
  /** -1 when the endpoints have no ports (addresses still answer A/AAAA). */
  port: number;
  /** Canonical name an SRV record points at. */
  target: string;
}

const VERSION_TXT = '1.1.0';
const MAX_CNAME_DEPTH = 8;

export function resolveQuestion(config: ResolverConfig, question: Question): Resolution {
  const name = canonicalName(question.name);
  if (inZone(name, config.zone)) return resolveInZone(config, question, 0);
  if (question.type === 'PTR' && isReverseName(name)) {
    const address = addressFromReverseName(name);
    const targets = address ? reverseNames(config, address) : [];
    // Unknown addresses fall through to upstream, as `fallthrough in-addr.arpa ip6.arpa` does.
    if (targets.length === 0) return { kind: 'forward' };
    return answer('NOERROR', targets.map((target) => record(config, question.name, 'PTR', target)));
  }
  return { kind: 'forward' };
}

function resolveInZone(config: ResolverConfig, question: Question, depth: number): AnswerResolution {
  const name = canonicalName(question.name);
  const { zone } = config;
  const type = question.type as string;
  if (type === 'AXFR' || type === 'IXFR') return answer('REFUSED', []);
  const soa = () => [soaRecord(config, question.name)];
  const noData = (): AnswerResolution => ({ ...answer('NOERROR', []), authorities: soa() });

  if (name === zone) {
    if (type === 'SOA') return answer('NOERROR', soa());
    if (type === 'NS') {
      const nameserver = `ns.dns.${zone}`;
      return { ...answer('NOERROR', [record(config, question.name, 'NS', nameserver)]), additionals: addressRecords(config, nameserver, config.nameserverAddresses()) };
    }
    return noData();
  }
  if (name === `dns-version.${zone}` && type === 'TXT') return answer('NOERROR', [record(config, question.name, 'TXT', VERSION_TXT)]);
  if (name === `ns.dns.${zone}`) {
    const answers = type === 'A' || type === 'AAAA' ? addressRecords(config, question.name, config.nameserverAddresses(), type) : [];
    return answers.length ? answer('NOERROR', answers) : noData();
  }

  const records = findRecords(config, parseClusterName(name, zone));
  if (records === undefined) {
    // Before the caches are filled a missing name may only be missing from us.
    const rcode = config.view.hasSynced() ? 'NXDOMAIN' : 'SERVFAIL';
    return { ...answer(rcode, []), authorities: rcode === 'NXDOMAIN' ? soa() : [] };
  }

  const cnames = records.filter((r) => r.cname);
  if (cnames.length > 0 && (type === 'A' || type === 'AAAA' || type === 'CNAME')) {
    const result = answer('NOERROR', cnames.map((r) => record(config, question.name, 'CNAME', r.cname!)));
    const target = cnames[0].cname!;
    if (type === 'CNAME') return result;
    if (!inZone(target, zone)) return { ...result, chase: { name: target, type } };
    if (depth >= MAX_CNAME_DEPTH) return result;
    const inner = resolveInZone(config, { name: target, type }, depth + 1);
    return { ...result, answers: [...result.answers, ...inner.answers], additionals: inner.additionals, chase: inner.chase };
  }

  const addresses = records.filter((r) => r.ip);
  if (type === 'A' || type === 'AAAA') {
    const answers = addressRecords(config, question.name, unique(addresses.map((r) => r.ip!)), type);
    return answers.length ? answer('NOERROR', answers) : noData();
  }
  if (type === 'SRV') {
    const srv = uniqueBy(addresses.filter((r) => r.port >= 0), (r) => `${r.target}:${r.port}`);
    if (srv.length === 0) return noData();
    // CoreDNS spreads a weight of 100 over the records of one priority.
    const weight = Math.floor(100 / srv.length);
    const answers = srv.map((r) => ({ ...record(config, question.name, 'SRV', ''), data: { priority: 0, weight, port: r.port, target: r.target } }) as Answer);
    const glue = uniqueBy(addresses, (r) => `${r.target} ${r.ip}`);
    const additionals = glue.flatMap((r) => addressRecords(config, r.target, [r.ip!]));
    return { ...answer('NOERROR', answers), additionals };
  }
  return noData();
}

/** The records a parsed name stands for; undefined when the name does not exist (NXDOMAIN). */
function findRecords(config: ResolverConfig, parsed: ClusterName): ClusterRecord[] | undefined {
  const { view, zone } = config;
  if (parsed.kind === 'invalid' || parsed.kind === 'apex') return undefined;
  if (!parsed.namespace || !view.namespaceExists(parsed.namespace)) return undefined;
  if (parsed.name === '') return [];

  if (parsed.kind === 'pod') {
    if (config.podMode === 'disabled' || parsed.endpoint !== undefined || parsed.port !== undefined) return undefined;
    const ip = addressFromPodLabel(parsed.name);
    if (!ip) return undefined;
    if (config.podMode === 'verified') {
      const found = view.podsByIp(ip).some((pod) => pod.metadata.namespace === parsed.namespace && podIps(pod).map(normalizeIp).includes(ip));
      if (!found) return undefined;
    }
    return [{ ip, port: -1, target: `${parsed.name}.${parsed.namespace}.pod.${zone}` }];
  }

  const service = view.service(parsed.namespace, parsed.name);
  if (!service) return undefined;
  const serviceDomain = `${parsed.name}.${parsed.namespace}.svc.${zone}`;
  const portMatches = (name: string | undefined, protocol: string | undefined) =>
    (parsed.port === undefined || parsed.port === (name ?? '').toLowerCase()) &&
    (parsed.protocol === undefined || parsed.protocol === (protocol ?? 'TCP').toLowerCase());

  if (service.spec?.type === 'ExternalName') {
    const target = canonicalName(service.spec.externalName ?? '');
    // An ExternalName spelled as an address is not a CNAME; CoreDNS answers nothing for it.
    if (parsed.endpoint !== undefined || !target || isIP(target)) return undefined;
    return [{ cname: target, port: -1, target }];
  }

  const records: ClusterRecord[] = [];
  if (isHeadless(service) || parsed.endpoint !== undefined) {
    for (const slice of view.endpointSlices(parsed.namespace, parsed.name)) {
      const ports = slice.ports?.length ? slice.ports : [{ name: undefined, port: -1, protocol: undefined }];
      for (const endpoint of slice.endpoints ?? []) {
        if (!isReadyEndpoint(endpoint)) continue;
        for (const address of endpoint.addresses ?? []) {
          const label = endpointLabel(endpoint, address).toLowerCase();
          if (parsed.endpoint !== undefined && parsed.endpoint !== label) continue;
          for (const port of ports) {
            if (!portMatches(port.name, port.protocol)) continue;
            records.push({ ip: normalizeIp(address), port: port.port ?? -1, target: `${label}.${serviceDomain}` });
          }
        }
      }
    }
  } else {
    for (const port of service.spec?.ports ?? []) {
      if (!portMatches(port.name, port.protocol)) continue;
      for (const ip of clusterIps(service)) records.push({ ip: normalizeIp(ip), port: port.port, target: serviceDomain });
    }
  }
  return records.length ? records : undefined;
}

/** PTR targets for an address: the service owning the ClusterIP, else every ready endpoint at it. */
function reverseNames(config: ResolverConfig, address: string): string[] {
  const { view, zone } = config;
  const ip = normalizeIp(address);
  const service = view.servicesByClusterIp(ip)[0];
  if (service) return [`${service.metadata.name}.${service.metadata.namespace}.svc.${zone}`];
  const names: string[] = [];
  for (const slice of view.endpointSlicesByAddress(ip)) {
    const serviceName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!serviceName) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (!isReadyEndpoint(endpoint) || !endpoint.addresses?.some((a) => normalizeIp(a) === ip)) continue;
      names.push(`${endpointLabel(endpoint, ip).toLowerCase()}.${serviceName}.${slice.metadata.namespace}.svc.${zone}`);
    }
  }
  return unique(names);
}

function answer(rcode: Rcode, answers: Answer[]): AnswerResolution {
  return { kind: 'answer', rcode, answers, authorities: [], additionals: [] };
}

function record(config: ResolverConfig, name: string, type: string, data: unknown): Answer {
  return { name, type, class: 'IN', ttl: config.ttlSeconds, data } as Answer;
}

/** A or AAAA records for the addresses of the asked family (both families when no type is given). */
function addressRecords(config: ResolverConfig, name: string, addresses: string[], type?: 'A' | 'AAAA'): Answer[] {
  return addresses
    .filter((ip) => type === undefined || isIP(ip) === (type === 'A' ? 4 : 6))
    .map((ip) => record(config, name, isIP(ip) === 4 ? 'A' : 'AAAA', ip));
}

/** The zone's SOA, named in the asker's spelling of the zone (CoreDNS keeps the query's case). */
function soaRecord(config: ResolverConfig, queryName: string): Answer {
  const bare = queryName.replace(/\.$/, '');
  const zoneName = bare.slice(bare.length - config.zone.length);
  return record(config, zoneName, 'SOA', {
    mname: `ns.dns.${config.zone}`,
    rname: `hostmaster.${config.zone}`,
    serial: config.view.lastChangeSeconds() >>> 0,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: config.ttlSeconds,
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function uniqueBy<T>(items: T[], key: (item: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
