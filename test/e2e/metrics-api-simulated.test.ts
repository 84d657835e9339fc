// metrics.k8s.io and HorizontalPodAutoscalers on a server whose only nodes
// are simulated (no root needed): the group is discovered, pods on hollow
// nodes have no metrics (as metrics-server answers for pods it has no data
// for), and `kubectl autoscale` (autoscaling/v1) is listed by `kubectl get
// hpa` (v2) — one object served in both versions — with the HPA reporting
// why it cannot scale. The real-node case is metrics-hpa.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';

describe('metrics API and HPAs with simulated nodes', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '1', '--horizontal-pod-autoscaler-sync-period', '1s'] });
  });
  after(async () => {
    await server?.stop();
  });

  it('discovery lists metrics.k8s.io; simulated pods have no metrics', async () => {
    assert.match(server.k(['api-versions']), /^metrics\.k8s\.io\/v1beta1$/m);
    assert.match(server.k(['api-resources', '--api-group=metrics.k8s.io']), /^nodes\s+metrics\.k8s\.io\/v1beta1\s+false\s+NodeMetrics$/m);
    server.k(['create', 'deployment', 'sim-web', '--image=registry.example/web:1']);
    const top = server.kubectl(['top', 'pod']);
    assert.notEqual(top.status, 0);
    assert.match(top.stderr, /metrics not available yet/);
    const nodes = JSON.parse(server.k(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/nodes']));
    assert.deepEqual([nodes.kind, nodes.items], ['NodeMetricsList', []]);
  });

  it('kubectl autoscale then kubectl get hpa; the v1 and v2 views of one object', async () => {
    server.k(['autoscale', 'deployment', 'sim-web', '--cpu-percent=50', '--min=1', '--max=4']);
    // The controller syncs every second here: wait until it has reported.
    for (let i = 0; i < 40 && !/FailedGetResourceMetric/.test(server.k(['get', 'hpa', 'sim-web', '-o', 'yaml'])); i++) await new Promise((r) => setTimeout(r, 250));
    const row = server.k(['get', 'hpa', 'sim-web', '--no-headers']);
    assert.match(row, /^sim-web\s+Deployment\/sim-web\s+cpu: <unknown>\/50%\s+1\s+4\s+1\s+/);
    const v1 = JSON.parse(server.k(['get', '--raw', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/sim-web']));
    assert.equal(v1.apiVersion, 'autoscaling/v1');
    assert.equal(v1.spec.targetCPUUtilizationPercentage, 50);
    assert.match(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/conditions'], /FailedGetResourceMetric/);
    const v2 = JSON.parse(server.k(['get', '--raw', '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers/sim-web']));
    assert.equal(v2.metadata.uid, v1.metadata.uid);
    const active = v2.status.conditions.find((c: { type: string }) => c.type === 'ScalingActive');
    assert.equal(active.status, 'False');
    assert.match(active.message, /no metrics returned from resource metrics API/);
    server.k(['patch', 'hpa', 'sim-web', '-p', '{"spec":{"maxReplicas":6}}']);
    assert.equal(JSON.parse(server.k(['get', '--raw', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/sim-web'])).spec.maxReplicas, 6);
    server.k(['delete', 'hpa', 'sim-web']);
    assert.match(server.kubectl(['get', '--raw', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/sim-web']).stderr, /not found/i);
  });
});
