// Cluster DNS on a node: the agent runs `startClusterDns` on its pod bridge's
// gateway address (the first address of the node's pod CIDR) and publishes
// that address as this node's endpoint of the selector-less kube-dns Service
// (kube-system/kube-dns, made by the API server's bootstrap). With the
// Service's `internalTrafficPolicy: Local` the service proxy sends every
// pod's queries to the DNS server of its own node — one DNS server per node,
// as k3s's NodeLocal DNS cache would, without a CoreDNS Deployment.
//
// Only the gateway address is bound, never 0.0.0.0: the node's LAN address
// must not become an open resolver.
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { startClusterDns, type ClusterDns } from './server.ts';
import type { Upstream } from './upstream.ts';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_SERVICE = 'kube-dns';
/** The managed-by value of the slices node agents publish (the endpointslice controller leaves them alone). */
export const NODE_DNS_MANAGER = 'skiff-agent';
const endpointSlices = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' } as const;
const MAX_NAME = 253;

export interface NodeDnsSliceOptions {
  nodeName: string;
  nodeUid: string;
  /** The address the node's DNS server listens on. */
  address: string;
  port: number;
}

/** `kube-dns-<node>`, shortened with a hash when the node's name is too long for an object name. */
export function nodeDnsSliceName(nodeName: string): string {
  const name = `${KUBE_DNS_SERVICE}-${nodeName}`;
  if (name.length <= MAX_NAME) return name;
  const hash = createHash('sha256').update(nodeName).digest('hex').slice(0, 10);
  return `${name.slice(0, MAX_NAME - hash.length - 1).replace(/[-.]+$/, '')}-${hash}`;
}

/** This node's EndpointSlice of kube-dns, owned by its Node (the garbage collector removes it with the Node). */
export function nodeDnsEndpointSlice(options: NodeDnsSliceOptions): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: {
      name: nodeDnsSliceName(options.nodeName), namespace: KUBE_DNS_NAMESPACE,
      labels: { 'kubernetes.io/service-name': KUBE_DNS_SERVICE, 'endpointslice.kubernetes.io/managed-by': NODE_DNS_MANAGER },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: options.nodeName, uid: options.nodeUid }],
    },
    addressType: options.address.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [options.address], conditions: { ready: true, serving: true, terminating: false }, nodeName: options.nodeName }],
    ports: [{ name: 'dns', port: options.port, protocol: 'UDP' }, { name: 'dns-tcp', port: options.port, protocol: 'TCP' }],
  };
}

/** True when `current` already says what `wanted` says (labels, owner, endpoints, ports). */
export function sliceUpToDate(current: KubeObject, wanted: KubeObject): boolean {
  const labelsOk = Object.entries(wanted.metadata.labels ?? {}).every(([k, v]) => current.metadata.labels?.[k] === v);
  const ownerOk = JSON.stringify(current.metadata.ownerReferences ?? []) === JSON.stringify(wanted.metadata.ownerReferences);
  const same = (field: string) => JSON.stringify(current[field]) === JSON.stringify(wanted[field]);
  return labelsOk && ownerOk && same('addressType') && same('endpoints') && same('ports');
}

/** Create or correct this node's slice; returns what was done (for logs and tests). */
export async function publishNodeDnsSlice(options: { client: ApiClient } & Omit<NodeDnsSliceOptions, 'nodeUid'>): Promise<'created' | 'updated' | 'unchanged'> {
  const { client } = options;
  const node = await client.get({ ...resources.nodes, name: options.nodeName });
  const wanted = nodeDnsEndpointSlice({ ...options, nodeUid: node.metadata.uid! });
  const ref = { ...endpointSlices, namespace: KUBE_DNS_NAMESPACE, name: wanted.metadata.name };
  let current: KubeObject | undefined;
  try {
    current = await client.get(ref);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!current) {
    await client.create({ ...endpointSlices, namespace: KUBE_DNS_NAMESPACE }, wanted);
    return 'created';
  }
  if (sliceUpToDate(current, wanted)) return 'unchanged';
  const labels = { ...current.metadata.labels, ...wanted.metadata.labels };
  await client.update(ref, { ...wanted, metadata: { ...current.metadata, labels, ownerReferences: wanted.metadata.ownerReferences } });
  return 'updated';
}

/**
 * The cluster DNS address(es) pods are told about: `configured` (--cluster-dns,
 * "" = none) or else the ClusterIPs of kube-system/kube-dns as the API has them.
 */
export async function clusterDnsAddresses(options: { client: ApiClient; configured?: string; warn?: (message: string) => void }): Promise<string[]> {
  if (options.configured !== undefined) return options.configured.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    const service = await options.client.get({ ...resources.services, namespace: KUBE_DNS_NAMESPACE, name: KUBE_DNS_SERVICE });
    const spec = (service.spec ?? {}) as { clusterIP?: string; clusterIPs?: string[] };
    return (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None');
  } catch (error) {
    options.warn?.(`no cluster DNS for pods: kube-system/kube-dns: ${(error as Error).message}`);
    return [];
  }
}

function ipv4ToNumber(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  return m ? ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0 : undefined;
}

/** Whether an IPv4 address (also as ::ffff:a.b.c.d) lies in an IPv4 CIDR. */
export function inIpv4Cidr(address: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const ip = ipv4ToNumber(address.replace(/^::ffff:/i, ''));
  const start = ipv4ToNumber(base);
  const prefix = Number(bits);
  if (ip === undefined || start === undefined || !(prefix >= 0 && prefix <= 32)) return false;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((ip & mask) >>> 0) === ((start & mask) >>> 0);
}

/** Clients in `cidrs`, loopback, or any address of this node (hostNetwork pods, the node itself). */
export function nodeClientFilter(cidrs: string[], localAddresses: () => string[] = cachedLocalAddresses()): (address: string) => boolean {
  return (address) => {
    const plain = address.replace(/^::ffff:/i, '');
    if (plain === '::1' || inIpv4Cidr(plain, '127.0.0.0/8')) return true;
    if (cidrs.some((cidr) => inIpv4Cidr(plain, cidr))) return true;
    return localAddresses().includes(plain);
  };
}

/** The node's interface addresses, read at most every 5 s (a query must not cost a getifaddrs). */
function cachedLocalAddresses(): () => string[] {
  let addresses: string[] = [];
  let readAt = 0;
  return () => {
    if (Date.now() - readAt > 5000) {
      addresses = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address));
      readAt = Date.now();
    }
    return addresses;
  };
}

export interface NodeDnsOptions {
  client: ApiClient;
  nodeName: string;
  /** The pod bridge's gateway address: the only address the server listens on. */
  address: string;
  /** Makes sure `address` exists on this node (creates the pod bridge) before binding. */
  ensureAddress?: () => Promise<void>;
  /** Default cluster.local. */
  zone?: string;
  /**
   * IPv4 ranges whose clients are answered (the node's pod CIDR, the cluster
   * CIDR) besides the node's own addresses; undefined: everyone. Linux
   * accepts a packet for any local address on any interface, so a LAN host
   * routing the gateway address to this node would otherwise get answers.
   */
  clientCidrs?: string[];
  /** Default 53. */
  port?: number;
  /** The node's resolv.conf (kubelet's --resolv-conf) whose nameservers get the other names; default /etc/resolv.conf. */
  resolvConfPath?: string;
  upstreams?: Upstream[];
  /** How often the slice is checked and corrected (default 30 s). */
  republishMs?: number;
  /** First retry delay after a failed start or publish (default 1 s, doubling up to 30 s). */
  retryMs?: number;
  logger?: { info(message: string): void; warn(message: string): void };
}

export interface NodeDns {
  /** Resolves once the server listens and the slice was published the first time (rejects only on stop). */
  readonly ready: Promise<{ port: number }>;
  stop(): Promise<void>;
}

/**
 * Starts serving in the background: retries until the address exists and the
 * port can be bound, then keeps the slice published. Never throws: a node
 * without DNS still runs pods (they time out on lookups, as with a dead CoreDNS).
 */
export function startNodeDns(options: NodeDnsOptions): NodeDns {
  const logger = options.logger ?? { info: (m: string) => console.error(m), warn: (m: string) => console.error(m) };
  const port = options.port ?? 53;
  const maxRetryMs = 30_000;
  let retryMs = options.retryMs ?? 1000;
  let dns: ClusterDns | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let markReady!: (value: { port: number }) => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<{ port: number }>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => {});

  const schedule = (ms: number) => {
    if (!stopped) timer = setTimeout(() => void step(), ms);
  };
  const retry = (what: string, error: unknown) => {
    logger.warn(`cluster dns: ${what} failed (retrying in ${Math.round(retryMs / 1000)} s): ${(error as Error).message}`);
    schedule(retryMs);
    retryMs = Math.min(retryMs * 2, maxRetryMs);
  };
  const step = async () => {
    if (!dns) {
      try {
        await options.ensureAddress?.();
        const started = await startClusterDns({
          client: options.client, zone: options.zone, host: options.address, port,
          upstreams: options.upstreams, resolvConfPath: options.resolvConfPath, logger,
          allowClient: options.clientCidrs ? nodeClientFilter(options.clientCidrs) : undefined,
        });
        if (stopped) return void (await started.close());
        dns = started;
        logger.info(`cluster dns: serving ${options.zone ?? 'cluster.local'} on ${options.address}:${dns.port} (udp, tcp)`);
      } catch (error) {
        return retry(`listening on ${options.address}:${port}`, error);
      }
    }
    try {
      const done = await publishNodeDnsSlice({ client: options.client, nodeName: options.nodeName, address: options.address, port: dns.port });
      if (done !== 'unchanged') logger.info(`cluster dns: EndpointSlice ${KUBE_DNS_NAMESPACE}/${nodeDnsSliceName(options.nodeName)} ${done}`);
    } catch (error) {
      return retry('publishing the kube-dns EndpointSlice', error);
    }
    retryMs = options.retryMs ?? 1000;
    markReady({ port: dns.port });
    schedule(options.republishMs ?? 30_000);
  };
  void step();

  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      failReady(new Error('cluster dns stopped'));
      await dns?.close();
    },
  };
}
