// The cluster DNS server: UDP and TCP on one port, answering the cluster
// zone from the informer-backed view (resolve.ts) and relaying every other
// name to the upstream resolvers (upstream.ts).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server, type Socket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import type { ApiClient } from '../../client/interface.ts';
import { createInformerView } from './informer-view.ts';
import { canonicalName } from './names.ts';
import { resolveQuestion, type PodMode, type ResolverConfig } from './resolve.ts';
import { clusterIps, type ClusterView } from './types.ts';
import { forwardQuery, readResolvConf, type Upstream } from './upstream.ts';
import { buildReply, encodeWithin, errorReplyFor, opcodeOf, udpLimit } from './wire.ts';

export interface ClusterDnsOptions {
  /** Where Services, EndpointSlices and Namespaces are watched from. */
  client?: ApiClient;
  /** Instead of `client`: an already-filled view (tests). */
  view?: ClusterView;
  /** Default `cluster.local`. */
  zone?: string;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 53; 0 picks a free port (the same for UDP and TCP). */
  port?: number;
  /** Default: the nameservers of `resolvConfPath`. */
  upstreams?: Upstream[];
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
  /** Default 5 s, as CoreDNS's kubernetes plugin. */
  ttlSeconds?: number;
  /** Default `insecure` (the kubeadm Corefile's `pods insecure`). */
  podMode?: PodMode;
  /** Answer for `ns.dns.<zone>` and the NS glue; default the ClusterIPs of kube-system/kube-dns. */
  nameserverAddresses?: string[];
  /** Per upstream attempt; default 2000. */
  upstreamTimeoutMs?: number;
  /** How long start waits for the first lists before serving anyway (default 5000, as CoreDNS). */
  syncTimeoutMs?: number;
  logger?: { warn(message: string): void };
  /**
   * Who may ask (default everyone). A client it refuses gets no answer (UDP)
   * or a closed connection (TCP): a node's server takes only its own pods and
   * the node itself, whatever route leads a packet to its address.
   */
  allowClient?: (address: string) => boolean;
}

export interface ClusterDns {
  port: number;
  close(): Promise<void>;
}

const TCP_IDLE_MS = 10_000;
const MAX_TCP_MESSAGE = 65_535;

export async function startClusterDns(options: ClusterDnsOptions): Promise<ClusterDns> {
  const logger = options.logger ?? console;
  const informerView = options.view ? undefined : createInformerView({ client: requireClient(options), watchPods: options.podMode === 'verified', logger });
  const view = options.view ?? informerView!;
  if (informerView) {
    informerView.start();
    if (!(await informerView.waitForSync(options.syncTimeoutMs ?? 5000))) logger.warn('cluster dns: serving before the caches synced');
  }
  const zone = canonicalName(options.zone ?? 'cluster.local');
  const config: ResolverConfig = {
    view,
    zone,
    ttlSeconds: options.ttlSeconds ?? 5,
    podMode: options.podMode ?? 'insecure',
    nameserverAddresses: () => options.nameserverAddresses ?? kubeDnsAddresses(view),
  };
  const upstreams = options.upstreams ?? readResolvConf(options.resolvConfPath);
  const handler = (raw: Buffer, transport: 'udp' | 'tcp') =>
    handleQuery({ raw, transport, config, upstreams, timeoutMs: options.upstreamTimeoutMs ?? 2000 }).catch((error) => {
      logger.warn(`cluster dns: ${(error as Error).message}`);
      return errorReplyFor(raw, 'SERVFAIL');
    });

  const host = options.host ?? '0.0.0.0';
  let listeners: { udp: UdpSocket; tcp: Server; port: number };
  try {
    listeners = await listen({ host, port: options.port ?? 53, handler, allowClient: options.allowClient ?? (() => true) });
  } catch (error) {
    informerView?.stop();
    throw error;
  }
  const connections = new Set<Socket>();
  listeners.tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });

  let closed = false;
  return {
    port: listeners.port,
    async close() {
      if (closed) return;
      closed = true;
      informerView?.stop();
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => listeners.udp.close(() => resolve())),
        new Promise<void>((resolve) => listeners.tcp.close(() => resolve())),
      ]);
    },
  };
}

function requireClient(options: ClusterDnsOptions): ApiClient {
  if (!options.client) throw new Error('startClusterDns needs a client or a view');
  return options.client;
}

/** The cluster DNS Service's addresses, as the cluster sees the server. */
function kubeDnsAddresses(view: ClusterView): string[] {
  const service = view.service('kube-system', 'kube-dns');
  return service ? clusterIps(service) : [];
}

type QueryHandler = (raw: Buffer, transport: 'udp' | 'tcp') => Promise<Buffer | undefined>;

interface QueryContext {
  raw: Buffer;
  transport: 'udp' | 'tcp';
  config: ResolverConfig;
  upstreams: Upstream[];
  timeoutMs: number;
}

async function handleQuery(context: QueryContext): Promise<Buffer | undefined> {
  const { raw, transport, config, upstreams, timeoutMs } = context;
  let request: DecodedPacket;
  try {
    request = dnsPacket.decode(raw);
  } catch {
    return errorReplyFor(raw, 'FORMERR');
  }
  if (request.type === 'response') return undefined;
  const limit = transport === 'udp' ? udpLimit(request) : MAX_TCP_MESSAGE;
  if (opcodeOf(request) !== 0) return encodeWithin(buildReply({ request, rcode: 'NOTIMP', authoritative: false }), limit);
  if (request.questions?.length !== 1) return encodeWithin(buildReply({ request, rcode: 'FORMERR', authoritative: false }), limit);

  const resolution = resolveQuestion(config, request.questions[0]);
  if (resolution.kind === 'forward') {
    const reply = upstreams.length ? await forwardQuery({ upstreams, query: raw, transport, timeoutMs }) : undefined;
    return reply ?? encodeWithin(buildReply({ request, rcode: 'SERVFAIL', authoritative: false }), limit);
  }
  let answers = resolution.answers;
  if (resolution.chase && upstreams.length) answers = [...answers, ...(await chaseUpstream(resolution.chase, upstreams, timeoutMs))];
  const reply = buildReply({
    request,
    rcode: resolution.rcode,
    authoritative: resolution.rcode !== 'SERVFAIL' && resolution.rcode !== 'REFUSED',
    answers,
    authorities: resolution.authorities,
    additionals: resolution.additionals,
  });
  return encodeWithin(reply, limit);
}

/** An ExternalName's target outside the zone: what upstream says about it (nothing when it fails). */
async function chaseUpstream(chase: { name: string; type: 'A' | 'AAAA' }, upstreams: Upstream[], timeoutMs: number): Promise<Answer[]> {
  const query = dnsPacket.encode({
    type: 'query',
    id: Math.floor(Math.random() * 65_536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: chase.name, type: chase.type, class: 'IN' }],
  });
  const reply = await forwardQuery({ upstreams, query, transport: 'udp', timeoutMs });
  if (!reply) return [];
  try {
    return dnsPacket.decode(reply).answers ?? [];
  } catch {
    return [];
  }
}

interface ListenOptions {
  host: string;
  port: number;
  handler: QueryHandler;
  allowClient: (address: string) => boolean;
}

/** UDP and TCP on one port; with port 0 the UDP port is picked first and TCP takes the same (retried if taken). */
async function listen(options: ListenOptions): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  const attempts = options.port === 0 ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(options);
    const port = udp.address().port;
    try {
      const tcp = await listenTcp({ ...options, port });
      return { udp, tcp, port };
    } catch (error) {
      udp.close();
      if (attempt >= attempts || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
}

function bindUdp(options: ListenOptions): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket({ type: isIP(options.host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      // A failed send (client gone) must not take the server down.
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.on('message', (message, remote) => {
      if (!options.allowClient(remote.address)) return;
      void options.handler(message, 'udp').then((reply) => {
        if (reply) socket.send(reply, remote.port, remote.address);
      });
    });
  });
}

function listenTcp(options: ListenOptions): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      if (!options.allowClient(socket.remoteAddress ?? '')) socket.destroy();
      else serveTcpConnection(socket, options.handler);
    });
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Two-byte length-prefixed messages (RFC 1035 4.2.2); several per connection, replies as they are ready. */
function serveTcpConnection(socket: Socket, handler: QueryHandler): void {
  let buffered = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 2) {
      const length = buffered.readUInt16BE(0);
      if (buffered.length < 2 + length) break;
      const message = buffered.subarray(2, 2 + length);
      buffered = buffered.subarray(2 + length);
      void handler(message, 'tcp').then((reply) => {
        if (!reply || socket.destroyed) return;
        const frame = Buffer.alloc(2 + reply.length);
        frame.writeUInt16BE(reply.length, 0);
        reply.copy(frame, 2);
        socket.write(frame);
      });
    }
  });
}
