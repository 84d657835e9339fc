// `skiff server --datastore-endpoint http://…` on a real etcd (Debian's
// etcd-server, started here on free loopback ports): kubectl works end to end
// with the objects in etcd; while etcd is down or frozen, API requests answer
// 503/504 quickly and /readyz fails; when etcd returns, requests and open
// watches recover by themselves.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { openEtcdStore } from '../../src/storage/etcd/etcd-store.ts';
import { startEtcd, type EtcdCluster } from '../../src/storage/etcd/launcher.ts';
import { eventually, KUBECTL, startServer, type ServerHandle } from './harness.ts';
import { RawClient, type RawResponse } from './raw-client.ts';

/** Fails instead of hanging when the server does not answer. */
async function answersWithin(request: Promise<RawResponse>, ms: number): Promise<RawResponse> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([request, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** `kubectl get configmaps --watch` running in the background, its output collected. */
function kubectlWatch(server: ServerHandle): { output: () => string; process: ChildProcess } {
  const child = spawn(KUBECTL, ['--kubeconfig', server.kubeconfig, 'get', 'configmaps', '-n', 'default', '--watch', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += String(chunk)));
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  return { output: () => output, process: child };
}

describe('skiff server on etcd', () => {
  let etcd: EtcdCluster;
  let server: ServerHandle;
  let raw: RawClient;
  const children: ChildProcess[] = [];

  before(async () => {
    etcd = await startEtcd();
    server = await startServer({ extraArgs: ['--datastore-endpoint', etcd.endpoints.join(','), '--simulated-nodes', '1'] });
    raw = new RawClient({ port: server.port, dataDir: server.dataDir, protocol: 'http/1.1' });
  });
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    await raw?.close();
    await server?.stop();
    await etcd?.stop();
  });

  it('runs a deployment with kubectl, watches and deletes, with the objects in etcd', async () => {
    server.k(['create', 'deployment', 'web', '--image=registry.example/web:1', '--replicas=2']);
    await eventually(() => {
      const pods = JSON.parse(server.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
      return pods.length === 2 && pods.every((pod: any) => pod.status.phase === 'Running');
    }, { timeoutMs: 60_000 });
    assert.match(server.k(['get', 'pods']), /web-[a-z0-9]+-[a-z0-9]+\s+1\/1\s+Running/);

    const watch = kubectlWatch(server);
    children.push(watch.process);
    server.k(['create', 'configmap', 'seen-by-watch', '--from-literal=a=b']);
    await eventually(() => watch.output().includes('configmap/seen-by-watch'), { timeoutMs: 20_000 });
    watch.process.kill();

    // The objects live in etcd under upstream's key layout.
    const store = await openEtcdStore({ endpoints: etcd.endpoints, compactIntervalMs: 0 });
    try {
      const deployment = await store.get('/registry/apps/deployments/default/web');
      assert.equal(JSON.parse(deployment!.value).spec.replicas, 2);
      assert.equal(await store.count('/registry/core/pods/default/'), 2);
    } finally {
      await store.close();
    }

    server.k(['delete', 'deployment', 'web']);
    await eventually(() => server.k(['get', 'pods', '-l', 'app=web', '-o', 'name']).trim() === '', { timeoutMs: 60_000 });
  });

  it('answers 503 and fails readiness while etcd is down, and recovers requests and watches when it returns', async () => {
    const watch = kubectlWatch(server);
    children.push(watch.process);
    server.k(['create', 'configmap', 'before-outage', '--from-literal=a=b']);
    await eventually(() => watch.output().includes('configmap/before-outage'), { timeoutMs: 20_000 });

    const member = etcd.members[0]!;
    await member.kill('SIGKILL');
    const started = Date.now();
    const list = await answersWithin(raw.get('/api/v1/namespaces/default/configmaps'), 15_000);
    assert.equal(list.status, 503, list.text);
    assert.deepEqual([list.json.kind, list.json.reason, list.json.code], ['Status', 'ServiceUnavailable', 503]);
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    const create = await answersWithin(raw.post('/api/v1/namespaces/default/configmaps', { metadata: { name: 'during-outage' } }), 15_000);
    assert.equal(create.status, 503, create.text);
    await eventually(async () => {
      const ready = await answersWithin(raw.get('/readyz'), 10_000);
      return ready.status === 500 && ready.text.includes('[-]etcd failed');
    });
    assert.equal((await raw.get('/livez')).status, 200, 'liveness does not depend on etcd');

    await member.restart();
    await eventually(async () => (await raw.get('/readyz')).status === 200, { timeoutMs: 20_000 });
    await eventually(() => server.kubectl(['create', 'configmap', 'after-outage', '--from-literal=a=b']).status === 0, { timeoutMs: 20_000 });
    // The watch opened before the outage goes on by itself.
    await eventually(() => watch.output().includes('configmap/after-outage'), { timeoutMs: 30_000 });
    assert.equal(server.process.exitCode, null, 'the server is still running');
    watch.process.kill();
  });

  it('answers 504 while etcd is frozen, and goes on when it thaws', async () => {
    const member = etcd.members[0]!;
    await member.pause();
    try {
      const started = Date.now();
      const list = await answersWithin(raw.get('/api/v1/namespaces/default/configmaps'), 20_000);
      assert.equal(list.status, 504, list.text);
      assert.deepEqual([list.json.reason, list.json.code], ['Timeout', 504]);
      assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
      await eventually(async () => (await answersWithin(raw.get('/readyz'), 10_000)).status === 500);
    } finally {
      member.resume();
    }
    await eventually(async () => (await raw.get('/readyz')).status === 200, { timeoutMs: 20_000 });
    assert.equal((await raw.get('/api/v1/namespaces/default/configmaps/after-outage')).status, 200);
  });
});
