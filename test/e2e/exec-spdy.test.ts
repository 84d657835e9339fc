// kubectl exec and attach over SPDY/3.1: kubectl 1.29 (which speaks only SPDY
// for these) through a real `skiff server` to a node streaming server in this
// process (fake backend over host processes, as in logs-exec.test.ts). The
// versioned binaries are the ones /usr/bin/kubectl dispatches to; kubectl
// 1.32 is checked to still pick WebSocket.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startStreamingServer, type RunningStreamingServer } from '../../src/agent/streaming/server.ts';
import { FakeStreamingBackend } from '../../src/agent/streaming/testing.ts';
import { kubectlAsync, startServer, type KubectlResult, type ServerHandle } from './harness.ts';

const KUBECTL_DIR = '/usr/lib/google-cloud-sdk/bin';
const SPDY_KUBECTL = join(KUBECTL_DIR, 'kubectl.1.29');
const WEBSOCKET_KUBECTL = join(KUBECTL_DIR, 'kubectl.1.32');

describe('kubectl exec and attach over SPDY', { skip: !existsSync(SPDY_KUBECTL) && `${SPDY_KUBECTL} is not installed` }, () => {
  let server: ServerHandle;
  let node: RunningStreamingServer;
  let backend: FakeStreamingBackend;
  let dir: string;
  const children = new Set<ChildProcess>();
  const sessions: Array<{ kind: string; transport: string; protocol: string }> = [];

  function kubectl(args: string[], options: { binary?: string; input?: string } = {}): Promise<KubectlResult> {
    return kubectlAsync(args, { kubeconfig: server.kubeconfig, cacheDir: join(dir, 'kube-cache'), binary: SPDY_KUBECTL, ...options }, children);
  }
  async function k(args: string[], input?: string): Promise<string> {
    const r = await kubectl(args, { input, binary: WEBSOCKET_KUBECTL });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  const target = (pod: string) => ({ namespace: 'default', pod, container: 'app' });

  async function runningPod(name: string): Promise<void> {
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName: 'fake-node', containers: [{ name: 'app', image: 'busybox', stdin: true }] },
    }));
    await k(['patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'busybox', imageID: '', state: { running: {} } }] },
    })]);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-exec-spdy-'));
    server = await startServer();
    backend = new FakeStreamingBackend({ cwd: dir });
    node = await startStreamingServer({
      backend, address: '127.0.0.1', port: 0, nodeName: 'fake-node',
      clientCa: readFileSync(join(server.dataDir, 'tls/ca.crt'), 'utf8'),
      log: () => undefined,
      onSession: (info) => sessions.push(info),
    });
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake-node' } }));
    await k(['patch', 'node', 'fake-node', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: node.port } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
      },
    })]);
    backend.set(target('web'), { running: true });
    await runningPod('web');
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const container of backend?.containers.values() ?? []) container.main?.kill('SIGKILL');
    await node?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs a command and propagates its exit code', async () => {
    const result = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(result.status, 3, result.stderr);
    assert.equal(result.stdout, 'out\n');
    assert.match(result.stderr, /err\n/);
    assert.match(result.stderr, /command terminated with exit code 3/);
    assert.deepEqual(sessions.at(-1), { kind: 'exec', transport: 'spdy', protocol: 'v4.channel.k8s.io' });
    const ok = await kubectl(['exec', 'web', '--', 'echo', 'fine']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'fine\n');
  });

  it('passes stdin with exec -i and ends it when kubectl\'s input ends', async () => {
    const input = 'typed line\n' + 'x'.repeat(200_000) + '\nlast\n';
    const result = await kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'cat; echo end'], { input });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, input + 'end\n');
    assert.deepEqual(backend.calls.at(-1)?.options, { argv: ['sh', '-c', 'cat; echo end'], stdin: true, tty: false });
    assert.equal(sessions.at(-1)?.transport, 'spdy');
  });

  it('attaches to the main process', async () => {
    const main = spawn('sh', ['-c', 'read reply; echo "main got $reply"'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    backend.set(target('attached'), { running: true, main });
    await runningPod('attached');
    const result = await kubectl(['attach', '-i', 'attached'], { input: 'hi there\n' });
    assert.match(result.stdout, /main got hi there/);
    assert.equal(backend.calls.at(-1)?.kind, 'attach');
    assert.deepEqual(sessions.at(-1), { kind: 'attach', transport: 'spdy', protocol: 'v4.channel.k8s.io' });
  });

  it('says why an exec cannot run', async () => {
    const result = await kubectl(['exec', 'ghost', '--', 'true']);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /pods "ghost" not found/);
    backend.set(target('web'), { running: false });
    try {
      const stopped = await kubectl(['exec', 'web', '--', 'true']);
      assert.notEqual(stopped.status, 0);
      assert.match(stopped.stderr, /container "app" in pod "web" is not running/);
    } finally {
      backend.set(target('web'), { running: true });
    }
  });

  it('leaves kubectl 1.32 on WebSocket', { skip: !existsSync(WEBSOCKET_KUBECTL) && `${WEBSOCKET_KUBECTL} is not installed` }, async () => {
    const result = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo via websocket; exit 2'], { binary: WEBSOCKET_KUBECTL });
    assert.equal(result.status, 2, result.stderr);
    assert.equal(result.stdout, 'via websocket\n');
    assert.deepEqual(sessions.at(-1), { kind: 'exec', transport: 'websocket', protocol: 'v5.channel.k8s.io' });
  });
});
