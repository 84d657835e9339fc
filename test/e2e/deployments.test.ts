// Deployments end to end in `skiff server` with simulated nodes: controller
// manager → ReplicaSets → pods → scheduler → hollow nodes, driven by kubectl
// create/rollout/set image/scale/undo, and `--controllers` switching.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

describe('deployments on simulated nodes', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '3'] });
  });
  after(async () => server?.stop());

  it('rolls out, updates, scales and rolls back with kubectl', () => {
    server.k(['create', 'deployment', 'web', '--image=nginx:1.26', '--replicas=4']);
    assert.match(server.k(['rollout', 'status', 'deploy/web', '--timeout=60s']), /successfully rolled out/);
    const pods = json(['get', 'pods', '-l', 'app=web']).items;
    assert.equal(pods.length, 4);
    for (const pod of pods) {
      assert.equal(pod.status.phase, 'Running');
      assert.match(pod.spec.nodeName, /^sim-\d$/);
      assert.equal(pod.metadata.ownerReferences[0].kind, 'ReplicaSet');
    }
    assert.match(server.k(['get', 'deploy', 'web']), /^web\s+4\/4\s+4\s+4\s/m);

    server.k(['set', 'image', 'deploy/web', 'nginx=nginx:1.27']);
    assert.match(server.k(['rollout', 'status', 'deploy/web', '--timeout=60s']), /successfully rolled out/);
    const images = json(['get', 'pods', '-l', 'app=web']).items.map((p: { spec: { containers: { image: string }[] } }) => p.spec.containers[0].image);
    assert.deepEqual([...new Set(images)], ['nginx:1.27']);
    assert.match(server.k(['rollout', 'history', 'deploy/web']), /^1\s.*\n2\s/m);

    server.k(['rollout', 'undo', 'deploy/web']);
    assert.match(server.k(['rollout', 'status', 'deploy/web', '--timeout=60s']), /successfully rolled out/);
    assert.equal(json(['get', 'deploy', 'web']).spec.template.spec.containers[0].image, 'nginx:1.26');
    const replicaSets = json(['get', 'rs', '-l', 'app=web']).items;
    assert.equal(replicaSets.length, 2, 'the old ReplicaSet is reused on undo');

    server.k(['scale', 'deploy/web', '--replicas=1']);
    assert.match(server.k(['rollout', 'status', 'deploy/web', '--timeout=60s']), /successfully rolled out/);
    assert.match(server.k(['describe', 'deploy', 'web']), /ScalingReplicaSet/);
  });

  it('replaces a deleted pod of a ReplicaSet', async () => {
    const before = json(['get', 'pods', '-l', 'app=web']).items.map((p: { metadata: { name: string } }) => p.metadata.name);
    server.k(['delete', 'pod', before[0], '--wait=false']);
    await eventually(() => {
      const now = json(['get', 'pods', '-l', 'app=web']).items.filter((p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp);
      return now.length === 1 && now[0].metadata.name !== before[0];
    }, { timeoutMs: 20_000 });
  });
});

describe('--controllers', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '1', '--controllers', '*,-deployment'] });
  });
  after(async () => server?.stop());

  it('leaves out the controllers it is told to', async () => {
    server.k(['create', 'deployment', 'idle', '--image=nginx']);
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'direct' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'direct' } }, template: { metadata: { labels: { app: 'direct' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    }) });
    await eventually(() => JSON.parse(server.k(['get', 'rs', 'direct', '-o', 'json'])).status?.readyReplicas === 2, { timeoutMs: 20_000 });
    assert.equal(JSON.parse(server.k(['get', 'rs', '-l', 'app=idle', '-o', 'json'])).items.length, 0);
  });
});
