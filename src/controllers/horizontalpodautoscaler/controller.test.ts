// The HPA controller against a real API server in this process, with the
// Deployment and ReplicaSet controllers and stand-in nodes that run pods
// Ready; pod usage comes from a fake metrics source the test turns up and
// down (the real one reads metrics.k8s.io, covered end to end in
// test/e2e/metrics-hpa.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { createSharedInformers, type SharedInformers } from '../framework/informers.ts';
import { quietLogger, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { HorizontalPodAutoscalerController } from './controller.ts';
import type { MetricsSource, PodUsage } from './metrics.ts';
import type { Hpa } from './types.ts';

const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };
const hpas = (version: 'v1' | 'v2') => ({ group: 'autoscaling', version, resource: 'horizontalpodautoscalers' });

function deployment(name: string) {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas: 1, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/app:1', resources: { requests: { cpu: '100m' } } }] } },
    },
  };
}

describe('horizontal pod autoscaler controller', () => {
  let h: Harness;
  let informers: SharedInformers;
  let controller: HorizontalPodAutoscalerController;
  const warnings: string[] = [];
  /** CPU per pod by namespace; a namespace missing here has no metrics. */
  const cpuPerPod = new Map<string, string>();
  const source: MetricsSource = {
    async podUsage(namespace, selector) {
      const out = new Map<string, PodUsage>();
      const cpu = cpuPerPod.get(namespace);
      if (!cpu) return out;
      for (const pod of (await h.client.list({ ...resources.pods, namespace }, { labelSelector: selector })).items) {
        out.set(pod.metadata.name!, { timestampMs: Date.now(), windowMs: 0, containers: [{ name: 'app', usage: { cpu, memory: '10Mi' } }] });
      }
      return out;
    },
  };

  before(async () => {
    h = await startHarness({ controllers: 'replicaset,deployment' });
    informers = createSharedInformers({ client: h.client });
    controller = new HorizontalPodAutoscalerController({ client: h.client, informers, metrics: source, logger: quietLogger(warnings), tuning: { hpaSyncPeriodMs: 300 } });
    informers.start();
    void controller.run();
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(warnings);
    await controller?.stop();
    informers?.stop();
    await h?.stop();
  });

  const getHpa = (version: 'v1' | 'v2', namespace: string, name: string) => h.client.get<Hpa>({ ...hpas(version), namespace, name });
  const replicas = async (namespace: string, name: string) => ((await h.client.get<KubeObject & { spec: { replicas: number } }>({ ...deployments, namespace, name })).spec.replicas);
  const events = async (namespace: string) => (await h.client.list<KubeObject & { reason: string; message: string }>({ ...resources.events, namespace })).items;

  it('scales a Deployment up on CPU utilization, reports status and events, and back down', async () => {
    const ns = await h.namespace('hpa-up-down');
    await h.client.create({ ...deployments, namespace: ns }, deployment('web'));
    cpuPerPod.set(ns, '200m');
    await h.client.create({ ...hpas('v2'), namespace: ns }, {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 3,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
        behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
      },
    });
    await waitFor('the deployment scaled to 3', async () => (await replicas(ns, 'web')) === 3, 20_000);
    const scaled = await waitFor('status with the metric', async () => {
      const hpa = await getHpa('v2', ns, 'web');
      return hpa.status?.desiredReplicas === 3 && hpa.status.currentMetrics?.length ? hpa : undefined;
    }, 20_000);
    assert.deepEqual(scaled.status!.currentMetrics, [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 200, averageValue: '200m' } } }]);
    assert.ok(scaled.status!.lastScaleTime);
    const byType = Object.fromEntries(scaled.status!.conditions!.map((c) => [c.type, c]));
    assert.equal(byType.ScalingActive?.reason, 'ValidMetricFound');
    assert.equal(byType.ScalingActive?.message, 'the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)');
    assert.equal(byType.AbleToScale?.status, 'True');
    assert.equal(byType.ScalingLimited?.status, 'True');
    assert.equal(byType.ScalingLimited?.reason, 'TooManyReplicas');
    const rescale = (await events(ns)).find((e) => e.reason === 'SuccessfulRescale');
    assert.equal(rescale?.message, 'New size: 3; reason: cpu resource utilization (percentage of request) above target');

    cpuPerPod.set(ns, '5m');
    await waitFor('the deployment back at 1', async () => (await replicas(ns, 'web')) === 1, 20_000);
    await waitFor('a scale-down event', async () => (await events(ns)).some((e) => e.message === 'New size: 1; reason: All metrics below target'), 10_000);
  });

  it('an autoscaling/v1 object (kubectl autoscale) is the same object as v2: v1 status through v1, full status through v2', async () => {
    const ns = await h.namespace('hpa-v1');
    await h.client.create({ ...deployments, namespace: ns }, deployment('api'));
    cpuPerPod.set(ns, '40m');
    await h.client.create({ ...hpas('v1'), namespace: ns }, {
      apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 50 },
    });
    const v1 = await waitFor('v1 status', async () => {
      const got = await h.client.get<KubeObject & { status?: Record<string, unknown> }>({ ...hpas('v1'), namespace: ns, name: 'api' });
      return got.status?.currentCPUUtilizationPercentage !== undefined ? got : undefined;
    }, 20_000);
    assert.equal(v1.apiVersion, 'autoscaling/v1');
    assert.deepEqual(v1.status, { observedGeneration: 1, currentReplicas: 1, desiredReplicas: 1, currentCPUUtilizationPercentage: 40 });
    assert.match(v1.metadata.annotations?.['autoscaling.alpha.kubernetes.io/conditions'] ?? '', /ValidMetricFound/);
    const v2 = await getHpa('v2', ns, 'api');
    assert.deepEqual(v2.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]);
    assert.equal(v2.status?.currentMetrics?.[0]?.resource?.current.averageUtilization, 40);
    assert.equal(v2.metadata.annotations, undefined);
    assert.equal(await replicas(ns, 'api'), 1, '40 % against 50 % is outside the tolerance, but ceil(0.8 × 1) = 1');
  });

  it('without metrics: ScalingActive False (FailedGetResourceMetric) and a warning event; the scale stays', async () => {
    const ns = await h.namespace('hpa-nometrics');
    await h.client.create({ ...deployments, namespace: ns }, deployment('quiet'));
    await h.client.create({ ...hpas('v2'), namespace: ns }, {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'quiet' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'quiet' }, maxReplicas: 5 },
    });
    const hpa = await waitFor('ScalingActive False', async () => {
      const got = await getHpa('v2', ns, 'quiet');
      return got.status?.conditions?.some((c) => c.type === 'ScalingActive' && c.status === 'False') ? got : undefined;
    }, 20_000);
    const active = hpa.status!.conditions!.find((c) => c.type === 'ScalingActive')!;
    assert.equal(active.reason, 'FailedGetResourceMetric');
    assert.match(active.message!, /unable to get metrics for resource cpu: no metrics returned from resource metrics API/);
    await waitFor('FailedGetResourceMetric event', async () => (await events(ns)).some((e) => e.reason === 'FailedGetResourceMetric'), 10_000);
    assert.equal(await replicas(ns, 'quiet'), 1);
  });

  it('a target that does not exist: AbleToScale False (FailedGetScale)', async () => {
    const ns = await h.namespace('hpa-notarget');
    await h.client.create({ ...hpas('v2'), namespace: ns }, {
      apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'ghost' },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'ghost' }, maxReplicas: 5 },
    });
    const hpa = await waitFor('AbleToScale False', async () => {
      const got = await getHpa('v2', ns, 'ghost');
      return got.status?.conditions?.find((c) => c.type === 'AbleToScale' && c.status === 'False');
    }, 20_000);
    assert.equal(hpa.reason, 'FailedGetScale');
    assert.match(hpa.message!, /the HPA controller was unable to get the target's current scale: .*not found/);
  });
});
