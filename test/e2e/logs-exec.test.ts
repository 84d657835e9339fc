// kubectl logs / exec / attach through the API server to a node agent's
// streaming endpoint. The "node" is this test process: the agent's streaming
// server (src/agent/streaming) with a fake backend (host processes, log files
// written here), registered as Node `fake-node` at 127.0.0.1. The real
// kubectl talks to a real `skiff server`, which proxies with its
// kubelet-client certificate. kubectl runs asynchronously here: the node
// answers from this process's event loop.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startStreamingServer, type RunningStreamingServer } from '../../src/agent/streaming/server.ts';
import { FakeStreamingBackend } from '../../src/agent/streaming/testing.ts';
import { eventually, kubectlAsync, startServer, type KubectlResult, type ServerHandle } from './harness.ts';

const line = (second: number, stream: 'stdout' | 'stderr', text: string, tag = 'F') => `2026-11-22T03:04:${String(second).padStart(2, '0')}.000000001Z ${stream} ${tag} ${text}\n`;

describe('kubectl logs, exec and attach', () => {
  let server: ServerHandle;
  let node: RunningStreamingServer;
  let backend: FakeStreamingBackend;
  let dir: string;
  const children = new Set<ChildProcess>();

  /** kubectl without blocking this process (the fake node lives in it). */
  function kubectl(args: string[], options: { input?: string; timeoutMs?: number; onStdout?: (soFar: string) => void } = {}): Promise<KubectlResult> {
    return kubectlAsync(args, { kubeconfig: server.kubeconfig, cacheDir: join(server.dataDir, 'kube-cache'), ...options }, children);
  }
  async function k(args: string[], input?: string): Promise<string> {
    const r = await kubectl(args, { input });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  const target = (pod: string, container = 'app') => ({ namespace: 'default', pod, container });
  const running = { running: {} };

  async function runningPod(name: string, containers: string[], extra: Record<string, unknown> = {}): Promise<void> {
    await k(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { nodeName: 'fake-node', containers: containers.map((c) => ({ name: c, image: 'busybox', stdin: true })) },
    }));
    await k(['patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        phase: 'Running',
        containerStatuses: containers.map((c) => ({ name: c, ready: true, restartCount: 0, image: 'busybox', imageID: '', state: running, ...extra })),
      },
    })]);
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-logs-exec-'));
    server = await startServer({ extraArgs: ['--simulated-nodes', '1'] });
    backend = new FakeStreamingBackend({ cwd: dir });
    node = await startStreamingServer({
      backend, address: '127.0.0.1', port: 0, nodeName: 'fake-node',
      clientCa: readFileSync(join(server.dataDir, 'tls/ca.crt'), 'utf8'),
      log: () => undefined,
    });
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'fake-node' } }));
    await k(['patch', 'node', 'fake-node', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'fake-node' }],
        daemonEndpoints: { kubeletEndpoint: { Port: node.port } },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
      },
    })]);

    const logPath = join(dir, 'web.log');
    writeFileSync(logPath, line(1, 'stdout', 'hello') + line(2, 'stderr', 'from ', 'P') + line(2, 'stderr', 'stderr') + line(3, 'stdout', 'third line'));
    const previousLogPath = join(dir, 'web-previous.log');
    writeFileSync(previousLogPath, line(0, 'stdout', 'the attempt before'));
    backend.set(target('web'), { logPath, previousLogPath, running: false });
    await runningPod('web', ['app'], { lastState: { terminated: { exitCode: 1, reason: 'Error', containerID: 'fake://1' } } });
  });

  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const container of backend?.containers.values() ?? []) container.main?.kill('SIGKILL');
    await node?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a container log, its tail, timestamps and the previous attempt', async () => {
    assert.equal(await k(['logs', 'web']), 'hello\nfrom stderr\nthird line\n');
    assert.equal(await k(['logs', 'web', '--tail=2']), 'from stderr\nthird line\n');
    assert.equal(await k(['logs', 'web', '--tail=1', '--timestamps']), '2026-11-22T03:04:03.000000001Z third line\n');
    assert.equal(await k(['logs', 'web', '--limit-bytes=8']), 'hello\nfr');
    assert.equal(await k(['logs', 'web', '--previous']), 'the attempt before\n');
  });

  it('follows a log until the container stops', async () => {
    const logPath = join(dir, 'follow.log');
    writeFileSync(logPath, line(1, 'stdout', 'started'));
    const container = { logPath, running: true };
    backend.set(target('follower'), container);
    await runningPod('follower', ['app']);
    let seen = '';
    const child = kubectl(['logs', '-f', 'follower'], { onStdout: (soFar) => (seen = soFar) });
    await eventually(() => seen === 'started\n', { timeoutMs: 30_000 });
    // The stream stays open: lines written now arrive through it.
    appendFileSync(logPath, line(2, 'stdout', 'later'));
    appendFileSync(logPath, line(3, 'stdout', 'last'));
    await eventually(() => seen === 'started\nlater\nlast\n', { timeoutMs: 30_000 });
    container.running = false;
    const result = await child;
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'started\nlater\nlast\n');
  });

  it('says why a log cannot be had, without waiting', async () => {
    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'starting' }, spec: { nodeName: 'fake-node', containers: [{ name: 'app', image: 'busybox' }] } }));
    const waiting = await kubectl(['logs', 'starting']);
    assert.notEqual(waiting.status, 0);
    assert.match(waiting.stderr, /container "app" in pod "starting" is waiting to start: ContainerCreating/);

    await k(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'two' }, spec: { nodeName: 'fake-node', containers: [{ name: 'a', image: 'busybox' }, { name: 'b', image: 'busybox' }] } }));
    const unnamed = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/two/log']);
    assert.match(unnamed.stderr, /a container name must be specified for pod two, choose one of: \[a b\]/);
    const invalid = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/web/log?tailLines=-1']);
    assert.match(invalid.stderr, /tailLines: Invalid value: -1: must be greater than or equal to 0/);

    // A hollow node has no streaming endpoint: a prompt error, never a hang.
    await k(['run', 'hollow', '--image=busybox', '--overrides', '{"spec":{"nodeName":"sim-0"}}']);
    await eventually(async () => JSON.parse(await k(['get', 'pod', 'hollow', '-o', 'json'])).status.phase === 'Running', { timeoutMs: 20_000 });
    const started = Date.now();
    const hollow = await kubectl(['logs', 'hollow']);
    assert.notEqual(hollow.status, 0);
    assert.match(hollow.stderr, /containerLogs\/default\/hollow\/hollow.*node "sim-0" is simulated/);
    const hollowExec = await kubectl(['exec', 'hollow', '--', 'true']);
    assert.notEqual(hollowExec.status, 0);
    assert.match(hollowExec.stderr, /node "sim-0" is simulated/);
    assert.ok(Date.now() - started < 20_000);
  });

  it('runs a command with exec and propagates its exit code', async () => {
    backend.set(target('web'), { ...backend.containers.get('default/web/app')!, running: true });
    const result = await kubectl(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(result.status, 3, result.stderr);
    assert.equal(result.stdout, 'out\n');
    assert.match(result.stderr, /err\n/);
    assert.match(result.stderr, /command terminated with exit code 3/);
    const quiet = await kubectl(['exec', 'web', '--', 'true']);
    assert.equal(quiet.status, 0, quiet.stderr);
  });

  it('passes stdin with exec -i', async () => {
    const result = await kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'cat; echo end'], { input: 'typed line\nanother\n' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'typed line\nanother\nend\n');
    assert.deepEqual(backend.calls.at(-1)?.options, { argv: ['sh', '-c', 'cat; echo end'], stdin: true, tty: false });
  });

  it('attaches to the main process', async () => {
    const main = spawn('sh', ['-c', 'read reply; echo "main got $reply"'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    backend.set(target('attached'), { running: true, main });
    await runningPod('attached', ['app']);
    const result = await kubectl(['attach', '-i', 'attached'], { input: 'hi there\n' });
    assert.match(result.stdout, /main got hi there/);
    assert.equal(backend.calls.at(-1)?.kind, 'attach');
  });
});
