// A Deployment rollout survives a crash of `skiff server`: the server is
// killed with SIGKILL in the middle of a rolling update (maxSurge 1,
// maxUnavailable 0, minReadySeconds so that it takes several steps), started
// again on the same data dir and port, and the rollout finishes with exactly
// the desired pods and ReplicaSets: no pod of the old template left, no
// duplicate pods.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] };
  spec: { hostname?: string; nodeName?: string; containers: { image: string }[] };
  status: { phase?: string };
}
interface ReplicaSet { metadata: { name: string }; spec: { replicas: number; template: { spec: { containers: { image: string }[] } } }; status: { replicas: number } }

describe('restart in the middle of a rollout', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-e2e-restart-'));
  const args = ['--simulated-nodes', '3'];
  let server: ServerHandle | undefined;
  const json = (a: string[]) => JSON.parse(server!.k([...a, '-o', 'json']));
  after(async () => {
    await server?.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes the rollout after a SIGKILL with exactly the new pods', { timeout: 110_000 }, async (t) => {
    server = await startServer({ dataDir, extraArgs: args });
    const port = server.port;
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 6, minReadySeconds: 1, selector: { matchLabels: { app: 'web' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.26' }] } },
      },
    }) });
    assert.match(server.k(['rollout', 'status', 'deploy/web', '--timeout=60s']), /successfully rolled out/);
    assert.equal(json(['get', 'deploy', 'web']).status.availableReplicas, 6);

    server.k(['set', 'image', 'deploy/web', 'nginx=nginx:1.27']);
    const updated = await eventually(() => {
      const d = json(['get', 'deploy', 'web']);
      const n = d.status.updatedReplicas ?? 0;
      return d.status.observedGeneration === d.metadata.generation && n >= 3 && n <= 5 ? n : undefined;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    await server.kill(true);
    t.diagnostic(`killed with SIGKILL at updatedReplicas=${updated}`);

    server = await startServer({ dataDir, port, extraArgs: args });
    assert.equal(server.port, port);
    assert.match(server.k(['rollout', 'status', 'deploy/web', '--timeout=60s']), /successfully rolled out/);

    // Pods terminating at the crash are finished by the restarted hollow nodes: converge, bounded.
    const livePods = () => json(['get', 'pods', '-l', 'app=web']).items as Pod[];
    await eventually(() => {
      const pods = livePods();
      return pods.length === 6 && pods.every((p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running' && p.spec.containers[0].image === 'nginx:1.27');
    }, { timeoutMs: 60_000, intervalMs: 500 });

    const pods = livePods();
    assert.equal(pods.length, 6);
    for (const pod of pods) {
      assert.equal(pod.spec.containers[0].image, 'nginx:1.27', `${pod.metadata.name} has the new image`);
      assert.equal(pod.status.phase, 'Running');
      assert.match(pod.spec.nodeName ?? '', /^sim-\d$/);
    }
    const names = pods.map((p) => p.metadata.name);
    assert.equal(new Set(names).size, 6, `no duplicate pod names: ${names}`);
    const hostnames = pods.map((p) => p.spec.hostname ?? p.metadata.name);
    assert.equal(new Set(hostnames).size, 6, `no duplicate hostnames: ${hostnames}`);

    const replicaSets = (json(['get', 'rs', '-l', 'app=web']).items as ReplicaSet[])
      .map((rs) => [rs.spec.template.spec.containers[0].image, rs.spec.replicas, rs.status.replicas ?? 0]).sort();
    assert.deepEqual(replicaSets, [['nginx:1.26', 0, 0], ['nginx:1.27', 6, 6]], 'exactly two ReplicaSets: new 6, old 0');
    const newRs = (json(['get', 'rs', '-l', 'app=web']).items as ReplicaSet[]).find((rs) => rs.spec.replicas === 6)!;
    for (const pod of pods) assert.equal(pod.metadata.ownerReferences?.[0]?.name, newRs.metadata.name);

    const deploy = json(['get', 'deploy', 'web']);
    assert.equal(deploy.status.replicas, 6);
    assert.equal(deploy.status.updatedReplicas, 6);
    assert.equal(deploy.status.availableReplicas, 6);
    assert.match(server.k(['get', 'deploy', 'web']), /^web\s+6\/6\s+6\s+6\s/m);
  });
});
