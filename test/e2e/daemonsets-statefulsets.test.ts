// DaemonSets and StatefulSets in `skiff server` with simulated nodes, through kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';

describe('daemonsets and statefulsets on simulated nodes', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '3'] });
  });
  after(async () => server?.stop());

  it('runs one DaemonSet pod per eligible node', () => {
    server.k(['taint', 'node', 'sim-2', 'dedicated=db:NoSchedule']);
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } } },
    }) });
    assert.match(server.k(['rollout', 'status', 'ds/agent', '--timeout=60s']), /successfully rolled out/);
    const nodes = json(['get', 'pods', '-l', 'app=agent']).items.map((p: { spec: { nodeName: string } }) => p.spec.nodeName).sort();
    assert.deepEqual(nodes, ['sim-0', 'sim-1'], 'the tainted node gets no pod');
    assert.match(server.k(['get', 'ds', 'agent']), /^agent\s+2\s+2\s+2\s+2\s+2\s/m);
  });

  it('creates StatefulSet pods in order with stable names and claims', () => {
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' },
      spec: {
        serviceName: 'db', replicas: 3, selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres:17', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] } },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    }) });
    assert.match(server.k(['rollout', 'status', 'sts/db', '--timeout=60s']), /partitioned roll out complete|successfully rolled out|complete/);
    const pods = json(['get', 'pods', '-l', 'app=db']).items;
    assert.deepEqual(pods.map((p: { metadata: { name: string } }) => p.metadata.name).sort(), ['db-0', 'db-1', 'db-2']);
    for (const pod of pods) {
      assert.equal(pod.spec.hostname, pod.metadata.name);
      assert.equal(pod.spec.subdomain, 'db');
    }
    const claims = json(['get', 'pvc']).items.map((c: { metadata: { name: string } }) => c.metadata.name).sort();
    assert.deepEqual(claims, ['data-db-0', 'data-db-1', 'data-db-2']);
    const created = pods.map((p: { metadata: { name: string; creationTimestamp: string } }) => [p.metadata.name, p.metadata.creationTimestamp]).sort();
    assert.ok(created[0][1] <= created[1][1] && created[1][1] <= created[2][1], 'OrderedReady creates in ordinal order');
  });
});
