// kubectl port-forward at the node (kubelet's /portForward/{ns}/{pod}):
// the pieces every transport shares — port parsing, the error text kubectl
// prints, and one forwarded connection joined to the pod's port — and the
// handshake that picks the transport:
//   SPDY/3.1 with X-Stream-Protocol-Version portforward.k8s.io (spdy-port-forward.ts),
//   WebSocket SPDY/3.1+portforward.k8s.io: the same SPDY frames carried in
//     binary messages (kubectl ≥ 1.31; the API server passes the tunnel through),
//   WebSocket channels (v4.channel.k8s.io, portforward.k8s.io or none; the
//     Python client): websocket-port-forward.ts.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { serveSpdyPortForward } from './spdy-port-forward.ts';
import { StreamingError, type PodTarget, type StreamingBackend } from './types.ts';
import { negotiatePortForwardProtocol, PORT_FORWARD_WEBSOCKET_PROTOCOLS, serveWebSocketPortForward } from './websocket-port-forward.ts';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
/** kubectl ≥ 1.31 offers this WebSocket subprotocol: SPDY frames inside binary messages. */
export const SPDY_TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** kubelet's parsing of one port ("80"): 1–65535. */
export function parsePort(value: string | undefined): number {
  const text = (value ?? '').trim();
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw StreamingError.badRequest(`unable to parse ${JSON.stringify(value ?? '')} as a port: invalid syntax`);
  const port = Number(text);
  if (port === 0) throw StreamingError.badRequest(`${JSON.stringify(text)} is not a valid port`);
  return port;
}

/** The `port` query parameters of a WebSocket port-forward (each may be a comma-separated list). */
export function parsePortQuery(query: URLSearchParams): number[] {
  const values = query.getAll('port').flatMap((v) => v.split(','));
  if (values.length === 0) throw StreamingError.badRequest('query parameter "port" is required');
  return values.map(parsePort);
}

/** What the client reads on the error stream (kubelet's wording; kubectl prints it after "an error occurred forwarding"). */
export function forwardingError(target: PodTarget, port: number, error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  return `error forwarding port ${port} to pod ${target.pod}_${target.namespace}, uid ${target.podUid ?? ''}: ${reason}`;
}

/** One side of a forwarded connection as a transport presents it (a SPDY data stream, a WebSocket channel). */
export interface ForwardSink {
  /** Sends pod bytes to the client; `done` once written (or dropped). */
  write(data: Buffer, done: () => void): void;
  /** The pod closed its side. */
  end(): void;
  /** Bytes queued toward the client, for back-pressure. */
  bufferedAmount(): number;
}

/** The client side of a forwarded connection: bytes written before the pod connection is up wait here. */
export class PodConnection {
  private socket?: Duplex;
  private readonly pending: Buffer[] = [];
  private ended = false;
  private closed = false;

  /** Joins the dialled pod connection to `sink`; resolves when the pod connection is closed. */
  attach(socket: Duplex, sink: ForwardSink): Promise<void> {
    this.socket = socket;
    socket.on('error', () => undefined); // shows up as 'close'
    if (this.closed) socket.destroy();
    for (const chunk of this.pending.splice(0)) socket.write(chunk);
    if (this.ended) socket.end();
    socket.on('data', (chunk: Buffer) => {
      sink.write(chunk, () => {
        if (sink.bufferedAmount() < HIGH_WATER_BYTES && socket.isPaused()) socket.resume();
      });
      if (sink.bufferedAmount() >= HIGH_WATER_BYTES) socket.pause();
    });
    return new Promise((resolve) => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        sink.end();
      };
      socket.once('end', finish);
      socket.once('close', () => {
        finish();
        resolve();
      });
    });
  }

  /** Client bytes for the pod. */
  write(data: Buffer): void {
    if (this.socket) this.socket.write(data);
    else this.pending.push(data);
  }

  /** The client finished sending (a half-close: the pod may still answer). */
  end(): void {
    this.ended = true;
    this.socket?.end();
  }

  /** The client is gone: drop the pod connection. */
  destroy(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}

// Reading from the pod pauses while this much waits to go to the client.
const HIGH_WATER_BYTES = 1024 * 1024;

export interface PortForwardUpgradeOptions {
  req: IncomingMessage;
  socket: Socket;
  head: Buffer;
  target: PodTarget;
  query: URLSearchParams;
  backend: StreamingBackend;
  /** From portForwardWebSocketServer(), owned by the streaming server (its close() ends these clients too). */
  websockets: WebSocketServer;
  log: (message: string) => void;
  onSession?: (info: { kind: 'portforward'; transport: 'websocket' | 'spdy' | 'spdy-over-websocket'; protocol: string }) => void;
}

// `SPDY/3.1+portforward.k8s.io` is not an HTTP token ('/' is a separator), so
// the ws library refuses it as a subprotocol: such requests reach ws without
// the header, and the answer gets it added back.
const tunnelRequests = new WeakSet<IncomingMessage>();

/** A noServer WebSocket server that answers with the port-forward subprotocols. */
export function portForwardWebSocketServer(): WebSocketServer {
  const server = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => negotiatePortForwardProtocol([...offered])?.name || false,
  });
  server.on('headers', (headers, req) => {
    if (tunnelRequests.has(req)) headers.push(`Sec-WebSocket-Protocol: ${SPDY_TUNNEL_PROTOCOL}`);
  });
  return server;
}

/** Picks the transport from the upgrade request; throws a StreamingError (answered as a Status) when it cannot. */
export async function upgradePortForward(options: PortForwardUpgradeOptions): Promise<void> {
  const { req, socket, head, target, backend, log } = options;
  // kubelet answers 404 before upgrading when it runs no such pod.
  await backend.checkPod?.(target);
  if (socket.destroyed) return;
  const dial = (port: number) => backend.portForward(target, port);
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const report = (error: unknown) => log(`streaming: port-forward ${target.namespace}/${target.pod}: ${(error as Error).message}`);

  if (upgrade === 'spdy/3.1') {
    const offered = String(req.headers['x-stream-protocol-version'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    // A client that names no protocol is an old one speaking the only protocol there is.
    if (offered.length > 0 && !offered.includes(PORT_FORWARD_PROTOCOL)) {
      throw new StreamingError({
        code: 403,
        message: `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offered)}, server accepts ${JSON.stringify([PORT_FORWARD_PROTOCOL])}`,
        headers: { 'X-Accepted-Stream-Protocol-Versions': PORT_FORWARD_PROTOCOL },
      });
    }
    socket.setNoDelay(true);
    options.onSession?.({ kind: 'portforward', transport: 'spdy', protocol: PORT_FORWARD_PROTOCOL });
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`);
    void serveSpdyPortForward({ socket, head, target, dial }).catch((error) => {
      report(error);
      socket.destroy();
    });
    return;
  }
  if (upgrade !== 'websocket') {
    throw StreamingError.badRequest(`unable to upgrade: ${String(req.headers.upgrade)} is not supported by this node; it speaks SPDY/3.1 and WebSocket (${[SPDY_TUNNEL_PROTOCOL, ...PORT_FORWARD_WEBSOCKET_PROTOCOLS].join(', ')})`);
  }
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (offered.includes(SPDY_TUNNEL_PROTOCOL)) {
    delete req.headers['sec-websocket-protocol'];
    tunnelRequests.add(req);
    options.websockets.handleUpgrade(req, socket, head, (ws) => {
      options.onSession?.({ kind: 'portforward', transport: 'spdy-over-websocket', protocol: SPDY_TUNNEL_PROTOCOL });
      const tunnel = createWebSocketStream(ws);
      void serveSpdyPortForward({ socket: tunnel, head: Buffer.alloc(0), target, dial }).catch((error) => {
        report(error);
        ws.terminate();
      });
    });
    return;
  }
  const protocol = negotiatePortForwardProtocol(offered);
  if (!protocol) throw StreamingError.badRequest(`none of the offered subprotocols [${offered.join(' ')}] is supported; supported: [${[SPDY_TUNNEL_PROTOCOL, ...PORT_FORWARD_WEBSOCKET_PROTOCOLS].join(' ')}]`);
  // Before the upgrade, so a bad port list is a 400 answer, as kubelet gives.
  const ports = parsePortQuery(options.query);
  options.websockets.handleUpgrade(req, socket, head, (ws) => {
    options.onSession?.({ kind: 'portforward', transport: 'websocket', protocol: protocol.name || '(none)' });
    void serveWebSocketPortForward({ socket: ws, protocol, ports, target, dial }).catch((error) => {
      report(error);
      ws.terminate();
    });
  });
}
