// The replica calculation and the behavior rules on their own, with a fake
// clock: the cases upstream's replica_calculator_test.go and
// horizontal_test.go pin down, restated.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Pod } from '../framework/types.ts';
import { ScalingHistory, type Behavior } from './behavior.ts';
import { resourceMetrics } from './metrics.ts';
import { HPA_DEFAULTS, milliValue, resourceReplicas, type PodMetrics } from './replica-calculator.ts';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const options = { ...HPA_DEFAULTS, nowMs: NOW };

function pod(name: string, o: { cpuRequest?: string; phase?: string; ready?: boolean; startedMsAgo?: number; readySinceMsAgo?: number; deleting?: boolean } = {}): Pod {
  const started = NOW - (o.startedMsAgo ?? 10 * 60_000);
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', ...(o.deleting ? { deletionTimestamp: iso(NOW) } : {}) },
    spec: { containers: [{ name: 'app', resources: o.cpuRequest === undefined ? { requests: { cpu: '100m' } } : o.cpuRequest ? { requests: { cpu: o.cpuRequest } } : {} }] },
    status: {
      phase: o.phase ?? 'Running', startTime: iso(started),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: iso(NOW - (o.readySinceMsAgo ?? 9 * 60_000)) }],
    },
  } as Pod;
}

const metrics = (values: Record<string, number>, timestampMs = NOW): PodMetrics =>
  new Map(Object.entries(values).map(([name, value]) => [name, { value, timestampMs, windowMs: 15_000 }]));

const utilization = (averageUtilization: number) => ({ type: 'Utilization' as const, averageUtilization });

describe('replica calculation (resource metrics)', () => {
  test('scale up to ceil(ratio × ready pods)', () => {
    // (200m + 100m) / (100m + 100m) = 150 % against 50 %: ratio 3 over 2 pods.
    const r = resourceReplicas({ currentReplicas: 2, pods: [pod('a'), pod('b')], metrics: metrics({ a: 200, b: 100 }), resource: 'cpu', target: utilization(50) }, options);
    assert.deepEqual(r, { replicas: 6, utilization: 150, rawAverage: 150 });
  });

  test('within the tolerance nothing changes', () => {
    const r = resourceReplicas({ currentReplicas: 2, pods: [pod('a'), pod('b')], metrics: metrics({ a: 52, b: 54 }), resource: 'cpu', target: utilization(50) }, options);
    assert.equal((r as { replicas: number }).replicas, 2);
  });

  test('scale down', () => {
    const r = resourceReplicas({ currentReplicas: 4, pods: ['a', 'b', 'c', 'd'].map((n) => pod(n)), metrics: metrics({ a: 10, b: 10, c: 10, d: 10 }), resource: 'cpu', target: utilization(50) }, options);
    assert.equal((r as { replicas: number }).replicas, 1);
  });

  test('pending, failed and deleted pods are ignored; a missing request is an error', () => {
    const pods = [pod('a'), pod('p', { phase: 'Pending' }), pod('f', { phase: 'Failed' }), pod('d', { deleting: true })];
    const r = resourceReplicas({ currentReplicas: 4, pods, metrics: metrics({ a: 100, p: 500, f: 500, d: 500 }), resource: 'cpu', target: utilization(50) }, options);
    assert.equal((r as { replicas: number }).replicas, 2);
    const missing = resourceReplicas({ currentReplicas: 1, pods: [pod('a', { cpuRequest: '' })], metrics: metrics({ a: 100 }), resource: 'cpu', target: utilization(50) }, options);
    assert.match(String(missing), /missing request for cpu in container app of Pod a/);
  });

  test('missing metrics count as 100 % of request on a scale-down, 0 on a scale-up', () => {
    // a at 10 %: alone it asks for fewer; the silent b is taken at 100 %, so (10+100)/2 = 55 % ≈ target → keep.
    const down = resourceReplicas({ currentReplicas: 2, pods: [pod('a'), pod('b')], metrics: metrics({ a: 10 }), resource: 'cpu', target: utilization(50) }, options);
    assert.equal((down as { replicas: number }).replicas, 2);
    // a at 300 %: b counts as 0 → 150 % over 2 pods → 3 replicas.
    const up = resourceReplicas({ currentReplicas: 2, pods: [pod('a'), pod('b')], metrics: metrics({ a: 300 }), resource: 'cpu', target: utilization(50) }, options);
    assert.equal((up as { replicas: number }).replicas, 6);
  });

  test('unready pods in the CPU initialization period count as 0 on a scale-up', () => {
    const pods = [pod('a'), pod('young', { startedMsAgo: 60_000, ready: false, readySinceMsAgo: 60_000 })];
    const r = resourceReplicas({ currentReplicas: 2, pods, metrics: metrics({ a: 200, young: 400 }), resource: 'cpu', target: utilization(50) }, options);
    // Only a is ready: 200 % alone would say 4; with young at 0: 100 % over 2 → 4.
    assert.deepEqual(r, { replicas: 4, utilization: 200, rawAverage: 200 });
  });

  test('a ready pod whose sample started before it became ready is unready for CPU', () => {
    const pods = [pod('a'), pod('b', { startedMsAgo: 60_000, readySinceMsAgo: 5000 })];
    const r = resourceReplicas({ currentReplicas: 2, pods, metrics: metrics({ a: 100, b: 1000 }), resource: 'cpu', target: utilization(50) }, options);
    assert.equal((r as { utilization: number }).utilization, 100, 'b\'s burst during start-up is not counted');
  });

  test('no metrics at all, or no pods, is an error', () => {
    assert.match(String(resourceReplicas({ currentReplicas: 1, pods: [], metrics: metrics({}), resource: 'cpu', target: utilization(50) }, options)), /no pods returned by selector/);
    assert.match(String(resourceReplicas({ currentReplicas: 1, pods: [pod('a', { ready: false, startedMsAgo: 1000 })], metrics: metrics({ a: 5 }), resource: 'cpu', target: utilization(50) }, options)), /did not receive metrics for targeted pods/);
  });

  test('AverageValue: the average against the target value (memory, no readiness rules)', () => {
    const r = resourceReplicas({ currentReplicas: 2, pods: [pod('a'), pod('b')], metrics: metrics({ a: 300e6 * 1000, b: 100e6 * 1000 }), resource: 'memory', target: { type: 'AverageValue', averageValue: milliValue('100M')! } }, options);
    assert.deepEqual(r, { replicas: 4, utilization: 200e9, rawAverage: 200e9 });
  });

  test('PodMetrics usage: summed containers or one container, in milli-units', () => {
    const usage = new Map([['a', { timestampMs: NOW, windowMs: 15_000, containers: [{ name: 'app', usage: { cpu: '150m', memory: '10Mi' } }, { name: 'side', usage: { cpu: '250000n', memory: '1Ki' } }] }]]);
    assert.equal(resourceMetrics(usage, 'cpu').get('a')?.value, 151);
    assert.equal(resourceMetrics(usage, 'cpu', 'app').get('a')?.value, 150);
    assert.equal(resourceMetrics(usage, 'memory', 'side').get('a')?.value, 1024 * 1000);
    assert.equal(resourceMetrics(usage, 'cpu', 'nope').size, 0);
  });
});

describe('behavior', () => {
  const clock = () => {
    let now = NOW;
    return { now: () => now, advance: (ms: number) => { now += ms; } };
  };

  test('without behavior: scale-downs wait for the highest recommendation of 5 min; scale-ups limited to max(2×, 4)', () => {
    const c = clock();
    const h = new ScalingHistory({ now: c.now });
    const base = { key: 'k', currentReplicas: 3, minReplicas: 1, maxReplicas: 20 };
    assert.equal(h.normalize({ ...base, proposed: 5 }).replicas, 5);
    c.advance(60_000);
    const down = h.normalize({ ...base, currentReplicas: 5, proposed: 2 });
    assert.equal(down.replicas, 5);
    assert.equal(down.ableToScale.reason, 'ScaleDownStabilized');
    c.advance(5 * 60_000);
    assert.equal(h.normalize({ ...base, currentReplicas: 5, proposed: 2 }).replicas, 2);
    const up = h.normalize({ ...base, currentReplicas: 2, proposed: 15 });
    assert.deepEqual([up.replicas, up.scalingLimited.limited, up.scalingLimited.reason], [4, true, 'ScaleUpLimit']);
    const capped = h.normalize({ ...base, key: 'other', currentReplicas: 10, maxReplicas: 12, proposed: 15 });
    assert.deepEqual([capped.replicas, capped.scalingLimited.reason], [12, 'TooManyReplicas']);
    const floor = h.normalize({ ...base, key: 'third', currentReplicas: 3, minReplicas: 2, proposed: 1 });
    assert.deepEqual([floor.replicas, floor.scalingLimited.reason], [2, 'TooFewReplicas']);
  });

  test('scale-up stabilization takes the lowest recent recommendation', () => {
    const c = clock();
    const h = new ScalingHistory({ now: c.now });
    const behavior: Behavior = { scaleUp: { stabilizationWindowSeconds: 60 }, scaleDown: { stabilizationWindowSeconds: 0 } };
    const base = { key: 'k', behavior, currentReplicas: 2, minReplicas: 1, maxReplicas: 10 };
    assert.equal(h.normalize({ ...base, proposed: 3 }).replicas, 3);
    c.advance(10_000);
    const r = h.normalize({ ...base, proposed: 8 });
    assert.deepEqual([r.replicas, r.ableToScale.reason], [3, 'ScaleUpStabilized']);
    c.advance(61_000);
    const later = h.normalize({ ...base, proposed: 8 });
    // Stabilized at 8, then the default scale-up policies (+100 % or +4 pods per 15 s) allow 6.
    assert.deepEqual([later.replicas, later.ableToScale.reason, later.scalingLimited.reason], [6, 'ReadyForNewScale', 'ScaleUpLimit']);
  });

  test('Pods and Percent policies per period; Max picks the larger change, Min the smaller, Disabled none', () => {
    const c = clock();
    const policies = [{ type: 'Pods' as const, value: 1, periodSeconds: 60 }, { type: 'Percent' as const, value: 50, periodSeconds: 60 }];
    const make = (selectPolicy: 'Max' | 'Min' | 'Disabled') => ({ scaleUp: { stabilizationWindowSeconds: 0, selectPolicy, policies }, scaleDown: { stabilizationWindowSeconds: 0, selectPolicy, policies } });
    const h = new ScalingHistory({ now: c.now });
    const up = (selectPolicy: 'Max' | 'Min' | 'Disabled', key: string) => h.normalize({ key, behavior: make(selectPolicy), currentReplicas: 4, minReplicas: 1, maxReplicas: 100, proposed: 20 });
    assert.equal(up('Max', 'a').replicas, 6, '+50 % of 4 beats +1');
    assert.equal(up('Min', 'b').replicas, 5);
    const disabled = up('Disabled', 'c');
    assert.deepEqual([disabled.replicas, disabled.scalingLimited.reason], [4, 'ScaleUpLimit']);
    const down = h.normalize({ key: 'd', behavior: make('Max'), currentReplicas: 10, minReplicas: 1, maxReplicas: 100, proposed: 1 });
    assert.deepEqual([down.replicas, down.scalingLimited.reason], [5, 'ScaleDownLimit']);
  });

  test('changes made in the current period count against the policy', () => {
    const c = clock();
    const behavior: Behavior = { scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] } };
    const h = new ScalingHistory({ now: c.now });
    const first = h.normalize({ key: 'k', behavior, currentReplicas: 1, minReplicas: 1, maxReplicas: 10, proposed: 8 });
    assert.equal(first.replicas, 3);
    h.recordScale('k', behavior, 1, 3);
    c.advance(20_000);
    assert.equal(h.normalize({ key: 'k', behavior, currentReplicas: 3, minReplicas: 1, maxReplicas: 10, proposed: 8 }).replicas, 3, 'the period started at 1: +2 already used');
    c.advance(41_000);
    assert.equal(h.normalize({ key: 'k', behavior, currentReplicas: 3, minReplicas: 1, maxReplicas: 10, proposed: 8 }).replicas, 5);
  });

  test('the default scale-down window (300 s) applies when behavior leaves it out', () => {
    const c = clock();
    const h = new ScalingHistory({ now: c.now, downscaleStabilizationMs: 30_000 });
    const behavior: Behavior = { scaleUp: {} };
    h.normalize({ key: 'k', behavior, currentReplicas: 4, minReplicas: 1, maxReplicas: 10, proposed: 4 });
    c.advance(10_000);
    assert.equal(h.normalize({ key: 'k', behavior, currentReplicas: 4, minReplicas: 1, maxReplicas: 10, proposed: 1 }).replicas, 4);
    c.advance(31_000);
    assert.equal(h.normalize({ key: 'k', behavior, currentReplicas: 4, minReplicas: 1, maxReplicas: 10, proposed: 1 }).replicas, 1);
  });
});
