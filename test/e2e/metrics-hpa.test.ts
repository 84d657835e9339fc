// Metrics and autoscaling end to end (issue 8): a real node agent in a test
// host reads its cgroups, the API server scrapes it for metrics.k8s.io,
// `kubectl top node|pod` prints the numbers, and a HorizontalPodAutoscaler
// made by `kubectl autoscale` scales a CPU-burning Deployment up, then back
// down once the burner is replaced by an idle template. CPU is scarce on
// these machines: each burner is held to 200m by its cgroup limit, at most
// three run, and the timings are shortened by flags (scrapes every 5 s, HPA
// syncs every 3 s, a 10 s scale-down stabilization window).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRoot, useNodeCluster, type Json } from './node-harness.ts';

const NAME = 'mhpa-burner';

function burnerDeployment(image: string, command: string): Json {
  const labels = { app: NAME };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: NAME },
    spec: {
      replicas: 1, selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'burn', image, command: ['sh', '-c', command], resources: { requests: { cpu: '100m', memory: '16Mi' }, limits: { cpu: '200m', memory: '64Mi' } } }],
        },
      },
    },
  };
}

/** Millicores from `kubectl top` ("199m", "1"). */
const millicores = (text: string) => (text.endsWith('m') ? Number(text.slice(0, -1)) : Number(text) * 1000);

describe('metrics.k8s.io and the HorizontalPodAutoscaler on a real node', { skip: isRoot ? false : 'needs root (netns, runc, cgroups)' }, () => {
  const cluster = useNodeCluster({
    serverArgs: ['--metric-resolution', '5s', '--horizontal-pod-autoscaler-sync-period', '3s', '--horizontal-pod-autoscaler-downscale-stabilization', '10s'],
  });

  it('kubectl top node|pod print usage; an HPA scales a CPU burner up and back down', { timeout: 240_000 }, async (t) => {
    const c = cluster();
    const started = Date.now();
    const stage = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
    await c.apply(burnerDeployment(c.image, 'while :; do :; done'));
    await c.k(['rollout', 'status', `deployment/${NAME}`, '--timeout=90s'], { timeoutMs: 100_000 });

    stage('rolled out');
    // kubectl top node: CPU(cores) CPU% MEMORY(bytes) MEMORY% for the real node.
    const nodeLine = await c.waitFor('kubectl top node to print the node', async () => {
      const r = await c.kubectl(['top', 'node']);
      return r.stdout.split('\n').find((line) => /^skiff-e2e-node\s+\d+m?\s+\d+%\s+\d+Mi\s+\d+%/.test(line));
    }, { timeoutMs: 30_000, intervalMs: 1000 });
    assert.ok(nodeLine);

    stage('kubectl top node');
    // The burner's CPU climbs to its 200m limit.
    const burning = await c.waitFor('the burner at ≥ 120m in kubectl top pod', async () => {
      const r = await c.kubectl(['top', 'pod', '-l', `app=${NAME}`, '--no-headers']);
      const [, cpu, memory] = r.stdout.trim().split(/\s+/);
      return cpu && millicores(cpu) >= 120 ? { cpu: millicores(cpu), memory } : undefined;
    }, { timeoutMs: 45_000, intervalMs: 2000 });
    assert.ok(burning.cpu <= 260, `the cgroup limit holds it near 200m (saw ${burning.cpu}m)`);
    assert.match(burning.memory!, /^\d+Mi$/);
    const containers = await c.k(['top', 'pod', '-l', `app=${NAME}`, '--containers', '--no-headers']);
    assert.match(containers, /^mhpa-burner-\S+\s+burn\s+\d+m\s+\d+Mi/m);

    stage('burner seen burning');
    // The metrics API itself: NodeMetrics and PodMetrics as metrics-server serves them.
    const podMetrics = JSON.parse(await c.k(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dmhpa-burner']));
    assert.equal(podMetrics.kind, 'PodMetricsList');
    assert.equal(podMetrics.items[0].containers[0].name, 'burn');
    assert.match(podMetrics.items[0].window, /^\d+(\.\d+)?s$/);
    const missing = await c.kubectl(['get', '--raw', '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/no-such-pod']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/);

    stage('metrics API checked');
    // kubectl autoscale (an autoscaling/v1 object with kubectl 1.32), then kubectl get hpa.
    await c.k(['autoscale', `deployment/${NAME}`, '--cpu-percent=50', '--min=1', '--max=3']);
    const targets = await c.waitFor('kubectl get hpa to show the utilization', async () => {
      const out = await c.k(['get', 'hpa', NAME, '--no-headers']);
      return /cpu: \d+%\/50%/.test(out) ? out : undefined;
    }, { timeoutMs: 45_000, intervalMs: 2000 });
    assert.match(targets, new RegExp(`^${NAME}\\s+Deployment/${NAME}\\s+cpu: \\d+%/50%\\s+1\\s+3\\s+\\d`));
    await c.waitFor('the deployment scaled to 3', async () => (await c.get(['deployment', NAME])).spec.replicas === 3, { timeoutMs: 45_000, intervalMs: 2000 });
    stage('scaled to 3');
    const events = (await c.get(['events', '--field-selector', `involvedObject.name=${NAME},reason=SuccessfulRescale`])).items;
    assert.ok(events.some((e: Json) => /^New size: 3; reason: cpu resource utilization \(percentage of request\) above target$/.test(e.message)), JSON.stringify(events.map((e: Json) => e.message)));

    // Replace the burner by an idle template (a patch of the template only: re-applying the manifest
    // would also reset spec.replicas), so usage falls and after the stabilization window the HPA scales down.
    await c.k(['patch', 'deployment', NAME, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/command', value: ['sleep', '3600'] }])]);
    await c.waitFor('the deployment back at 1', async () => (await c.get(['deployment', NAME])).spec.replicas === 1, { timeoutMs: 90_000, intervalMs: 2000 });
    const downEvents = (await c.get(['events', '--field-selector', `involvedObject.name=${NAME},reason=SuccessfulRescale`])).items.map((e: Json) => e.message);
    assert.ok(downEvents.includes('New size: 1; reason: All metrics below target'), JSON.stringify(downEvents));
    stage('scaled back to 1');
    const hpa = await c.get(['hpa', NAME]);
    const conditions = Object.fromEntries(hpa.status.conditions.map((x: Json) => [x.type, x]));
    assert.equal(conditions.ScalingActive.status, 'True');
    assert.equal(conditions.AbleToScale.status, 'True');
    await c.k(['delete', 'hpa', NAME]);
    await c.k(['delete', 'deployment', NAME]);
  });
});
