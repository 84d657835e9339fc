import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hpaV1ToV2, hpaV2ToV1 } from './hpa.ts';

const v2 = {
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: 'default' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5,
    metrics: [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
      { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
    ],
    behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
  },
  status: {
    currentReplicas: 2, desiredReplicas: 3,
    currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 120, averageValue: '120m' } } }],
    conditions: [{ type: 'AbleToScale', status: 'True', reason: 'SucceededRescale' }],
  },
};

test('v2 → v1: the CPU target and value in v1 fields, everything else in annotations; and back', () => {
  const v1 = hpaV2ToV1(v2);
  assert.equal(v1.apiVersion, 'autoscaling/v1');
  assert.equal(v1.spec.targetCPUUtilizationPercentage, 50);
  assert.equal(v1.spec.metrics, undefined);
  assert.deepEqual(v1.status, { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 120 });
  assert.deepEqual(JSON.parse(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/metrics']), [v2.spec.metrics[1]]);
  assert.deepEqual(JSON.parse(v1.metadata.annotations['autoscaling.alpha.kubernetes.io/conditions']), v2.status.conditions);
  const back = hpaV1ToV2(v1);
  assert.deepEqual(back.spec, v2.spec);
  assert.deepEqual(back.status.conditions, v2.status.conditions);
  assert.equal(back.status.currentMetrics[0].resource.current.averageUtilization, 120);
  assert.equal(back.metadata.annotations, undefined);
});

test('v1 without a CPU target converts to no metrics (v2 defaulting then adds 80 % CPU)', () => {
  const out = hpaV1ToV2({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 3 } });
  assert.deepEqual(out.spec, { scaleTargetRef: { kind: 'Deployment', name: 'x' }, maxReplicas: 3 });
});
