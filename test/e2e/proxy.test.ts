// The proxy subresources through `kubectl proxy`: pods/proxy to a pod whose
// status.podIP is 127.0.0.1 (a local HTTP server stands in for it),
// services/proxy through a hand-made EndpointSlice pointing at it, and
// nodes/proxy to a node streaming server in this process. No traffic leaves
// loopback.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { startStreamingServer, type RunningStreamingServer } from '../../src/agent/streaming/server.ts';
import { FakeStreamingBackend } from '../../src/agent/streaming/testing.ts';
import { KUBECTL, kubectlAsync, startServer, type ServerHandle } from './harness.ts';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }

describe('proxy subresources through kubectl proxy', () => {
  let server: ServerHandle;
  let node: RunningStreamingServer;
  let dir: string;
  let pod: Server;
  let podPort: number;
  let closedPort: number;
  let proxy: ChildProcess;
  let proxyPort: number;
  const seen: Seen[] = [];
  const children = new Set<ChildProcess>();

  async function k(args: string[], input?: string): Promise<string> {
    const r = await kubectlAsync(args, { kubeconfig: server.kubeconfig, cacheDir: join(dir, 'kube-cache'), input }, children);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  function call(method: string, path: string, body?: string): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxyPort, method, path, agent: false, timeout: 20_000 }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-proxy-'));
    pod = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/redirect') return res.writeHead(302, { location: '/landing?from=redirect' }).end();
        if (req.url === '/page') return res.writeHead(200, { 'content-type': 'text/html' }).end('<a href="/next">next</a> <a href="rel">rel</a>');
        res.writeHead(200, { 'content-type': 'text/plain', 'x-pod': 'web', connection: 'close' });
        res.end(`pod got ${req.method} ${req.url}${body ? ` ${body}` : ''}`);
      });
    });
    // A WebSocket echo on the same port, for upgrades through the proxy.
    const wss = new WebSocketServer({ server: pod });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${data}`)));
    await new Promise<void>((resolve) => pod.listen(0, '127.0.0.1', resolve));
    podPort = (pod.address() as AddressInfo).port;
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    server = await startServer();
    node = await startStreamingServer({
      backend: new FakeStreamingBackend({ cwd: dir }), address: '127.0.0.1', port: 0, nodeName: 'fake-node',
      clientCa: readFileSync(join(server.dataDir, 'tls/ca.crt'), 'utf8'), log: () => undefined,
    });
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake-node' } }));
    await k(['patch', 'node', 'fake-node', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: node.port } } },
    })]);
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' },
      spec: { nodeName: 'fake-node', containers: [{ name: 'app', image: 'busybox', ports: [{ name: 'http', containerPort: podPort }] }] },
    }));
    await k(['patch', 'pod', 'web', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] } })]);
    // A Service without a selector, whose endpoints are this hand-made slice.
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: podPort }] } }));
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-manual', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }], ports: [{ name: 'http', port: podPort, protocol: 'TCP' }],
    }));
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty' }, spec: { ports: [{ port: 80 }] } }));

    proxy = spawn(KUBECTL, ['--kubeconfig', server.kubeconfig, '--cache-dir', join(dir, 'kube-cache'), 'proxy', '--port=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(proxy);
    proxyPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`kubectl proxy did not start: ${out}`)), 30_000);
      proxy.stdout!.on('data', (d) => {
        out += d;
        const match = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      proxy.once('exit', (code) => reject(new Error(`kubectl proxy exited ${code}: ${out}`)));
    });
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await node?.close();
    await server?.stop();
    pod?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('proxies to a pod port: path, query, method and body pass; credentials and hop-by-hop headers do not', async () => {
    const got = await call('GET', `/api/v1/namespaces/default/pods/web:${podPort}/proxy/hello/world?x=1&y=two`);
    assert.equal(got.status, 200);
    assert.equal(got.body, 'pod got GET /hello/world?x=1&y=two');
    assert.equal(got.headers['x-pod'], 'web');
    const request = seen.at(-1)!;
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers.host, `127.0.0.1:${podPort}`);
    assert.ok(request.headers['x-forwarded-for']);

    const posted = await call('POST', `/api/v1/namespaces/default/pods/http:web:${podPort}/proxy/submit`, 'some body');
    assert.equal(posted.body, 'pod got POST /submit some body');
    // No port: the pod's first container port.
    assert.equal((await call('DELETE', '/api/v1/namespaces/default/pods/web/proxy/x')).body, 'pod got DELETE /x');
  });

  it('redirects …/proxy to …/proxy/, and keeps the pod\'s own redirects under the proxy', async () => {
    const got = await call('GET', `/api/v1/namespaces/default/pods/web:${podPort}/proxy`);
    assert.equal(got.status, 301);
    assert.equal(got.headers.location, `/api/v1/namespaces/default/pods/web:${podPort}/proxy/`);
    const redirected = await call('GET', `/api/v1/namespaces/default/pods/web:${podPort}/proxy/redirect`);
    assert.equal(redirected.status, 302);
    assert.equal(redirected.headers.location, `/api/v1/namespaces/default/pods/web:${podPort}/proxy/landing?from=redirect`);
  });

  it('keeps links of HTML pages under the proxy', async () => {
    const got = await call('GET', '/api/v1/namespaces/default/services/web:http/proxy/page');
    assert.equal(got.body, '<a href="/api/v1/namespaces/default/services/web:http/proxy/next">next</a> <a href="rel">rel</a>');
    assert.equal(got.headers['content-length'], String(Buffer.byteLength(got.body)));
  });

  it('proxies to a service through its EndpointSlices, by port name or number', async () => {
    assert.equal((await call('GET', '/api/v1/namespaces/default/services/web:http/proxy/by-name')).body, 'pod got GET /by-name');
    assert.equal((await call('GET', '/api/v1/namespaces/default/services/web:80/proxy/by-number')).body, 'pod got GET /by-number');
    assert.equal((await call('GET', '/api/v1/namespaces/default/services/http:web:/proxy/only-port')).body, 'pod got GET /only-port');
  });

  it('answers as upstream when there is nothing to reach', async () => {
    const empty = await call('GET', '/api/v1/namespaces/default/services/empty/proxy/');
    assert.equal(empty.status, 503);
    assert.equal(JSON.parse(empty.body).message, 'no endpoints available for service "empty"');
    const noPort = await call('GET', '/api/v1/namespaces/default/services/web:81/proxy/');
    assert.equal(noPort.status, 503);
    assert.equal(JSON.parse(noPort.body).message, 'no service port 81 found for service "web"');
    const refused = await call('GET', `/api/v1/namespaces/default/pods/web:${closedPort}/proxy/`);
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.body).message, `error trying to reach service: dial tcp 127.0.0.1:${closedPort}: connect: connection refused`);
    const invalid = await call('GET', '/api/v1/namespaces/default/pods/a:b:c:d/proxy/');
    assert.equal(invalid.status, 400);
    assert.equal(JSON.parse(invalid.body).message, 'invalid pod request "a:b:c:d"');
    const missing = await call('GET', '/api/v1/namespaces/default/pods/ghost/proxy/');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.body).message, 'pods "ghost" not found');
  });

  it('proxies to the node agent with the API server\'s kubelet client certificate', async () => {
    const got = await call('GET', '/api/v1/nodes/fake-node/proxy/healthz');
    assert.equal(got.status, 200);
    assert.equal(got.body, 'ok');
    assert.equal((await k(['get', '--raw', '/api/v1/nodes/fake-node/proxy/healthz'])), 'ok');
  });

  it('splices a WebSocket upgrade through to the pod', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxyPort}/api/v1/namespaces/default/pods/web:${podPort}/proxy/ws`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send('hi');
    const reply = await new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.close();
    assert.equal(reply, 'echo hi');
  });
});
