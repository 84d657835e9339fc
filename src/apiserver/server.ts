// The API server: an HTTPS (HTTP/2 with HTTP/1.1 fallback) endpoint with
// authentication, health, version, discovery, OpenAPI, metrics, and the
// generic REST handlers for every served kind.
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { KindRegistry, builtinKinds } from '../api/registry.ts';
import type { Store } from '../storage/interface.ts';
import { defaultAdmissionChain } from './admission/plugins.ts';
import { createAuthenticator, type Authenticator, type UserInfo } from './auth/authenticate.ts';
import type { ClusterPki } from './auth/pki.ts';
import { ServiceAccountTokens, type ObjectLookup } from './auth/service-account-tokens.ts';
import { bootstrapCluster } from './bootstrap.ts';
import { Discovery, wantsAggregated } from './discovery.ts';
import { errors } from './errors.ts';
import type { RequestContext, ServerParts } from './handlers/context.ts';
import { handleBinding } from './handlers/binding.ts';
import { handleDelete, handleDeleteCollection } from './handlers/delete.ts';
import { handlePatch } from './handlers/patch.ts';
import { handleGet, handleList, handleWatch } from './handlers/read.ts';
import { handleReview, isReviewKind } from './handlers/reviews.ts';
import { NodeProxy } from './handlers/node-proxy.ts';
import { subresourceRoute } from './handlers/subresources.ts';
import { upgradeResponse } from './handlers/upgrade.ts';
import { handleCreate, handleUpdate } from './handlers/write.ts';
import type { ServerRequest } from './http/body.ts';
import { sendError, sendJson, sendText, toApiError, type ServerReply } from './http/respond.ts';
import { ApiMetrics } from './metrics.ts';
import { convertServedVersion } from './conversion/served-version.ts';
import { createMetricsApi, METRICS_GROUP, METRICS_RESOURCES, type MetricsApi } from './metrics-api/handler.ts';
import { OpenApi } from './openapi.ts';
import { serveOpenApiV2 } from './openapi-v2-serve.ts';
import { ResourceStore } from './registry/resource-store.ts';
import { createApiWatchCache, registerWatchCacheMetrics } from './registry/watch-cache.ts';
import { ServiceAllocations } from './registry/service-allocations.ts';
import { Strategy } from './registry/strategy.ts';
import { parseRequestInfo, type RequestInfo } from './request-info.ts';

export const KUBERNETES_VERSION = { major: '1', minor: '36', gitVersion: 'v1.36.0-skiff', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-11-01T00:00:00Z', goVersion: 'node', compiler: 'skiff', platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}` };

export interface ApiServerOptions {
  store: Store;
  pki: ClusterPki;
  /** 0 = a free port. */
  port: number;
  bindAddress?: string;
  /** The address the `kubernetes` Service points at. */
  advertiseAddress: string;
  serviceCidr?: string;
  nodePortRange?: string;
  /** Upstream swagger.json for `kubectl explain` descriptions. */
  openapiDescriptions?: string;
  /** Extra bearer tokens (node agents later). */
  tokens?: Map<string, UserInfo>;
  /** metrics.k8s.io: how often nodes are scraped at most (metrics-server's --metric-resolution; default 15 s). */
  metricResolutionMs?: number;
  /** Serve LIST and WATCH from the watch cache (storage/cacher). Default true. */
  watchCache?: boolean;
}

export interface RunningApiServer {
  port: number;
  parts: ServerParts;
  close(): Promise<void>;
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version']);

export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const registry: KindRegistry = builtinKinds();
  // Writes and GETs go straight to the store; LIST and WATCH are served by the watch cache.
  const watchCache = options.watchCache === false ? undefined : await createApiWatchCache(options.store, registry);
  const store = new ResourceStore(watchCache ?? options.store);
  const services = new ServiceAllocations({ serviceCidr: options.serviceCidr ?? '10.43.0.0/16', nodePortRange: options.nodePortRange });
  const serviceAccountTokens = new ServiceAccountTokens({ signingKey: options.pki.serviceAccountKey, lookup: storeLookup(registry, store) });
  const nodeProxy = new NodeProxy({ clientCert: options.pki.kubeletClientCert, clientKey: options.pki.kubeletClientKey });
  const parts: ServerParts = { registry, store, strategy: new Strategy({ services }), admission: defaultAdmissionChain(), serviceAccountTokens, nodeProxy };
  const serviceInfo = registry.lookup('', 'v1', 'services')!;
  services.rebuild((await store.list(serviceInfo, {})).items);

  const discovery = new Discovery(registry, { extraResources: METRICS_RESOURCES });
  const metricsApi = createMetricsApi({ parts, resolutionMs: options.metricResolutionMs });
  const openapi = new OpenApi({ registry, descriptionsFile: options.openapiDescriptions });
  const authenticate = createAuthenticator({ pki: options.pki, tokens: options.tokens, serviceAccountTokens });
  const metrics = new ApiMetrics();
  if (watchCache) registerWatchCacheMetrics(metrics.registry, watchCache, registry);
  let ready = false;

  const server: Http2SecureServer = createSecureServer({
    key: options.pki.serverKey,
    cert: options.pki.serverCert,
    ca: options.pki.caCert,
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: true,
    // Node's default (10 MB per session) refuses every other stream while one large LIST
    // (a few thousand nodes) is being written; clients multiplex everything on one session.
    maxSessionMemory: 256,
  });
  const router = new Router({
    parts, discovery, openapi, authenticate, metrics, isReady: () => ready, metricsApi: metricsApi?.api,
    storageHealthy: () => (options.store.checkHealth?.() ?? Promise.resolve()).then(() => true, () => false),
  });
  server.on('request', (req, res) => void router.handle(req as unknown as ServerRequest, res as unknown as ServerReply));
  // HTTP/1.1 upgrades (kubectl exec/attach over WebSocket or SPDY) arrive here, not as requests,
  // once anyone listens for them; they take the same route with a response on their socket.
  server.on('upgrade', (req: ServerRequest, socket: Duplex, head: Buffer) => void router.handle(req, upgradeResponse(req, socket, head)));
  // Idle keep-alive connections must not hold the process open at close.
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('connection', (socket) => {
    sessions.add(socket);
    socket.on('close', () => sessions.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.bindAddress, () => resolve());
  }).catch(async (error: unknown) => {
    await watchCache?.close();
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  await bootstrapCluster({ parts, advertiseAddress: options.advertiseAddress, securePort: port, kubernetesServiceIp: services.clusterIps.addressAt(1) });
  ready = true;

  return {
    port,
    parts,
    async close() {
      ready = false;
      metricsApi?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sessions) s.destroy();
      await closed;
      await watchCache?.close();
    },
  };
}

interface RouterOptions {
  parts: ServerParts;
  discovery: Discovery;
  openapi: OpenApi;
  authenticate: Authenticator;
  metrics: ApiMetrics;
  isReady: () => boolean;
  /** metrics.k8s.io (computed from node scrapes, never stored). */
  metricsApi?: MetricsApi;
  /** Whether the store answers now (the `etcd` check of /readyz and /healthz). */
  storageHealthy: () => Promise<boolean>;
}

class Router {
  private readonly o: RouterOptions;
  constructor(options: RouterOptions) {
    this.o = options;
  }

  async handle(req: ServerRequest, res: ServerReply): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'https://localhost');
    const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
    try {
      await this.dispatch(req, res, url, info);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.code >= 500) console.error(`${req.method} ${url.pathname}: ${(error as Error).stack ?? error}`);
      sendError(res, apiError);
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.o.metrics.observe({
        verb: metricsVerb(req, info),
        group: info.group, version: info.version, resource: info.resource ?? '', subresource: info.subresource ?? '',
      }, res.statusCode, seconds);
    }
  }

  private async dispatch(req: ServerRequest, res: ServerReply, url: URL, info: RequestInfo): Promise<void> {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (PUBLIC_PATHS.has(path) || path.startsWith('/readyz/') || path.startsWith('/livez/') || path.startsWith('/healthz/')) {
      await this.serveHealthOrVersion(res, path);
      return;
    }
    const user = await this.o.authenticate({ socket: connectionOf(req), headers: req.headers });
    if (!user) throw errors.unauthorized();
    if (path === '/metrics') {
      const { contentType, text } = await this.o.metrics.render();
      res.writeHead(200, { 'content-type': contentType });
      res.end(text);
      return;
    }
    if (path.startsWith('/openapi/')) return this.serveOpenApi(req, res, path);
    if (!info.isResourceRequest) return this.serveDiscovery(req, res, path, info);
    if (info.group === METRICS_GROUP && this.o.metricsApi) return this.o.metricsApi.handle({ info, query: url.searchParams, res });

    let resource = this.o.parts.registry.lookup(info.group, info.version, info.resource!);
    if (!resource) throw errors.pageNotFound(path);
    // A version served by conversion from its storage version (autoscaling/v1 HPAs): see conversion/served-version.ts.
    const converted = await convertServedVersion({ registry: this.o.parts.registry, info, req, res });
    if (converted) ({ resource, req, res } = converted);
    const ctx: RequestContext = { req, res, info, query: url.searchParams, resource, user, userAgent: String(req.headers['user-agent'] ?? ''), parts: this.o.parts };
    if (info.verb === 'create' && isReviewKind(ctx)) return handleReview(ctx, this.o.authenticate);
    if (info.verb === 'create' && resource.kind === 'Binding') return handleBinding(ctx);
    if (info.subresource && info.subresource !== 'status') {
      const route = subresourceRoute(ctx);
      if (!route) throw errors.pageNotFound(path);
      if (!route.verbs.includes(info.verb)) throw errors.methodNotAllowed();
      return route.handle(ctx);
    }
    switch (info.verb) {
      case 'get': return handleGet(ctx);
      case 'list': return handleList(ctx);
      case 'watch': return handleWatch(ctx);
      case 'create':
        if (info.name) throw errors.methodNotAllowed();
        return handleCreate(ctx);
      case 'update':
      case 'patch':
        if (!info.name) throw errors.methodNotAllowed();
        return info.verb === 'update' ? handleUpdate(ctx) : handlePatch(ctx);
      case 'delete': return handleDelete(ctx);
      case 'deletecollection': return handleDeleteCollection(ctx);
      default: throw errors.methodNotAllowed();
    }
  }

  private async serveHealthOrVersion(res: ServerReply, path: string): Promise<void> {
    if (path === '/version') {
      sendJson(res, 200, KUBERNETES_VERSION);
      return;
    }
    const failed: string[] = [];
    if (path.startsWith('/readyz') && !this.o.isReady()) failed.push('[-]skiff-bootstrap failed: not finished');
    // Upstream's `etcd` check: readiness (and the legacy healthz) fail while the store is unreachable; liveness does not.
    const storageCheck = ['/readyz', '/readyz/etcd', '/healthz', '/healthz/etcd'].includes(path);
    if (storageCheck && !(await this.o.storageHealthy())) failed.push('[-]etcd failed: reason withheld');
    if (failed.length > 0) {
      sendText(res, 500, `${failed.join('\n')}\n${path.slice(1).split('/')[0]} check failed\n`);
      return;
    }
    sendText(res, 200, 'ok');
  }

  private serveOpenApi(req: ServerRequest, res: ServerReply, path: string): void {
    if (path === '/openapi/v2') {
      serveOpenApiV2({ openapi: this.o.openapi, req, res });
      return;
    }
    if (path === '/openapi/v3') {
      sendJson(res, 200, this.o.openapi.v3Index());
      return;
    }
    const doc = this.o.openapi.v3Document(path.slice('/openapi/v3/'.length));
    if (!doc) throw errors.pageNotFound(path);
    res.setHeader('etag', `"${doc.hash}"`);
    sendJson(res, 200, doc.text);
  }

  private serveDiscovery(req: ServerRequest, res: ServerReply, path: string, info: RequestInfo): void {
    const d = this.o.discovery;
    const aggregated = wantsAggregated(req.headers.accept);
    if (path === '/api' || path === '/apis') {
      if (aggregated) {
        sendJson(res, 200, d.aggregated(path === '/api' ? 'api' : 'apis', aggregated), d.contentTypeFor(aggregated));
        return;
      }
      const local = req.socket.localAddress ?? '127.0.0.1';
      const address = `${local.replace(/^::ffff:/, '')}:${req.socket.localPort}`;
      sendJson(res, 200, path === '/api' ? d.apiVersions(address) : d.apiGroupList());
      return;
    }
    let text: string | undefined;
    const parts = info.parts;
    if (parts[0] === 'api' && parts.length === 2) text = d.resourceList('', parts[1]);
    else if (parts[0] === 'apis' && parts.length === 2) text = d.apiGroup(parts[1]);
    else if (parts[0] === 'apis' && parts.length === 3) text = d.resourceList(parts[1], parts[2]);
    if (!text) throw errors.pageNotFound(path);
    sendJson(res, 200, text);
  }
}

/** Reads for the service-account token authenticator: the object, or undefined when it does not exist. */
function storeLookup(registry: KindRegistry, store: ResourceStore): ObjectLookup {
  return async ({ resource, namespace, name }) => {
    try {
      return await store.get(registry.lookup('', 'v1', resource)!, namespace, name);
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  };
}

/** The TLS connection of a request: stable across the requests of an HTTP/2 session. */
function connectionOf(req: ServerRequest): object {
  const session = (req as { stream?: { session?: { socket?: object } } }).stream?.session;
  return session?.socket ?? req.socket;
}

/** Upstream's metric verbs: HTTP methods for writes, LIST/WATCH/GET for reads, APPLY for apply patches. */
function metricsVerb(req: ServerRequest, info: RequestInfo): string {
  if (!info.isResourceRequest) return req.method ?? 'GET';
  switch (info.verb) {
    case 'create': return 'POST';
    case 'update': return 'PUT';
    case 'patch': return String(req.headers['content-type'] ?? '').startsWith('application/apply-patch') ? 'APPLY' : 'PATCH';
    default: return info.verb.toUpperCase();
  }
}
