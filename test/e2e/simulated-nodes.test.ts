// `skiff server --simulated-nodes`: hollow nodes that register, heartbeat and
// run bound pods (without containers), seen through kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, repoRoot, startServer, type ServerHandle } from './harness.ts';

describe('simulated nodes', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '3:8,32Gi,110'] });
  });
  after(async () => server?.stop());

  it('registers Ready nodes with capacity and heartbeat leases', async () => {
    const nodes = await eventually(() => {
      const list = JSON.parse(server.k(['get', 'nodes', '-o', 'json'])).items;
      return list.length === 3 ? list : undefined;
    });
    assert.deepEqual(nodes.map((n: { metadata: { name: string } }) => n.metadata.name), ['sim-0', 'sim-1', 'sim-2']);
    for (const node of nodes) {
      assert.equal(node.status.capacity.cpu, '8');
      assert.equal(node.status.capacity.memory, '32Gi');
      assert.equal(node.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
    }
    assert.match(server.k(['get', 'nodes']), /^sim-0\s+Ready\s+<none>\s+\S+\s+v1\.36\.0-skiff$/m);
    assert.match(server.k(['get', 'leases', '-n', 'kube-node-lease']), /^sim-2\s+sim-2\s/m);
  });

  it('runs a pod bound to a node and finishes its graceful deletion', async () => {
    server.k(['run', 'web', '--image=nginx', '--overrides', '{"spec":{"nodeName":"sim-1"}}']);
    const pod = await eventually(() => {
      const p = JSON.parse(server.k(['get', 'pod', 'web', '-o', 'json']));
      return p.status.phase === 'Running' ? p : undefined;
    });
    assert.match(pod.status.podIP, /^10\.42\.\d+\.\d+$/);
    assert.equal(pod.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True');
    assert.match(server.k(['get', 'pod', 'web']), /^web\s+1\/1\s+Running\s+0\s/m);
    assert.match(server.k(['delete', 'pod', 'web', '--timeout=20s']), /pod "web" deleted/);
    assert.notEqual(server.kubectl(['get', 'pod', 'web']).status, 0);
  });

  it('lets a simulated `skiff agent` join with the server token', async () => {
    const agent = spawn(join(repoRoot, 'bin/skiff'), [
      'agent', '--server', `https://127.0.0.1:${server.port}`, '--token', readFileSync(join(server.dataDir, 'tls/admin.token'), 'utf8').trim(),
      '--ca-file', join(server.dataDir, 'tls/ca.crt'), '--node-name', 'worker-1', '--node-ip', '127.0.0.2', '--simulated',
    ], { stdio: 'ignore' });
    try {
      await eventually(() => /^worker-1\s+Ready\s/m.test(server.k(['get', 'nodes'])), { timeoutMs: 15_000 });
      server.k(['run', 'pinned', '--image=nginx', '--overrides', '{"spec":{"nodeName":"worker-1"}}']);
      await eventually(() => JSON.parse(server.k(['get', 'pod', 'pinned', '-o', 'json'])).status.phase === 'Running', { timeoutMs: 15_000 });
    } finally {
      const exited = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
  });
});
