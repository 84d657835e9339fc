// The proxy subresources (what `kubectl proxy` and `kubectl get --raw` reach
// pods, services and nodes through):
//   pods/{[scheme:]name[:port]}/proxy/{path}      → pod IP:port (default: the first container port, else 80)
//   services/{[scheme:]name[:port]}/proxy/{path}  → a ready endpoint from the Service's EndpointSlices
//   nodes/{[scheme:]name[:port]}/proxy/{path}     → the node agent's HTTPS port (kubelet client certificate)
// Any method; bodies stream both ways; hop-by-hop headers and the caller's
// credentials stay here; upgrade requests (WebSocket) are spliced; redirects
// and HTML links to the backend stay under the proxy prefix. Errors as
// upstream: 400 "invalid pod request", 503 "no endpoints available for
// service", 503 "error trying to reach service: dial tcp …".
// Unlike upstream, a loopback pod IP is allowed (skiff's tests run pods'
// stand-ins on loopback); link-local, multicast and unspecified are not.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, isIPv6, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { errors } from '../errors.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';
import { requestHead, splice } from './pod-exec.ts';
import { isUpgrade, takeUpgradeSocket } from './upgrade.ts';
import { pickServiceEndpoint } from './proxy-endpoints.ts';
import { MAX_REWRITTEN_HTML_BYTES, rewritableHtml, rewriteHtml } from './proxy-html.ts';

interface ProxyTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** The node agent's client certificate (nodes/proxy to the kubelet port). */
  tls?: { cert: string; key: string };
}

/** `[scheme:]name[:port]` (upstream's SplitSchemeNamePort); undefined when malformed. */
export function splitSchemeNamePort(id: string): { scheme: '' | 'http' | 'https'; name: string; port: string } | undefined {
  const parts = id.split(':');
  let scheme = '';
  let name: string;
  let port = '';
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) [name, port] = parts as [string, string];
  else if (parts.length === 3) [scheme, name, port] = parts as [string, string, string];
  else return undefined;
  if (name === '' || (scheme !== '' && scheme !== 'http' && scheme !== 'https')) return undefined;
  return { scheme: scheme as '' | 'http' | 'https', name, port };
}

export async function handlePodProxy(ctx: RequestContext): Promise<void> {
  const id = parseId(ctx, 'pod');
  const pod = await ctx.parts.store.get(ctx.resource, ctx.info.namespace, id.name);
  const spec = (pod.spec ?? {}) as { nodeName?: string; containers?: Array<{ ports?: Array<{ name?: string; containerPort?: number }> }> };
  if (!spec.nodeName) throw errors.badRequest(`pod ${id.name} is not scheduled`);
  await refuseSimulatedNode(ctx, spec.nodeName);
  const ip = podIp(pod);
  if (!ip || !proxyableIp(ip)) throw errors.badRequest('address not allowed');
  const ports = (spec.containers ?? []).flatMap((c) => c.ports ?? []);
  let port = id.port || String(ports.find((p) => (p.containerPort ?? 0) > 0)?.containerPort ?? 80);
  // A named container port (upstream leaves names to fail at dial time).
  if (!/^\d+$/.test(port)) port = String(ports.find((p) => p.name === port)?.containerPort ?? port);
  await forward(ctx, { scheme: id.scheme || 'http', host: ip, port: parsePortNumber(port, `invalid pod request "${ctx.info.name}"`) });
}

export async function handleServiceProxy(ctx: RequestContext): Promise<void> {
  const id = parseId(ctx, 'service');
  const service = await ctx.parts.store.get(ctx.resource, ctx.info.namespace, id.name);
  const endpoint = await pickServiceEndpoint({ parts: ctx.parts, service, port: id.port });
  await refuseSimulatedNode(ctx, endpoint.nodeName);
  await forward(ctx, { scheme: id.scheme || 'http', host: endpoint.ip, port: endpoint.port });
}

export async function handleNodeProxy(ctx: RequestContext): Promise<void> {
  const id = parseId(ctx, 'node');
  const nodeProxy = ctx.parts.nodeProxy;
  if (!nodeProxy) throw errors.internal('this server has no credentials for node connections');
  const location = await nodeProxy.locate(ctx.parts, id.name);
  if (location.simulated) throw errors.serviceUnavailable(`error trying to reach service: node "${id.name}" is simulated and runs no containers`);
  const port = id.port ? parsePortNumber(id.port, `invalid node request "${ctx.info.name}"`) : location.port;
  // The agent's own port takes its TLS client certificate; any other node port is plain HTTP unless asked.
  const toAgent = port === location.port;
  const scheme = id.scheme || (toAgent ? 'https' : 'http');
  await forward(ctx, { scheme, host: location.host, port, tls: toAgent ? nodeProxy.clientCredentials() : undefined });
}

function parseId(ctx: RequestContext, kind: string) {
  const id = splitSchemeNamePort(ctx.info.name ?? '');
  if (!id) throw errors.badRequest(`invalid ${kind} request "${ctx.info.name}"`);
  return id;
}

function parsePortNumber(port: string, message: string): number {
  const value = /^\d+$/.test(port) ? Number(port) : NaN;
  if (!(value >= 1 && value <= 65535)) throw errors.badRequest(message);
  return value;
}

function podIp(pod: KubeObject): string | undefined {
  const status = (pod.status ?? {}) as { podIP?: string; podIPs?: Array<{ ip?: string }> };
  return status.podIPs?.[0]?.ip || status.podIP || undefined;
}

function proxyableIp(ip: string): boolean {
  if (!isIP(ip)) return false;
  const lower = ip.toLowerCase();
  if (isIPv6(ip)) return lower !== '::' && !lower.startsWith('fe80:') && !lower.startsWith('ff');
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return ip !== '0.0.0.0' && !(a === 169 && b === 254) && a < 224;
}

/** Never dial the made-up address of a hollow node's pod: it would leave the machine. */
async function refuseSimulatedNode(ctx: RequestContext, nodeName: string | undefined): Promise<void> {
  if (!nodeName) return;
  const nodes = ctx.parts.registry.lookup('', 'v1', 'nodes')!;
  const node = await ctx.parts.store.get(nodes, undefined, nodeName).catch(() => undefined);
  if (node?.metadata.labels?.['skiff.dev/simulated'] === 'true') {
    throw errors.serviceUnavailable(`error trying to reach service: node "${nodeName}" is simulated and runs no containers`);
  }
}

/** The path after `…/{name}/proxy`, as the client sent it (still encoded), with the query. */
function proxiedPath(ctx: RequestContext): { prefix: string; path: string; query: string; needsSlash: boolean } {
  const raw = ctx.req.url ?? '/';
  const queryAt = raw.indexOf('?');
  const pathname = queryAt < 0 ? raw : raw.slice(0, queryAt);
  const query = queryAt < 0 ? '' : raw.slice(queryAt);
  const segments = pathname.split('/');
  const at = segments.findIndex((s, i) => i > 0 && s === 'proxy' && safeDecode(segments[i - 1]!) === ctx.info.name && segments[i - 2] === ctx.resource.plural);
  return { prefix: segments.slice(0, at + 1).join('/'), path: '/' + segments.slice(at + 1).join('/'), query, needsSlash: at === segments.length - 1 };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

// Hop-by-hop headers (RFC 7230 §6.1) and the caller's credentials toward the API server.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);
const CREDENTIALS = new Set(['authorization', 'host']);

function forwardable(headers: IncomingHttpHeaders, drop: Set<string>): OutgoingHttpHeaders {
  const named = String(headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || drop.has(name) || named.includes(name) || name.startsWith('impersonate-')) continue;
    out[name] = value;
  }
  return out;
}

function hostHeader(target: ProxyTarget): string {
  return isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

async function forward(ctx: RequestContext, target: ProxyTarget): Promise<void> {
  const { prefix, path, query, needsSlash } = proxiedPath(ctx);
  if (needsSlash && !isUpgrade(ctx.req)) {
    // `…/proxy` → `…/proxy/`, so relative links in the page resolve under the proxy (upstream redirects too).
    const pathname = (ctx.req.url ?? '/').split('?')[0];
    ctx.res.writeHead(301, { location: `${pathname}/${query}` });
    ctx.res.end();
    return;
  }
  if (isUpgrade(ctx.req)) return forwardUpgrade(ctx, target, path + query);
  const headers = forwardable(ctx.req.headers, CREDENTIALS);
  headers.host = hostHeader(target);
  const client = ctx.req.socket?.remoteAddress;
  if (client) headers['x-forwarded-for'] = [ctx.req.headers['x-forwarded-for'], client.replace(/^::ffff:/, '')].filter(Boolean).join(', ');
  const send = target.scheme === 'https' ? httpsRequest : httpRequest;
  const upstream = send({
    host: target.host, port: target.port, method: ctx.req.method, path: path + query, headers, agent: false,
    // Pods' and agents' serving certificates are not verified (upstream's default for both).
    ...(target.scheme === 'https' ? { rejectUnauthorized: false, ...target.tls } : {}),
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    upstream.once('response', resolve);
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ECONNREFUSED' ? `dial tcp ${hostHeader(target)}: connect: connection refused` : error.message;
      reject(errors.serviceUnavailable(`error trying to reach service: ${reason}`));
    });
  });
  ctx.req.pipe(upstream);
  ctx.res.on('close', () => upstream.destroy());
  const res = await response;
  const responseHeaders = forwardable(res.headers, new Set());
  const location = rewriteLocation(res.headers.location, target, prefix);
  if (location) responseHeaders.location = location;
  let prelude: Buffer | undefined;
  if (ctx.req.method !== 'HEAD' && rewritableHtml(res.headers)) {
    const page = await readPage(res).catch(() => undefined);
    if (!page) {
      ctx.res.destroy();
      return;
    }
    if (page.complete) {
      let body = page.body;
      try {
        body = rewriteHtml(page.body, res.headers['content-encoding'], (url) => rewriteLocation(url, target, prefix));
      } catch {
        // Not really gzip: the page goes as it came.
      }
      responseHeaders['content-length'] = body.length;
      ctx.res.writeHead(res.statusCode ?? 502, responseHeaders);
      ctx.res.end(body);
      return;
    }
    prelude = page.body; // too large to rewrite: what was read goes first, unchanged, then the rest
  }
  ctx.res.writeHead(res.statusCode ?? 502, responseHeaders);
  if (prelude) ctx.res.write(prelude);
  await new Promise<void>((resolve) => {
    res.pipe(ctx.res);
    res.once('end', resolve);
    res.once('error', () => {
      ctx.res.destroy();
      resolve();
    });
    ctx.res.once('close', resolve);
  });
}

/**
 * A redirect to a path of the backend (absolute path, or a URL naming the
 * backend's own address) is kept under the proxy prefix, as upstream's proxy
 * transport does; other locations (relative, other hosts) pass unchanged.
 * Links in HTML pages get the same treatment (proxy-html.ts).
 */
export function rewriteLocation(location: string | undefined, target: { host: string; port: number }, prefix: string): string | undefined {
  if (!location) return undefined;
  let url: URL;
  try {
    url = new URL(location, 'http://relative.invalid');
  } catch {
    return undefined;
  }
  const backend = url.host === 'relative.invalid'
    ? location.startsWith('/') && !location.startsWith('//')
    : url.hostname.replace(/^\[|\]$/g, '') === target.host && Number(url.port || (url.protocol === 'https:' ? 443 : 80)) === target.port;
  return backend ? `${prefix}${url.pathname}${url.search}${url.hash}` : undefined;
}

/** An HTML page, whole (complete) or, past the rewrite limit, what was read so far with the stream paused. */
function readPage(res: IncomingMessage): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= MAX_REWRITTEN_HTML_BYTES) return;
      res.off('data', onData);
      res.off('end', onEnd);
      res.pause();
      resolve({ body: Buffer.concat(chunks), complete: false });
    };
    const onEnd = () => resolve({ body: Buffer.concat(chunks), complete: true });
    res.on('data', onData);
    res.once('end', onEnd);
    res.once('error', reject);
  });
}

/** WebSocket and other upgrades: the request head as the client sent it, then the bytes both ways. */
async function forwardUpgrade(ctx: RequestContext, target: ProxyTarget, path: string): Promise<void> {
  const backend = await new Promise<Socket>((resolve, reject) => {
    const socket: Socket = target.scheme === 'https'
      ? tlsConnect({ host: target.host, port: target.port, rejectUnauthorized: false, servername: isIP(target.host) ? undefined : target.host, ALPNProtocols: ['http/1.1'], ...target.tls })
      : netConnect({ host: target.host, port: target.port });
    socket.once(target.scheme === 'https' ? 'secureConnect' : 'connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ECONNREFUSED' ? `dial tcp ${hostHeader(target)}: connect: connection refused` : error.message;
      reject(errors.serviceUnavailable(`error trying to reach service: ${reason}`));
    });
  });
  const { socket, head } = takeUpgradeSocket(ctx.req);
  backend.write(requestHead(ctx, { nodeName: '', host: target.host, port: target.port, simulated: false }, path));
  if (head.length > 0) backend.write(head);
  await splice(socket, backend);
}
