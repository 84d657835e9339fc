// The ingress controller every real node agent runs: informers on Ingresses,
// IngressClasses, Services, EndpointSlices and TLS Secrets; an HTTP and an
// HTTPS listener on each node address; the route table rebuilt (lazily, at
// the next request) whenever an Ingress or IngressClass changes.
//
//   const ingress = await startIngressController({ client, addresses: ['192.0.2.10'] });
//   ingress.httpPort; ingress.httpsPort;   // the bound ports (useful with 0)
//   await ingress.stop();
//
// A port that cannot be bound (in use, no permission) rejects the start with
// a message naming address and port, after undoing whatever was started.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { ApiClient } from '../../client/interface.ts';
import { createIngressInformerView } from './informer-view.ts';
import { createIngressProxy, type IngressLogger } from './proxy.ts';
import { isServedIngress, RouteTable } from './routing.ts';
import { selfSignedCertificate, SniResolver, type CertificatePair } from './tls.ts';
import { CONTROLLER_NAME, DEFAULT_CLASS_NAME, type IngressView } from './types.ts';

export interface IngressControllerOptions {
  /** The API client the informers use (or `view` instead, in tests). */
  client?: ApiClient;
  view?: IngressView;
  /** Addresses to listen on: the node's IP(s). */
  addresses: string[];
  /** Default 80; 0 = a free port. */
  httpPort?: number;
  /** Default 443; 0 = a free port. */
  httpsPort?: number;
  /** The IngressClass name served (default `skiff`). */
  className?: string;
  /** The IngressClass `spec.controller` that is ours (default `skiff.dev/ingress-controller`). */
  controller?: string;
  logger?: IngressLogger;
  /** Connect and read (silence) timeouts toward endpoints (default 5 s and 60 s): 504 after them. */
  connectTimeoutMs?: number;
  readTimeoutMs?: number;
  /** Served for names no Ingress claims (default: a self-signed one made at start). */
  defaultCertificate?: CertificatePair;
}

export interface RunningIngressController {
  httpPort: number;
  httpsPort: number;
  /** Resolves true once the caches hold their first lists (until then requests get 503). */
  ready: Promise<boolean>;
  stop(): Promise<void>;
}

const defaultLogger: IngressLogger = {
  info: (message) => console.error(`ingress: ${message}`),
  warn: (message) => console.error(`ingress: ${message}`),
};

function listen(server: HttpServer | HttpsServer, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const shown = address.includes(':') ? `[${address}]` : address;
      reject(new Error(`cannot listen on ${shown}:${port} (${error.code ?? error.message})`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: address, port });
  });
}

/** Stop listening; resolves once no connection is left (stop() destroys them). */
function closeServer(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

export async function startIngressController(options: IngressControllerOptions): Promise<RunningIngressController> {
  if (options.addresses.length === 0) throw new Error('the ingress controller needs at least one address to listen on');
  const logger = options.logger ?? defaultLogger;
  const informerView = options.view ? undefined : createIngressInformerView({ client: requireClient(options.client), logger });
  const view: IngressView = options.view ?? informerView!;
  const selection = { className: options.className ?? DEFAULT_CLASS_NAME, controller: options.controller ?? CONTROLLER_NAME };

  let table: RouteTable | undefined;
  const routes = () => (table ??= new RouteTable(view.ingresses().filter((i) => isServedIngress(i, view.ingressClasses(), selection))));
  const defaultCertificate = options.defaultCertificate ?? await selfSignedCertificate({ commonName: 'skiff ingress default certificate', names: ['ingress.local'] });
  const sni = new SniResolver({ view, routes, defaultCertificate, logger });
  const disposeListener = view.onChange((what) => {
    if (what === 'routes') table = undefined;
    else sni.prune();
  });
  const proxy = createIngressProxy({ view, routes, logger, connectTimeoutMs: options.connectTimeoutMs, readTimeoutMs: options.readTimeoutMs });

  // Every TCP connection, tracked so stop() ends them all: closeAllConnections() misses
  // upgraded ones and TLS connections still in their handshake, and server.close() waits for them.
  const connections = new Set<Duplex>();
  const servers: (HttpServer | HttpsServer)[] = [];
  const makeServer = (scheme: 'http' | 'https') => {
    const server = scheme === 'http'
      ? createHttpServer()
      : createHttpsServer({ ...defaultCertificate, SNICallback: sni.callback });
    server.on('connection', (socket: Duplex) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
    });
    server.on('request', (req, res) => proxy.handleRequest(req, res, scheme));
    server.on('upgrade', (req, socket: Duplex, head: Buffer) => proxy.handleUpgrade(req, socket, head, scheme));
    servers.push(server);
    return server;
  };

  const stop = async () => {
    disposeListener();
    informerView?.stop();
    const closed = Promise.all(servers.map(closeServer));
    for (const socket of connections) socket.destroy();
    await closed;
    proxy.close();
  };

  informerView?.start();
  let httpPort = options.httpPort ?? 80;
  let httpsPort = options.httpsPort ?? 443;
  try {
    // Port 0: the first address picks a free port, the others bind the same one.
    for (const address of options.addresses) httpPort = await listen(makeServer('http'), address, httpPort);
    for (const address of options.addresses) httpsPort = await listen(makeServer('https'), address, httpsPort);
  } catch (error) {
    await stop();
    throw error;
  }
  const ready = informerView ? informerView.waitForSync(5 * 60_000) : Promise.resolve(true);
  void ready.then((synced) => {
    if (synced) logger.info(`serving Ingresses of class ${selection.className} on ${options.addresses.join(', ')} (http ${httpPort}, https ${httpsPort})`);
  });
  return { httpPort, httpsPort, ready, stop };
}

function requireClient(client: ApiClient | undefined): ApiClient {
  if (!client) throw new Error('startIngressController needs a client (or a view)');
  return client;
}
