// kubectl port-forward through a real `skiff server` to a node streaming
// server in this process (the fake backend dials 127.0.0.1, where a local
// HTTP server stands in for the pod's port 80), as logs-exec.test.ts does for
// exec. kubectl 1.32 tunnels SPDY in a WebSocket, kubectl 1.29 speaks plain
// SPDY, the Python client speaks the WebSocket channel protocol.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, get, request, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startStreamingServer, type RunningStreamingServer } from '../../src/agent/streaming/server.ts';
import { FakeStreamingBackend } from '../../src/agent/streaming/testing.ts';
import { hasPython3Kubernetes, kubectlAsync, KUBECTL, startServer, type ServerHandle } from './harness.ts';

const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
const SPDY_KUBECTL = join(KUBECTL_DIR, 'kubectl.1.29');
const TUNNEL_KUBECTL = join(KUBECTL_DIR, 'kubectl.1.32');

interface PortForwardProcess {
  child: ChildProcess;
  localPort: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

describe('kubectl port-forward', () => {
  let server: ServerHandle;
  let node: RunningStreamingServer;
  let backend: FakeStreamingBackend;
  let dir: string;
  let web: Server;
  let closedPort: number;
  const children = new Set<ChildProcess>();
  const sessions: Array<{ transport: string; protocol: string }> = [];

  async function k(args: string[], input?: string): Promise<string> {
    const r = await kubectlAsync(args, { kubeconfig: server.kubeconfig, cacheDir: join(dir, 'kube-cache'), input }, children);
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** Starts `kubectl port-forward` and waits for its "Forwarding from 127.0.0.1:N -> P" line. */
  function portForward(args: string[], binary = KUBECTL): Promise<PortForwardProcess> {
    const child = spawn(binary, ['--kubeconfig', server.kubeconfig, '--cache-dir', join(dir, 'kube-cache'), 'port-forward', '--address', '127.0.0.1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }));
    child.stderr.on('data', (d) => (stderr += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "Forwarding from" line in 30 s\n${stdout}\n${stderr}`)), 30_000);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`kubectl port-forward exited ${code}\n${stdout}\n${stderr}`));
      });
      child.stdout.on('data', (d) => {
        stdout += d;
        const match = /Forwarding from 127\.0\.0\.1:(\d+) -> \d+/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve({ child, localPort: Number(match[1]), stderr: () => stderr, exited });
        }
      });
    });
  }

  async function stop(forward: PortForwardProcess): Promise<void> {
    forward.child.kill('SIGINT');
    await forward.exited;
  }

  function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 20_000 }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-port-forward-'));
    web = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        // /big?bytes=N answers N bytes; /count answers how many bytes were posted.
        const url = new URL(req.url ?? '/', 'http://pod');
        if (url.pathname === '/big') return res.end(Buffer.alloc(Number(url.searchParams.get('bytes')), 'x'));
        if (url.pathname === '/count') return res.end(String(Buffer.byteLength(body)));
        res.end(`pod says ${req.method} ${req.url}${body ? ` ${body}` : ''}`);
      });
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    // A port nothing listens on: bind, note, close.
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    server = await startServer();
    backend = new FakeStreamingBackend({ cwd: dir });
    backend.forwardedPorts.set('default/web:80', (web.address() as AddressInfo).port);
    backend.forwardedPorts.set('default/web:81', closedPort);
    node = await startStreamingServer({
      backend, address: '127.0.0.1', port: 0, nodeName: 'fake-node',
      clientCa: readFileSync(join(server.dataDir, 'tls/ca.crt'), 'utf8'),
      log: () => undefined,
      onPortForward: (info) => sessions.push(info),
    });
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake-node' } }));
    await k(['patch', 'node', 'fake-node', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: node.port } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
      },
    })]);
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', labels: { app: 'web' } },
      spec: { nodeName: 'fake-node', containers: [{ name: 'app', image: 'busybox', ports: [{ name: 'http', containerPort: 80 }] }] },
    }));
    await k(['patch', 'pod', 'web', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { phase: 'Running', podIP: '127.0.0.1', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'busybox', imageID: '', state: { running: {} } }] },
    })]);
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await node?.close();
    await server?.stop();
    web?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('carries HTTP requests to the pod port (kubectl 1.32: SPDY tunnelled in WebSocket)', { skip: !existsSync(TUNNEL_KUBECTL) && `${TUNNEL_KUBECTL} is not installed` }, async () => {
    const forward = await portForward(['pod/web', '0:80'], TUNNEL_KUBECTL);
    try {
      assert.deepEqual(await httpGet(forward.localPort, '/first'), { status: 200, body: 'pod says GET /first' });
      // A second connection over the same forwarding session.
      assert.deepEqual(await httpGet(forward.localPort, '/second'), { status: 200, body: 'pod says GET /second' });
      assert.deepEqual(sessions.at(-1), { kind: 'portforward', transport: 'spdy-over-websocket', protocol: 'SPDY/3.1+portforward.k8s.io' });
      assert.deepEqual(backend.portForwards.at(-1), { target: { namespace: 'default', pod: 'web' }, port: 80 });
    } finally {
      await stop(forward);
    }
  });

  it('moves megabytes both ways without losing a byte', async () => {
    const forward = await portForward(['pod/web', '0:80']);
    try {
      const big = await httpGet(forward.localPort, '/big?bytes=8000000');
      assert.equal(big.body.length, 8_000_000);
      const posted = await new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: forward.localPort, path: '/count', method: 'POST', agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end(Buffer.alloc(5_000_000, 'y'));
      });
      assert.equal(posted, '5000000');
    } finally {
      await stop(forward);
    }
  });

  it('carries HTTP requests over plain SPDY (kubectl 1.29)', { skip: !existsSync(SPDY_KUBECTL) && `${SPDY_KUBECTL} is not installed` }, async () => {
    const forward = await portForward(['web', '0:80'], SPDY_KUBECTL);
    try {
      assert.deepEqual(await httpGet(forward.localPort, '/spdy'), { status: 200, body: 'pod says GET /spdy' });
      assert.deepEqual(sessions.at(-1), { kind: 'portforward', transport: 'spdy', protocol: 'portforward.k8s.io' });
    } finally {
      await stop(forward);
    }
  });

  it('resolves svc/ and deploy/ to a pod (and a service port to its target port)', async () => {
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 'http' }] },
    }));
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } } },
    }));
    const viaService = await portForward(['svc/web', '0:8080']);
    try {
      assert.deepEqual(await httpGet(viaService.localPort, '/svc'), { status: 200, body: 'pod says GET /svc' });
      assert.equal(backend.portForwards.at(-1)?.port, 80);
    } finally {
      await stop(viaService);
    }
    const viaDeployment = await portForward(['deploy/web', '0:80']);
    try {
      assert.deepEqual(await httpGet(viaDeployment.localPort, '/deploy'), { status: 200, body: 'pod says GET /deploy' });
    } finally {
      await stop(viaDeployment);
    }
  });

  it('reports a closed pod port instead of hanging', async () => {
    const forward = await portForward(['pod/web', '0:81']);
    try {
      await assert.rejects(httpGet(forward.localPort, '/nothing'));
      const code = await Promise.race([forward.exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 15_000))]);
      assert.match(forward.stderr(), /an error occurred forwarding \d+ -> 81: error forwarding port 81 to pod web_default, uid : dial tcp4 127\.0\.0\.1:\d+: connect: connection refused/);
      // kubectl ≥ 1.29 gives up the session on such an error.
      assert.equal(code, 1, forward.stderr());
      assert.match(forward.stderr(), /lost connection to pod/);
    } finally {
      if (forward.child.exitCode === null) await stop(forward);
    }
  });

  it('refuses a pod without a node, or one on a simulated node', async () => {
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pending' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } }));
    await k(['patch', 'pod', 'pending', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running' } })]);
    const result = await kubectlAsync(['port-forward', 'pending', '0:80'], { kubeconfig: server.kubeconfig, cacheDir: join(dir, 'kube-cache'), timeoutMs: 30_000 }, children);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /pod pending does not have a host assigned/);

    // A hollow node (as --simulated-nodes makes them): refused at once, its made-up address never dialled.
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'hollow', labels: { 'skiff.dev/simulated': 'true' } } }));
    await k(['patch', 'node', 'hollow', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: '10.255.0.1' }] } })]);
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hollow-pod' }, spec: { nodeName: 'hollow', containers: [{ name: 'app', image: 'busybox' }] } }));
    await k(['patch', 'pod', 'hollow-pod', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running' } })]);
    const hollow = await kubectlAsync(['port-forward', 'hollow-pod', '0:80'], { kubeconfig: server.kubeconfig, cacheDir: join(dir, 'kube-cache'), timeoutMs: 30_000 }, children);
    assert.notEqual(hollow.status, 0);
    assert.match(hollow.stderr, /node "hollow" is simulated and runs no containers/);
  });

  it('serves the Python client\'s WebSocket port-forward', { skip: !hasPython3Kubernetes() && 'python3-kubernetes is not installed' }, async () => {
    const script = `
import sys
from kubernetes import client, config
from kubernetes.stream import portforward
config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()
pf = portforward(api.connect_get_namespaced_pod_portforward, 'web', 'default', ports='80,81')
sock = pf.socket(80)
sock.setblocking(True)
sock.sendall(b'POST /py HTTP/1.0\\r\\nHost: web\\r\\nContent-Length: 5\\r\\n\\r\\nhello')
data = b''
while True:
    chunk = sock.recv(4096)
    if not chunk:
        break
    data += chunk
sock.close()
print(data.decode().split('\\r\\n\\r\\n', 1)[1])
print('error:', pf.error(80))
print('closed port:', pf.error(81))
`;
    const child = spawn('/usr/bin/python3', ['-c', script, server.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^pod says POST \/py hello\nerror: None\nclosed port: error forwarding port 81 to pod web_default, uid : dial tcp4 127\.0\.0\.1:\d+: connect: connection refused\n$/);
    assert.deepEqual(sessions.at(-1), { kind: 'portforward', transport: 'websocket', protocol: 'v4.channel.k8s.io' });
  });
});
