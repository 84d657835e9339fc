// The node agent's own HTTPS endpoint (kubelet's port 10250): container logs,
// exec and attach, which the API server proxies kubectl to. Only callers with
// a client certificate signed by the cluster CA get in, and of those only the
// API server's kubelet-client identity (or a cluster admin, the
// `system:masters` group): upstream's x509 authentication with the kubelet's
// authorization narrowed to the identities that may use these endpoints.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { hostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { negotiateProtocol, SUPPORTED_PROTOCOL_NAMES } from './channel-protocol.ts';
import { readContainerLog } from './log-reader.ts';
import { portForwardWebSocketServer, upgradePortForward, type PortForwardUpgradeOptions } from './port-forward.ts';
import type { StreamRequest } from './command-session.ts';
import { serveRemoteCommand } from './remote-command.ts';
import { negotiateSpdyProtocol, serveSpdyRemoteCommand, SPDY_PROTOCOL_NAMES } from './spdy-remote-command.ts';
import type { StreamSession } from '../runtime/types.ts';
import { matchRoute, parseLogQuery, parseStreamRequest, type StreamingRoute } from './request.ts';
import { loadOrCreateServingCertificate, selfSignedCertificate, type ServingCertificate } from './tls.ts';
import { statusBody, StreamingError, type ContainerTarget, type StreamingBackend } from './types.ts';
import { isStatsPath, type StatsEndpoints } from '../stats/endpoints.ts';

/** The API server's identity toward nodes (kubeadm's name for it). */
export const APISERVER_KUBELET_CLIENT_USER = 'kube-apiserver-kubelet-client';
const MASTERS_GROUP = 'system:masters';
export const DEFAULT_STREAMING_PORT = 10250;

export interface StreamingServerOptions {
  backend: StreamingBackend;
  /** The address to listen on: the node IP (kubelet binds its --address). */
  address: string;
  /** Default 10250; 0 picks a free port. */
  port?: number;
  /** PEM of the CA that signs accepted client certificates (the cluster CA). */
  clientCa: string;
  /** Serving certificate and key; absent, a self-signed one (kept in `certDir` when given). */
  servingCertificate?: ServingCertificate;
  certDir?: string;
  /** The node's name, for the self-signed certificate (default the host name). */
  nodeName?: string;
  /** Client certificate common names let in (default the API server's); `system:masters` members always are. */
  authorizedUsers?: readonly string[];
  /** Where request failures are reported (default console.error). */
  log?: (message: string) => void;
  /** Told of every exec/attach that starts streaming, with the transport and protocol it speaks. */
  onSession?: (info: { kind: 'exec' | 'attach'; transport: 'websocket' | 'spdy'; protocol: string }) => void;
  /** Told of every port-forward connection, with its transport. */
  onPortForward?: PortForwardUpgradeOptions['onSession'];
  /** /metrics/resource, /metrics/cadvisor and /stats/summary (../stats); absent: those paths are 404. */
  stats?: StatsEndpoints;
}

type ExecRoute = Extract<StreamingRoute, { kind: 'exec' | 'attach' }>;

export interface RunningStreamingServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startStreamingServer(options: StreamingServerOptions): Promise<RunningStreamingServer> {
  const nodeName = options.nodeName ?? hostname();
  const names = [...new Set([options.address, nodeName, 'localhost', '127.0.0.1'])].filter((n) => n !== '0.0.0.0' && n !== '::');
  const certificate = options.servingCertificate
    ?? (options.certDir
      ? await loadOrCreateServingCertificate({ dir: options.certDir, commonName: `${nodeName}@${Math.floor(Date.now() / 1000)}`, names })
      : await selfSignedCertificate({ commonName: `${nodeName}@${Math.floor(Date.now() / 1000)}`, names }));
  const handler = new StreamingHandler({
    backend: options.backend,
    authorizedUsers: new Set(options.authorizedUsers ?? [APISERVER_KUBELET_CLIENT_USER]),
    log: options.log ?? ((message) => console.error(message)),
    onSession: options.onSession,
    onPortForward: options.onPortForward,
    stats: options.stats,
  });
  const server: Server = createServer({
    cert: certificate.cert,
    key: certificate.key,
    ca: options.clientCa,
    requestCert: true,
    // Checked per request, so an unauthenticated caller gets a 401 Status instead of a TLS alert.
    rejectUnauthorized: false,
  });
  server.on('request', (req, res) => void handler.request(req, res));
  server.on('upgrade', (req, socket, head) => void handler.upgrade(req, socket as Socket, head));
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_STREAMING_PORT, options.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: bound.address,
    port: bound.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      handler.closeAll();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

interface HandlerOptions {
  backend: StreamingBackend;
  authorizedUsers: Set<string>;
  log: (message: string) => void;
  onSession?: StreamingServerOptions['onSession'];
  onPortForward?: StreamingServerOptions['onPortForward'];
  stats?: StatsEndpoints;
}

class StreamingHandler {
  private readonly o: HandlerOptions;
  private readonly websockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => negotiateProtocol(offered)?.name ?? false });
  private readonly portForwardSockets = portForwardWebSocketServer();
  private readonly active = new Set<AbortController>();

  constructor(options: HandlerOptions) {
    this.o = options;
  }

  closeAll(): void {
    for (const controller of this.active) controller.abort();
    for (const server of [this.websockets, this.portForwardSockets]) {
      for (const client of server.clients) client.terminate();
      server.close();
    }
  }

  async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = new URL(req.url ?? '/', 'https://node').pathname;
      if (this.o.stats && isStatsPath(path)) return await this.serveStats(req, res, path);
      const { route, url } = this.authorize(req);
      if (route.kind === 'healthz') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
        return;
      }
      if (route.kind !== 'containerLogs') throw StreamingError.badRequest('Upgrade request required');
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new StreamingError({ code: 405, message: `method ${req.method} is not allowed` });
      await this.serveLogs(route.target, url.searchParams, res);
    } catch (error) {
      this.fail(res, error);
    }
  }

  async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    try {
      const { route, url } = this.authorize(req);
      if (route.kind === 'portForward') {
        await upgradePortForward({
          req, socket, head, target: route.target, query: url.searchParams, backend: this.o.backend,
          websockets: this.portForwardSockets, log: this.o.log, onSession: this.o.onPortForward,
        });
        return;
      }
      if (route.kind !== 'exec' && route.kind !== 'attach') throw StreamingError.badRequest(`${url.pathname} cannot be upgraded`);
      const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
      if (upgrade === 'spdy/3.1') return await this.upgradeSpdy({ req, socket, head, route, url });
      if (upgrade !== 'websocket') {
        await this.o.backend.check?.(route.target);
        throw StreamingError.badRequest(`unable to upgrade: ${String(req.headers.upgrade)} is not supported by this node; it speaks WebSocket (${SUPPORTED_PROTOCOL_NAMES.join(', ')}) and SPDY/3.1`);
      }
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const protocol = negotiateProtocol(offered);
      if (!protocol) throw StreamingError.badRequest(`none of the offered subprotocols [${offered.join(' ')}] is supported; supported: [${SUPPORTED_PROTOCOL_NAMES.join(' ')}]`);
      const { session, request } = await this.startSession(route, url);
      if (socket.destroyed) {
        session.close();
        return;
      }
      this.websockets.handleUpgrade(req, socket, head, (ws) => {
        this.o.onSession?.({ kind: route.kind, transport: 'websocket', protocol: protocol.name });
        void serveRemoteCommand({ socket: ws, protocol, session, request }).catch((error) => {
          this.o.log(`streaming: ${route.kind} ${describe(route.target)}: ${(error as Error).message}`);
          session.close();
          ws.terminate();
        });
      });
    } catch (error) {
      refuseUpgrade({ socket, error, log: (message) => this.o.log(`streaming: ${req.url}: ${message}`) });
    }
  }

  /** SPDY/3.1 (kubelet's httpstream handshake): X-Stream-Protocol-Version negotiation, 101, then SPDY framing. */
  private async upgradeSpdy(options: { req: IncomingMessage; socket: Socket; head: Buffer; route: ExecRoute; url: URL }): Promise<void> {
    const { req, socket, head, route, url } = options;
    const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const protocol = negotiateSpdyProtocol(offered);
    if (!protocol) {
      const error = new StreamingError({ code: 403, message: `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server accepts ${JSON.stringify(SPDY_PROTOCOL_NAMES)}` });
      refuseUpgrade({ socket, error, headers: { 'X-Accepted-Stream-Protocol-Versions': SPDY_PROTOCOL_NAMES.join(', ') }, log: this.o.log });
      return;
    }
    const { session, request } = await this.startSession(route, url);
    if (socket.destroyed) {
      session.close();
      return;
    }
    socket.setNoDelay(true);
    this.o.onSession?.({ kind: route.kind, transport: 'spdy', protocol: protocol.name });
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol.name}\r\n\r\n`);
    void serveSpdyRemoteCommand({ socket, head, protocol, session, request }).catch((error) => {
      this.o.log(`streaming: ${route.kind} ${describe(route.target)}: ${(error as Error).message}`);
      session.close();
      socket.destroy();
    });
  }

  private async startSession(route: ExecRoute, url: URL): Promise<{ session: StreamSession; request: StreamRequest }> {
    const request = parseStreamRequest(url.searchParams);
    const session = route.kind === 'exec'
      ? await this.o.backend.exec(route.target, execOptions(url.searchParams, request))
      : await this.o.backend.attach(route.target, { stdin: request.stdin, tty: request.tty });
    return { session, request };
  }

  /** Stats for the API server (metrics.k8s.io) or a cluster admin: kubelet's nodes/metrics and nodes/stats. */
  private async serveStats(req: IncomingMessage, res: ServerResponse, path: string & Parameters<StatsEndpoints['serve']>[0]): Promise<void> {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) throw new StreamingError({ code: 401, message: 'Unauthorized' });
    const subject = socket.getPeerCertificate().subject ?? {};
    const groups = subject.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
    if (!this.o.authorizedUsers.has(String(subject.CN ?? '')) && !groups.includes(MASTERS_GROUP)) {
      throw new StreamingError({ code: 403, message: `Forbidden (user=${String(subject.CN ?? '')}, verb=${req.method?.toLowerCase()}, resource=nodes, subresource(s)=[${path.startsWith('/stats') ? 'stats' : 'metrics'}])` });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new StreamingError({ code: 405, message: `method ${req.method} is not allowed` });
    const { contentType, body } = await this.o.stats!.serve(path);
    res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  }

  private authorize(req: IncomingMessage): { route: StreamingRoute; url: URL } {
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) throw new StreamingError({ code: 401, message: 'Unauthorized' });
    const subject = socket.getPeerCertificate().subject ?? {};
    const user = String(subject.CN ?? '');
    const groups = subject.O === undefined ? [] : Array.isArray(subject.O) ? subject.O : [subject.O];
    const url = new URL(req.url ?? '/', 'https://node');
    const route = matchRoute(url.pathname);
    if (!this.o.authorizedUsers.has(user) && !groups.includes(MASTERS_GROUP)) {
      const resource = route?.kind === 'containerLogs' ? 'log' : 'proxy';
      throw new StreamingError({ code: 403, message: `Forbidden (user=${user}, verb=${req.method?.toLowerCase()}, resource=nodes, subresource(s)=[${resource}])` });
    }
    if (!route) throw StreamingError.notFound('404 page not found');
    return { route, url };
  }

  private async serveLogs(target: ContainerTarget, query: URLSearchParams, res: ServerResponse): Promise<void> {
    const { previous, read } = parseLogQuery(query, Date.now());
    const source = await this.o.backend.containerLog(target, { previous });
    const controller = new AbortController();
    this.active.add(controller);
    res.on('close', () => controller.abort());
    res.socket?.setNoDelay(true);
    let started = false;
    const start = (): void => {
      started = true;
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private' });
      res.flushHeaders();
    };
    try {
      await readContainerLog({
        path: source.path,
        options: read,
        isRunning: () => source.isRunning(),
        signal: controller.signal,
        write: async (chunk) => {
          if (!started) start();
          if (!res.write(chunk) && !controller.signal.aborted) await waitForDrain(res, controller.signal);
        },
      });
      if (!started) start();
      res.end();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !res.headersSent) {
        throw StreamingError.notFound(`failed to open log file for container "${target.container}" in pod "${target.pod}": it does not exist`);
      }
      throw error;
    } finally {
      this.active.delete(controller);
    }
  }

  private fail(res: ServerResponse, error: unknown): void {
    const { code, reason, message } = asStreamingError(error);
    if (code >= 500) this.o.log(`streaming: ${message}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = statusBody({ code, reason, message });
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  }
}

function execOptions(query: URLSearchParams, request: { stdin: boolean; tty: boolean }) {
  const argv = query.getAll('command');
  if (argv.length === 0) throw StreamingError.badRequest('you must specify at least one command for the container');
  return { argv, stdin: request.stdin, tty: request.tty };
}

/** A Status answer on a connection that asked to be upgraded (then closed). */
function refuseUpgrade(options: { socket: Socket; error: unknown; headers?: Record<string, string>; log: (message: string) => void }): void {
  const { code, reason, message, headers } = asStreamingError(options.error);
  if (code >= 500) options.log(message);
  const body = statusBody({ code, reason, message });
  const extra = Object.entries(options.headers ?? headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  options.socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`);
}

function asStreamingError(error: unknown): StreamingError {
  if (error instanceof StreamingError) return error;
  return new StreamingError({ code: 500, message: error instanceof Error ? error.message : String(error) });
}

function describe(target: ContainerTarget): string {
  return `${target.namespace}/${target.pod}/${target.container}`;
}

function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done);
  });
}
