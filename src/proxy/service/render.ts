// The whole `ip skiff` table as one `nft -f -` transaction, from the model
// (model.ts). Pure: same model, same text. The shape follows upstream
// kube-proxy's nftables mode:
//
//   nat-prerouting / nat-output ─ jump services
//     services: ip daddr . meta l4proto . th dport vmap @service-ips        (ClusterIPs, externalIPs, LB addresses)
//               ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
//   service-<svc>   ClusterIP traffic: masquerade sources outside the cluster CIDR (not the node's own), then pick an endpoint
//   external-<svc>  NodePort / external traffic: masquerade (policy Cluster) or keep the client address (Local)
//   cluster-<svc>   all usable endpoints (only for Local external policy: pods and the node short-circuit to it)
//   endpoint-<svc>__<ip>/<port>  hairpin mark (the endpoint reaching itself), the node's own connections
//                   masqueraded when the endpoint is on another node, affinity update, DNAT
//   filter-input / filter-forward / filter-output: new connections to a service without endpoints hit
//     @no-endpoint-services / @no-endpoint-nodeports → reject (RST / port unreachable), or drop when only
//     the Local policy finds nothing on this node
//   nat-postrouting ─ masquerading: packets marked 0x4000 are masqueraded
//
// One map lookup per packet decides the service, however many services there
// are; the per-service chains only hold that service's endpoints.
import { createHash } from 'node:crypto';
import type { Endpoint, ServicePortModel } from './model.ts';

export const DEFAULT_TABLE = 'skiff';
const MASQ_MARK = '0x4000';

export interface RenderOptions {
  tableName?: string;
  /** Node addresses NodePorts answer on; none: every local address (`fib daddr type local`). */
  nodeIps: string[];
  /** The cluster's pod CIDR; traffic from outside it to a ClusterIP is masqueraded. Unknown: masquerade all. */
  clusterCidr?: string;
}

export interface RenderedRuleset {
  /** Input for `nft -f -`: create-if-missing, delete, and the full table, applied atomically. */
  text: string;
  /** Rules written (map elements not counted). */
  rules: number;
  chains: number;
  /** Map and set elements written. */
  elements: number;
  /** Keys two services claimed (e.g. the same external IP and port); the first one (by name) keeps it. */
  conflicts: string[];
  /** The same table as data, for a partial sync against the table applied last (delta.ts). */
  state: RulesetState;
}

export interface RulesetState {
  table: string;
  /** What every chain depends on besides the services (node addresses, cluster CIDR): a change needs a full sync. */
  fixed: string;
  /** Chain name → rules, in order. */
  chains: Map<string, string[]>;
  /** Set name → its declaration body (`{ type …; }`). */
  sets: Map<string, string>;
  /** Verdict map name → key → verdict. */
  maps: Map<string, Map<string, string>>;
}

/** The verdict maps and their key types. */
export const MAP_TYPES: Record<string, string> = {
  'service-ips': 'ipv4_addr . inet_proto . inet_service',
  'service-nodeports': 'inet_proto . inet_service',
  'no-endpoint-services': 'ipv4_addr . inet_proto . inet_service',
  'no-endpoint-nodeports': 'inet_proto . inet_service',
};

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 8).toUpperCase();

/** nft identifiers: letters, digits and / _ . - (names of Kubernetes objects fit; anything else becomes _). */
function identifier(text: string): string {
  return text.replace(/[^A-Za-z0-9/_.-]/g, '_').slice(0, 200);
}

/** Computed once per service port object (a model is rebuilt per sync, so the cache dies with it). */
const suffixes = new WeakMap<ServicePortModel, string>();

function svcSuffix(svc: ServicePortModel): string {
  let suffix = suffixes.get(svc);
  if (suffix === undefined) {
    suffix = `${shortHash(svc.id)}-${identifier(`${svc.namespace}/${svc.name}/${svc.protocol.toLowerCase()}/${svc.portName || `p${svc.port}`}`)}`;
    suffixes.set(svc, suffix);
  }
  return suffix;
}

const endpointChain = (svc: ServicePortModel, ep: Endpoint) => `endpoint-${svcSuffix(svc)}__${ep.ip}/${ep.port}`;
const affinitySet = (svc: ServicePortModel, ep: Endpoint) => `affinity-${svcSuffix(svc)}__${ep.ip}/${ep.port}`;

/** Collects chains, sets and map elements: of the whole table, or of one service port (incremental.ts). */
export class Builder {
  readonly chains = new Map<string, string[]>();
  readonly sets = new Map<string, string>();
  /** Map name → key → verdict, in MAP_TYPES order. */
  readonly maps = new Map(Object.keys(MAP_TYPES).map((name) => [name, new Map<string, string>()]));
  readonly conflicts: string[] = [];
  rules = 0;

  chain(name: string, rules: string[]): void {
    this.chains.set(name, rules);
    this.rules += rules.filter((rule) => !rule.startsWith('type ')).length; // a base chain's hook line is a declaration
  }

  element(mapName: string, key: string, verdict: string, owner: string): void {
    const map = this.maps.get(mapName)!;
    if (map.has(key)) {
      this.conflicts.push(`${key} (${owner})`);
      return;
    }
    map.set(key, verdict);
  }
}

/**
 * Rules that send a packet to one of `endpoints`: affinity first (if any), then
 * random spreading as a cascade — endpoint i of n is taken with probability
 * 1/(n-i), which makes every endpoint equally likely. Not upstream's
 * `numgen random mod n vmap { … }`: every such inline map is a set in the
 * kernel, and adding thousands of sets (or binding one shared verdict map from
 * thousands of rules) costs time quadratic in their number — measured with
 * nft 1.0.6 / Linux 6.18: 10k services took 20 s to apply with inline vmaps,
 * 1.3 s with this cascade. Only the first packet of a connection walks it.
 */
function dispatch(svc: ServicePortModel, endpoints: Endpoint[]): string[] {
  const rules: string[] = [];
  if (svc.affinitySeconds !== undefined) {
    for (const ep of endpoints) rules.push(`ip saddr @${affinitySet(svc, ep)} goto ${endpointChain(svc, ep)}`);
  }
  endpoints.forEach((ep, i) => {
    const left = endpoints.length - i;
    rules.push(left > 1 ? `numgen random mod ${left} 0 goto ${endpointChain(svc, ep)}` : `goto ${endpointChain(svc, ep)}`);
  });
  return rules;
}

export function renderServicePort(b: Builder, svc: ServicePortModel, options: RenderOptions): void {
  const proto = svc.protocol.toLowerCase();
  const suffix = svcSuffix(svc);
  const internal = svc.internalLocal ? svc.localEndpoints : svc.clusterEndpoints;
  const external = svc.externalLocal ? svc.localEndpoints : svc.clusterEndpoints;
  const hasAny = svc.clusterEndpoints.length > 0;
  // No endpoint at all: refuse at once. Endpoints only elsewhere while the Local policy wants this node's: drop (upstream).
  const noEndpointVerdict = hasAny ? 'drop' : 'goto reject-chain';
  const owner = `${svc.namespace}/${svc.name}`;

  const clusterKey = `${svc.clusterIp} . ${proto} . ${svc.port}`;
  if (internal.length) {
    // Not the node's own connections (`fib saddr type local`): to a local endpoint the reply comes back through
    // this node anyway, and a remote endpoint's chain masquerades them (below). Masquerading them here (upstream
    // does, `fully-random`) measured 0.36× of direct pod-IP requests/s in bench:network http: at 2–3k new
    // connections/s from one node address the random source ports landed on the pods' TIME_WAIT sockets, the
    // pods dropped those SYNs by PAWS and ~0.25 % of connections stalled 1–3 s in SYN retransmits. Unmasqueraded
    // (node address, the node's own port choice): 0.90×, no stall (docs/benchmarks.md, bench:network). Plain
    // port-preserving `masquerade` was the other way out; SNAT stays `fully-random` against conntrack's port race.
    const notNode = 'fib saddr type != local jump mark-for-masquerade';
    const masquerade = options.clusterCidr ? `ip saddr != ${options.clusterCidr} ${notNode}` : notNode;
    b.chain(`service-${suffix}`, [masquerade, ...dispatch(svc, internal)]);
    b.element('service-ips', clusterKey, `goto service-${suffix}`, owner);
  } else {
    b.element('no-endpoint-services', clusterKey, noEndpointVerdict, owner);
  }

  const externalKeys = svc.externalAddresses.map((ip) => `${ip} . ${proto} . ${svc.port}`);
  const nodePortKey = svc.nodePort ? `${proto} . ${svc.nodePort}` : undefined;
  if (externalKeys.length || nodePortKey) {
    if (hasAny) {
      const rules: string[] = [];
      if (svc.externalLocal) {
        // Pods and the node itself reach an external address like a ClusterIP: all endpoints, not only local ones (upstream).
        b.chain(`cluster-${suffix}`, dispatch(svc, svc.clusterEndpoints));
        if (options.clusterCidr) rules.push(`ip saddr ${options.clusterCidr} goto cluster-${suffix}`);
        rules.push('fib saddr type local jump mark-for-masquerade', `fib saddr type local goto cluster-${suffix}`);
        if (external.length) rules.push(...dispatch(svc, external));
      } else {
        rules.push('jump mark-for-masquerade', ...dispatch(svc, external));
      }
      b.chain(`external-${suffix}`, rules);
      for (const key of externalKeys) b.element('service-ips', key, `goto external-${suffix}`, owner);
      if (nodePortKey) b.element('service-nodeports', nodePortKey, `goto external-${suffix}`, owner);
    }
    if (!external.length) {
      for (const key of externalKeys) b.element('no-endpoint-services', key, noEndpointVerdict, owner);
      if (nodePortKey) b.element('no-endpoint-nodeports', nodePortKey, noEndpointVerdict, owner);
    }
  }

  // One chain per endpoint any traffic may reach.
  const reachable = new Map<string, Endpoint>();
  for (const ep of [...internal, ...(hasAny && (externalKeys.length || nodePortKey) ? [...svc.clusterEndpoints, ...external] : [])]) {
    reachable.set(`${ep.ip}:${ep.port}`, ep);
  }
  for (const ep of reachable.values()) {
    const rules = [`ip saddr ${ep.ip} jump mark-for-masquerade`];
    // The node's own connections to another node's pod: masqueraded (the service chain leaves them unmarked).
    if (!ep.local) rules.push('fib saddr type local jump mark-for-masquerade');
    if (svc.affinitySeconds !== undefined) {
      b.sets.set(affinitySet(svc, ep), `{ type ipv4_addr; flags dynamic,timeout; timeout ${svc.affinitySeconds}s; }`);
      rules.push(`update @${affinitySet(svc, ep)} { ip saddr }`);
    }
    rules.push(`meta l4proto ${proto} dnat to ${ep.ip}:${ep.port}`);
    b.chain(endpointChain(svc, ep), rules);
  }
}

function mapText(name: string, type: string, elements: Map<string, string>): string {
  const body = elements.size ? ` elements = { ${[...elements].map(([k, v]) => `${k} : ${v}`).join(',\n    ')} }` : '';
  return `  map ${name} { type ${type} : verdict;${body} }`;
}

/** The whole table as nft input (create-if-missing, delete, the table), from its state. */
export function fullText(state: RulesetState, nodeIps: string[]): string {
  const table = state.table;
  const lines = [`table ip ${table} {}`, `delete table ip ${table}`, `table ip ${table} {`];
  lines.push(`  set nodeport-ips { type ipv4_addr;${nodeIps.length ? ` elements = { ${nodeIps.join(', ')} }` : ''} }`);
  for (const [name, elements] of state.maps) lines.push(mapText(name, MAP_TYPES[name], elements));
  for (const [name, body] of state.sets) lines.push(`  set ${name} ${body}`);
  for (const [name, rules] of state.chains) {
    lines.push(`  chain ${name} {`);
    for (const rule of rules) lines.push(`    ${rule}`);
    lines.push('  }');
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** What every chain depends on besides the services: a change of it needs a full sync. */
export const fixedOf = (options: RenderOptions) => JSON.stringify([options.nodeIps, options.clusterCidr ?? '']);

/** The base (hooked) chains and the fixed helper chains, the same whatever the services. */
export function renderFixedChains(b: Builder, options: RenderOptions): void {
  const nodePortMatch = options.nodeIps.length ? 'ip daddr @nodeport-ips' : 'fib daddr type local';

  // Base chains (hooked) and the fixed helper chains.
  b.chain('nat-prerouting', ['type nat hook prerouting priority -100; policy accept;', 'jump services']);
  b.chain('nat-output', ['type nat hook output priority -100; policy accept;', 'jump services']);
  b.chain('nat-postrouting', ['type nat hook postrouting priority 100; policy accept;', 'jump masquerading']);
  // Priorities as upstream's numbers (dstnat -100, srcnat 100). A DNATed packet no longer matches the
  // no-endpoint maps: input/forward come after prerouting, and filter-output runs after nat-output (-90).
  b.chain('filter-input', ['type filter hook input priority -110; policy accept;', 'ct state new jump check-nodeport-endpoints', 'ct state new jump check-service-endpoints']);
  b.chain('filter-forward', ['type filter hook forward priority -110; policy accept;', 'ct state new jump check-service-endpoints']);
  b.chain('filter-output', ['type filter hook output priority -90; policy accept;', 'ct state new jump check-service-endpoints', 'ct state new jump check-nodeport-endpoints']);
  b.chain('services', [
    'ip daddr . meta l4proto . th dport vmap @service-ips',
    `${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`,
  ]);
  b.chain('check-service-endpoints', ['ip daddr . meta l4proto . th dport vmap @no-endpoint-services']);
  b.chain('check-nodeport-endpoints', [`${nodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`]);
  b.chain('reject-chain', ['meta l4proto tcp reject with tcp reset', 'reject']);
  b.chain('mark-for-masquerade', [`meta mark set meta mark | ${MASQ_MARK}`]);
  b.chain('masquerading', [`meta mark & ${MASQ_MARK} == 0 return`, `meta mark set meta mark ^ ${MASQ_MARK}`, 'masquerade fully-random']);
}

export function renderRuleset(model: ServicePortModel[], options: RenderOptions): RenderedRuleset {
  const table = options.tableName ?? DEFAULT_TABLE;
  const b = new Builder();
  renderFixedChains(b, options);
  for (const svc of model) renderServicePort(b, svc, options);

  const elements = options.nodeIps.length + [...b.maps.values()].reduce((n, m) => n + m.size, 0);
  const state: RulesetState = { table, fixed: fixedOf(options), chains: b.chains, sets: b.sets, maps: b.maps };
  let text: string | undefined;
  return {
    // Written on first use: a partial sync (delta.ts) needs only the state.
    get text() {
      text ??= fullText(state, options.nodeIps);
      return text;
    },
    rules: b.rules, chains: b.chains.size, elements, conflicts: b.conflicts, state,
  };
}
