// The data path: an HTTP/1.1 request (or a WebSocket/Upgrade request) is
// matched against the route table, its backend resolved to a ready pod
// endpoint (round-robin), and forwarded there over a pooled keep-alive
// connection; the answer streams back unchanged apart from hop-by-hop headers.
//
// Answers of the proxy itself, as ingress-nginx gives them: 404 when no rule
// (and no default backend) matches, 503 when the backend Service is missing
// or has no ready endpoint, 502 when the connection to the endpoint fails,
// 504 when it cannot be made within the connect timeout or the endpoint
// stays silent longer than the read timeout (each after the retries a
// request without body gets: the next endpoint when none could be connected).
//
// Forwarded headers: X-Forwarded-For / X-Real-IP are the client's address,
// X-Forwarded-Proto / -Host / -Port what the client used. Values a client
// sent itself are replaced, not extended (ingress-nginx's and Traefik's
// default), so a client cannot forge its address toward the backend.
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RoundRobin, resolveBackend, type EndpointAddress } from './backends.ts';
import type { RouteTable } from './routing.ts';
import type { IngressView } from './types.ts';

export interface IngressLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface IngressProxyOptions {
  view: IngressView;
  /** The current route table (rebuilt by the controller when Ingresses change). */
  routes: () => RouteTable;
  logger: IngressLogger;
  /** How long a connection to an endpoint may take (default 5 s, ingress-nginx's proxy-connect-timeout). */
  connectTimeoutMs?: number;
  /** How long an endpoint may stay silent while answering (default 60 s, ingress-nginx's proxy-read-timeout). */
  readTimeoutMs?: number;
}

export interface IngressProxy {
  handleRequest(req: IncomingMessage, res: ServerResponse, scheme: 'http' | 'https'): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: 'http' | 'https'): void;
  /** Closes pooled connections. */
  close(): void;
}

// RFC 9110 §7.6.1 connection-specific headers: never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip']);

/** Headers named in `Connection` are hop-by-hop too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  return new Set(String(headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim()).filter(Boolean));
}

/** The request's headers as [name, value] pairs for the endpoint, with forwarding headers set. */
function forwardedHeaders(req: IncomingMessage, scheme: string, upgrade: boolean): [string, string][] {
  const named = connectionTokens(req.headers);
  const out: [string, string][] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (FORWARDED.has(lower)) continue;
    const keepForUpgrade = upgrade && (lower === 'connection' || lower === 'upgrade');
    if (!keepForUpgrade && (HOP_BY_HOP.has(lower) || named.has(lower))) continue;
    out.push([name, raw[i + 1]!]);
  }
  const client = req.socket.remoteAddress ?? '';
  const host = req.headers.host ?? '';
  out.push(['X-Forwarded-For', client], ['X-Real-IP', client], ['X-Forwarded-Proto', scheme],
    ['X-Forwarded-Host', host], ['X-Forwarded-Port', String(req.socket.localPort ?? '')]);
  return out;
}

/** Response headers for the client: the endpoint's, minus hop-by-hop ones (Node frames the body itself). */
function responseHeaders(res: IncomingMessage): string[] {
  const named = connectionTokens(res.headers);
  const out: string[] = [];
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = { 404: 'Not Found', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };

function sendError(res: ServerResponse, code: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${code} ${STATUS_TEXT[code]}\n`;
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** A client that got its error answer gets this long to close its side before the socket is destroyed. */
const LINGER_MS = 10_000;

/**
 * An error answer written straight to a socket that asked for an upgrade; the
 * socket is then ended. What the client still sends is read and dropped: a
 * socket nobody reads never sees the client's FIN, so it would stay open for
 * ever (and destroying it with unread input would RST the answer away).
 */
function sendRawError(socket: Duplex, code: number): void {
  const body = `${code} ${STATUS_TEXT[code]}\n`;
  socket.end(`HTTP/1.1 ${code} ${STATUS_TEXT[code]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.resume();
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** At most this many retries per request (ingress-nginx's proxy-next-upstream-tries 3: one try and two more). */
const MAX_RETRIES = 2;

/** One client request across its tries. */
interface Attempt {
  req: IncomingMessage;
  res: ServerResponse;
  scheme: string;
  backend: string;
  endpoints: EndpointAddress[];
  /** `host:port` of endpoints tried. */
  tried: Set<string>;
  retries: number;
  retriedReused: boolean;
}

class Throttle {
  private readonly last = new Map<string, number>();
  /** True at most once per `everyMs` for a key. */
  allow(key: string, everyMs = 10_000): boolean {
    const now = Date.now();
    if ((this.last.get(key) ?? 0) + everyMs > now) return false;
    if (this.last.size > 1000) this.last.clear();
    this.last.set(key, now);
    return true;
  }
}

export function createIngressProxy(options: IngressProxyOptions): IngressProxy {
  const { view, logger } = options;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  const readTimeoutMs = options.readTimeoutMs ?? 60_000;
  // One pool for all endpoints: keep-alive sockets are kept per host:port.
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
  const roundRobin = new RoundRobin();
  const throttle = new Throttle();

  const warn = (key: string, message: string) => {
    if (throttle.allow(key)) logger.warn(message);
  };

  /** The endpoint for a request (and the backend's others, for retries), or the status to answer instead. */
  function pickEndpoint(req: IncomingMessage): { endpoint: EndpointAddress; backend: string; endpoints: EndpointAddress[] } | { status: 404 | 503 } {
    // Before the caches hold their first lists, a 404 would be a lie: the rule may exist.
    if (!view.hasSynced()) return { status: 503 };
    const match = options.routes().match(req.headers.host, req.url ?? '/');
    if (!match) return { status: 404 };
    const resolved = resolveBackend(view, match);
    if (!resolved.ok) {
      warn(`503 ${resolved.reason}`, `ingress ${match.ingress}: 503 for ${req.headers.host ?? ''}${req.url}: ${resolved.reason}`);
      return { status: 503 };
    }
    return { endpoint: roundRobin.pick(resolved.key, resolved.endpoints), backend: resolved.key, endpoints: resolved.endpoints };
  }

  /** The next endpoint not tried yet, in round-robin order from the failed one. */
  function nextUntried(attempt: Attempt, failed: EndpointAddress): EndpointAddress | undefined {
    const { endpoints, tried } = attempt;
    const start = endpoints.findIndex((e) => e.host === failed.host && e.port === failed.port);
    for (let i = 1; i <= endpoints.length; i++) {
      const candidate = endpoints[(start + i) % endpoints.length]!;
      if (!tried.has(`${candidate.host}:${candidate.port}`)) return candidate;
    }
    return undefined;
  }

  function forward(attempt: Attempt, endpoint: EndpointAddress): void {
    const { req, res, scheme, backend } = attempt;
    attempt.tried.add(`${endpoint.host}:${endpoint.port}`);
    const upstream = httpRequest({
      host: endpoint.host, port: endpoint.port, method: req.method, path: req.url, agent, timeout: readTimeoutMs,
      headers: forwardedHeaders(req, scheme, false).flat(),
    });
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('read timeout'), { code: 'ETIMEDOUT' })));
    let connectTimer: NodeJS.Timeout | undefined;
    let connected = false;
    upstream.on('socket', (socket: Socket) => {
      if (!socket.connecting) {
        connected = true;
        return;
      }
      connectTimer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), connectTimeoutMs);
      socket.once('connect', () => {
        connected = true;
        clearTimeout(connectTimer);
      });
    });
    upstream.on('response', (answer) => {
      clearTimeout(connectTimer);
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(answer));
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      // Retries only for requests without body: nothing of them can have been consumed.
      if (!hasBody(req) && attempt.retries < MAX_RETRIES) {
        // A pooled connection the endpoint closed while idle: once more on a fresh one.
        if (upstream.reusedSocket && !attempt.retriedReused && ['ECONNRESET', 'EPIPE'].includes(error.code ?? '')) {
          attempt.retriedReused = true;
          attempt.retries++;
          forward(attempt, endpoint);
          return;
        }
        // No connection at all (a pod gone before its endpoint left the slice): the next
        // endpoint, as ingress-nginx's proxy_next_upstream does for errors and timeouts.
        const next = connected ? undefined : nextUntried(attempt, endpoint);
        if (next) {
          attempt.retries++;
          forward(attempt, next);
          return;
        }
      }
      const status = error.code === 'ETIMEDOUT' ? 504 : 502;
      warn(`${status} ${backend} ${endpoint.host}:${endpoint.port}`, `ingress: ${status} for ${req.headers.host ?? ''}${req.url}: endpoint ${endpoint.host}:${endpoint.port} of ${backend}: ${error.message}`);
      sendError(res, status);
    });
    // The client went away before the answer was complete: stop the endpoint's work too.
    const onClose = () => {
      if (!res.writableFinished) upstream.destroy();
    };
    res.once('close', onClose);
    upstream.once('close', () => res.off('close', onClose));
    if (attempt.retries > 0) upstream.end();
    else req.pipe(upstream);
  }

  return {
    handleRequest(req, res, scheme) {
      const picked = pickEndpoint(req);
      if ('status' in picked) {
        req.resume();
        sendError(res, picked.status);
        return;
      }
      forward({ req, res, scheme, backend: picked.backend, endpoints: picked.endpoints, tried: new Set(), retries: 0, retriedReused: false }, picked.endpoint);
    },

    handleUpgrade(req, socket, head, scheme) {
      socket.on('error', () => socket.destroy());
      const picked = pickEndpoint(req);
      if ('status' in picked) {
        sendRawError(socket, picked.status);
        return;
      }
      const { endpoint, backend } = picked;
      const upstream = connect({ host: endpoint.host, port: endpoint.port });
      const connectTimer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), connectTimeoutMs);
      let connected = false;
      upstream.once('connect', () => {
        clearTimeout(connectTimer);
        connected = true;
        // The request as the client sent it (headers rewritten as for any request), then
        // whatever followed it, then both directions as raw bytes: the endpoint answers
        // 101 or not, and either way the client reads exactly that.
        const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`, ...forwardedHeaders(req, scheme, true).map(([k, v]) => `${k}: ${v}`)];
        upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (head.length) upstream.write(head);
        splice(socket, upstream);
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        if (connected) {
          socket.destroy();
          return;
        }
        const status = error.code === 'ETIMEDOUT' ? 504 : 502;
        warn(`${status} ${backend} ${endpoint.host}:${endpoint.port}`, `ingress: ${status} for upgrade ${req.headers.host ?? ''}${req.url}: endpoint ${endpoint.host}:${endpoint.port} of ${backend}: ${error.message}`);
        sendRawError(socket, status);
      });
      socket.once('close', () => {
        if (!connected) upstream.destroy();
      });
    },

    close() {
      agent.destroy();
    },
  };
}

/**
 * Bytes both ways until both sides are done. When one side finishes sending,
 * the other is end()ed, not destroyed, so what is still buffered toward it
 * (a WebSocket close frame, the last response bytes) is delivered first. Only
 * an error tears both down at once.
 */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const tearDown = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', tearDown);
  b.on('error', tearDown);
  a.once('close', () => b.end());
  b.once('close', () => a.end());
}
