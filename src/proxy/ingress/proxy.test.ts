// The controller's data path against local HTTP servers on 127.0.0.1 that
// stand in for pod endpoints, routed from a fake cluster view.
import assert from 'node:assert/strict';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startIngressController, type RunningIngressController } from './controller.ts';
import { backend, createFakeView, service, slice } from './fake-view.ts';
import { createIngressProxy, type IngressLogger } from './proxy.ts';
import { RouteTable } from './routing.ts';

interface Endpoint {
  server: Server;
  port: number;
  /** Distinct TCP connections accepted so far. */
  connections: number;
  requests: { url: string; headers: IncomingHttpHeaders; body: string }[];
}

/** An HTTP server answering `name url body`; upgrade requests get 101 and an echo that ends with a goodbye. */
async function startEndpoint(name: string): Promise<Endpoint> {
  const endpoint: Endpoint = { server: undefined as never, port: 0, connections: 0, requests: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      endpoint.requests.push({ url: req.url!, headers: req.headers, body });
      res.setHeader('Set-Cookie', ['a=1', 'b=2']);
      res.end(`${name} ${req.url} ${body}`);
    });
  });
  server.on('connection', () => { endpoint.connections++; });
  server.on('upgrade', (req, socket: Socket) => {
    endpoint.requests.push({ url: req.url!, headers: req.headers, body: '' });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    // Echo until the client half-closes, then send a last message and close: it must arrive.
    socket.on('data', (d) => socket.write(`${name}:${d}`));
    socket.on('end', () => socket.end('bye'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.server = server;
  endpoint.port = (server.address() as AddressInfo).port;
  return endpoint;
}

interface Answer { status: number; body: string; headers: IncomingHttpHeaders }

function get(port: number, host: string, path: string, options: { method?: string; body?: string; headers?: Record<string, string>; agent?: import('node:http').Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host, ...options.headers }, agent: options.agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const quiet: IngressLogger & { lines: string[] } = { lines: [], info(m) { this.lines.push(m); }, warn(m) { this.lines.push(m); } };

describe('ingress proxy', () => {
  let a: Endpoint, b: Endpoint, c: Endpoint;
  let refusedPort: number;
  let ingress: RunningIngressController;
  const view = createFakeView();

  before(async () => {
    [a, b, c] = await Promise.all([startEndpoint('a'), startEndpoint('b'), startEndpoint('c')]);
    // A port nobody listens on: connections to it are refused.
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    refusedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    view.objects.classes.push({ metadata: { name: 'skiff', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'skiff.dev/ingress-controller' } });
    view.objects.ingresses.push(
      { metadata: { name: 'shop', namespace: 'web', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { rules: [
        { host: 'shop.test', http: { paths: [
          { path: '/', pathType: 'Prefix', backend: backend('front', 'http') },
          { path: '/api', pathType: 'Prefix', backend: backend('api', 8000) },
          { path: '/down', pathType: 'Prefix', backend: backend('down', 80) },
          { path: '/broken', pathType: 'Prefix', backend: backend('broken', 80) },
          { path: '/missing', pathType: 'Prefix', backend: backend('nosuch', 80) },
          { path: '/flaky', pathType: 'Prefix', backend: backend('flaky', 80) },
        ] } },
      ] } },
      { metadata: { name: 'other-class', namespace: 'web' }, spec: { ingressClassName: 'nginx', rules: [{ host: 'nginx.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('front', 'http') }] } }] } },
    );
    view.objects.services.push(
      service('web', 'front', [{ name: 'http', port: 80, targetPort: 'web' }]),
      service('web', 'api', [{ port: 8000 }]),
      service('web', 'down', [{ port: 80 }]),
      service('web', 'broken', [{ port: 80 }]),
      service('web', 'flaky', [{ port: 80 }]),
    );
    view.objects.slices.push(
      slice('web', 'front', [{ name: 'http', port: a.port }], [['127.0.0.1', true]]),
      slice('web', 'api', [{ port: b.port }], [['127.0.0.1', true]], 'b'),
      slice('web', 'api', [{ port: c.port }], [['127.0.0.1', true]], 'c'),
      slice('web', 'down', [{ port: a.port }], [['127.0.0.1', false]]),
      slice('web', 'broken', [{ port: refusedPort }], [['127.0.0.1', true]]),
      slice('web', 'flaky', [{ port: refusedPort }], [['127.0.0.1', true]], 'dead'),
      slice('web', 'flaky', [{ port: a.port }], [['127.0.0.1', true]], 'alive'),
    );
    ingress = await startIngressController({ view, addresses: ['127.0.0.1'], httpPort: 0, httpsPort: 0, logger: quiet });
  });

  after(async () => {
    await ingress?.stop();
    for (const e of [a, b, c]) e?.server.closeAllConnections();
    await Promise.all([a, b, c].map((e) => e && new Promise((resolve) => e.server.close(resolve))));
  });

  it('routes by host and path to the endpoints of the backend Service (named port → target port)', async () => {
    const front = await get(ingress.httpPort, 'shop.test', '/index.html');
    assert.equal(front.status, 200);
    assert.equal(front.body, 'a /index.html ');
    assert.deepEqual(front.headers['set-cookie'], ['a=1', 'b=2'], 'repeated response headers are kept');
    const posted = await get(ingress.httpPort, 'SHOP.test:80', '/api/items?x=1', { method: 'POST', body: 'hello' });
    assert.match(posted.body, /^[bc] \/api\/items\?x=1 hello$/);
  });

  it('spreads requests over the ready endpoints round-robin', async () => {
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await get(ingress.httpPort, 'shop.test', '/api')).body[0]);
    assert.deepEqual(seen.sort(), ['b', 'b', 'c', 'c']);
  });

  it('sets X-Forwarded-For/-Proto/-Host/-Port, replacing what the client sent, and drops hop-by-hop headers', async () => {
    const before = a.requests.length;
    await get(ingress.httpPort, 'shop.test', '/h', { headers: { 'X-Forwarded-For': '203.0.113.9', 'X-Custom': 'kept', Connection: 'keep-alive, X-Hop', 'X-Hop': 'dropped' } });
    const seen = a.requests[before]!.headers;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'http');
    assert.equal(seen['x-forwarded-host'], 'shop.test');
    assert.equal(seen['x-forwarded-port'], String(ingress.httpPort));
    assert.equal(seen.host, 'shop.test', 'the Host header reaches the backend unchanged');
    assert.equal(seen['x-custom'], 'kept');
    assert.equal(seen['x-hop'], undefined);
  });

  it('answers 404 for unknown hosts and for Ingresses of other classes', async () => {
    assert.equal((await get(ingress.httpPort, 'unknown.test', '/')).status, 404);
    assert.equal((await get(ingress.httpPort, 'nginx.test', '/')).status, 404);
  });

  it('answers 503 without ready endpoints or without the Service, 502 when the endpoint refuses', async () => {
    assert.equal((await get(ingress.httpPort, 'shop.test', '/down')).status, 503);
    assert.equal((await get(ingress.httpPort, 'shop.test', '/missing')).status, 503);
    const broken = await get(ingress.httpPort, 'shop.test', '/broken');
    assert.equal(broken.status, 502);
    assert.equal(broken.body, '502 Bad Gateway\n');
    assert.ok(quiet.lines.some((l) => l.includes('502') && l.includes(String(refusedPort))), 'the failure is logged');
  });

  it('retries a request without body on the next endpoint when one refuses; a request with body is not retried', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await get(ingress.httpPort, 'shop.test', `/flaky/${i}`)).status, 200);
    const posts = [];
    for (let i = 0; i < 2; i++) posts.push((await get(ingress.httpPort, 'shop.test', '/flaky/post', { method: 'POST', body: 'x' })).status);
    assert.deepEqual(posts.sort(), [200, 502], 'round-robin sends one POST to the refusing endpoint, and it is answered 502');
  });

  it('reuses keep-alive connections to endpoints', async () => {
    const connectionsBefore = a.connections;
    for (let i = 0; i < 10; i++) assert.equal((await get(ingress.httpPort, 'shop.test', `/k${i}`)).status, 200);
    assert.ok(a.connections - connectionsBefore <= 1, `10 sequential requests opened ${a.connections - connectionsBefore} connections`);
  });

  it('picks up route changes', async () => {
    view.objects.ingresses.push({ metadata: { name: 'late', namespace: 'web', creationTimestamp: '2024-02-01T00:00:00Z' }, spec: { ingressClassName: 'skiff', rules: [{ host: 'late.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('front', 80) }] } }] } });
    assert.equal((await get(ingress.httpPort, 'late.test', '/')).status, 404, 'the table is rebuilt on change events only');
    view.changed('routes');
    assert.equal((await get(ingress.httpPort, 'late.test', '/')).status, 200);
  });

  it('passes WebSocket-style upgrades through as raw bytes, delivering the last bytes after a half-close', { timeout: 15_000 }, async () => {
    const socket = connect({ host: '127.0.0.1', port: ingress.httpPort });
    let received = '';
    socket.on('data', (d) => { received += d; });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    const deadline = Date.now() + 5000;
    while (!received.includes('\r\n\r\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.match(received, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    const forwarded = a.requests.at(-1)!;
    assert.equal(forwarded.url, '/ws');
    assert.equal(forwarded.headers.upgrade, 'echo');
    assert.equal(forwarded.headers['x-forwarded-host'], 'shop.test');
    socket.write('ping');
    while (!received.endsWith('a:ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    socket.end(); // half-close: the endpoint answers "bye" and closes
    await closed;
    assert.ok(received.endsWith('a:pingbye'), JSON.stringify(received));
  });

  it('answers an upgrade with 404 / 502 on the raw socket when there is no route or the endpoint refuses', async () => {
    const rawAnswer = (host: string, path: string) => new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: ingress.httpPort });
      let text = '';
      socket.on('data', (d) => { text += d; });
      socket.on('close', () => resolve(text));
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    });
    assert.match(await rawAnswer('unknown.test', '/'), /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(await rawAnswer('shop.test', '/broken'), /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  });

  it('answers 504 when the endpoint stays silent longer than the read timeout', async () => {
    const silent = createServer(() => { /* never answers */ });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    view.objects.services.push(service('web', 'silent', [{ port: 80 }]));
    view.objects.slices.push(slice('web', 'silent', [{ port: (silent.address() as AddressInfo).port }], [['127.0.0.1', true]]));
    view.objects.ingresses.push({ metadata: { name: 'silent', namespace: 'web' }, spec: { ingressClassName: 'skiff', rules: [{ host: 'silent.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('silent', 80) }] } }] } });
    view.changed('routes');
    const impatient = await startIngressController({ view, addresses: ['127.0.0.1'], httpPort: 0, httpsPort: 0, logger: quiet, readTimeoutMs: 300 });
    try {
      const started = Date.now();
      assert.equal((await get(impatient.httpPort, 'silent.test', '/')).status, 504);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await impatient.stop();
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('stop() ends open upgraded connections and TLS connections mid-handshake (which server.close() alone would wait for)', { timeout: 15_000 }, async () => {
    const extra = await startIngressController({ view, addresses: ['127.0.0.1'], httpPort: 0, httpsPort: 0, logger: quiet });
    const silentTls = connect({ host: '127.0.0.1', port: extra.httpsPort });
    const silentTlsClosed = new Promise((resolve) => silentTls.on('close', resolve));
    silentTls.on('error', () => {});
    await new Promise((resolve) => silentTls.once('connect', resolve));
    const socket = connect({ host: '127.0.0.1', port: extra.httpPort });
    let received = '';
    socket.on('data', (d) => { received += d; });
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('GET /ws HTTP/1.1\r\nHost: shop.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    while (!received.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 10));
    await extra.stop();
    await closed;
    await silentTlsClosed;
  });

  it('answers 503 until the caches have synced', async () => {
    const unsynced = { ...createFakeView(), hasSynced: () => false };
    const early = await startIngressController({ view: unsynced, addresses: ['127.0.0.1'], httpPort: 0, httpsPort: 0, logger: quiet });
    try {
      assert.equal((await get(early.httpPort, 'shop.test', '/')).status, 503);
    } finally {
      await early.stop();
    }
  });

  it('fails to start with a clear message when a port is taken, leaving nothing behind', async () => {
    await assert.rejects(
      startIngressController({ view, addresses: ['127.0.0.1'], httpPort: ingress.httpPort, httpsPort: 0, logger: quiet }),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${ingress.httpPort} \\(EADDRINUSE\\)`),
    );
  });
});

describe('a refused upgrade', () => {
  it('reads and drops what the client still sends, so the socket closes after the client\'s FIN', { timeout: 15_000 }, async () => {
    const proxy = createIngressProxy({ view: createFakeView(), routes: () => new RouteTable([]), logger: quiet });
    const server = createTcpServer({ allowHalfOpen: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const serverSide = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, allowHalfOpen: true });
    let answer = '';
    client.on('data', (d) => { answer += d; });
    const socket = await serverSide;
    const serverClosed = new Promise((resolve) => socket.once('close', resolve));
    proxy.handleUpgrade({ headers: { host: 'nowhere.test' }, url: '/' } as IncomingMessage, socket, Buffer.alloc(0), 'http');
    await new Promise((resolve) => client.once('end', resolve));
    assert.match(answer, /^HTTP\/1\.1 404 Not Found\r\n/);
    const finSent = Date.now();
    client.end('late bytes nobody asked for');
    await serverClosed;
    assert.ok(Date.now() - finSent < 2000, 'closed on the FIN, not by the linger timer');
    client.destroy();
    proxy.close();
    await new Promise((resolve) => server.close(resolve));
  });
});
