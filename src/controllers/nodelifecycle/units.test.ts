// Pure parts of the node lifecycle controller: health from the controller's
// clock, condition taints, zone states and the eviction rate limiter.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkNodeHealth } from './health.ts';
import { desiredNoScheduleTaints, noScheduleTaintDiff } from './taints.ts';
import type { NodeObject } from './types.ts';
import { zoneKey } from './types.ts';
import { computeZoneState, RateLimitedTimedQueue, TokenBucket, zoneEvictionRate } from './zones.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');
const readyNode = (heartbeat = '2030-01-01T00:00:00Z', extra: Partial<NodeObject> = {}): NodeObject => ({
  apiVersion: 'v1', kind: 'Node',
  metadata: { name: 'n1', creationTimestamp: '2029-12-31T23:00:00Z' },
  status: {
    conditions: [
      { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: heartbeat, lastTransitionTime: '2029-12-31T23:00:00Z' },
      { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: heartbeat, lastTransitionTime: '2029-12-31T23:00:00Z' },
      { type: 'NetworkUnavailable', status: 'False', lastHeartbeatTime: heartbeat, lastTransitionTime: '2029-12-31T23:00:00Z' },
    ],
  },
  ...extra,
});
const lease = (renewTime: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'n1', namespace: 'kube-node-lease' }, spec: { renewTime } });
const grace = { gracePeriodMs: 40_000, startupGracePeriodMs: 60_000 };

describe('checkNodeHealth', () => {
  it('counts a node seen for the first time as alive now', () => {
    const check = checkNodeHealth({ node: readyNode(), lease: undefined, previous: undefined, now: T0, ...grace });
    assert.equal(check.health.probeTimestamp, T0);
    assert.equal(check.newConditions, undefined);
    assert.equal(check.currentReady?.status, 'True');
  });

  it('marks the conditions Unknown once neither status nor lease moved for the grace period', () => {
    const first = checkNodeHealth({ node: readyNode(), lease: lease('2030-01-01T00:00:00.000000Z'), previous: undefined, now: T0, ...grace });
    const quiet = checkNodeHealth({ node: readyNode(), lease: lease('2030-01-01T00:00:00.000000Z'), previous: first.health, now: T0 + 40_000, ...grace });
    assert.equal(quiet.newConditions, undefined, 'exactly the grace period is still fine');
    const silent = checkNodeHealth({ node: readyNode(), lease: lease('2030-01-01T00:00:00.000000Z'), previous: first.health, now: T0 + 40_001, ...grace });
    assert.ok(silent.newConditions);
    const byType = new Map(silent.newConditions.map((c) => [c.type, c]));
    assert.deepEqual(
      { status: byType.get('Ready')!.status, reason: byType.get('Ready')!.reason, message: byType.get('Ready')!.message },
      { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' },
    );
    assert.equal(byType.get('MemoryPressure')!.status, 'Unknown');
    assert.equal(byType.get('DiskPressure')!.reason, 'NodeStatusNeverUpdated');
    assert.equal(byType.get('DiskPressure')!.message, 'Kubelet never posted node status.');
    assert.equal(byType.get('PIDPressure')!.status, 'Unknown');
    assert.equal(byType.get('NetworkUnavailable')!.status, 'False', 'the network plugin owns NetworkUnavailable');
    assert.equal(byType.get('Ready')!.lastHeartbeatTime, '2030-01-01T00:00:00Z', 'heartbeat time stays the node\'s');
    assert.equal(silent.observedReady.status, 'True');
    assert.equal(silent.currentReady?.status, 'Unknown');
  });

  it('takes a renewed lease as a sign of life even when the status is old', () => {
    const first = checkNodeHealth({ node: readyNode(), lease: lease('2030-01-01T00:00:00.000000Z'), previous: undefined, now: T0, ...grace });
    const renewed = checkNodeHealth({ node: readyNode(), lease: lease('2030-01-01T00:00:30.000000Z'), previous: first.health, now: T0 + 30_000, ...grace });
    const later = checkNodeHealth({ node: readyNode(), lease: lease('2030-01-01T00:00:30.000000Z'), previous: renewed.health, now: T0 + 60_000, ...grace });
    assert.equal(later.newConditions, undefined);
    assert.equal(later.health.probeTimestamp, T0 + 30_000);
  });

  it('takes a new Ready heartbeat as a sign of life', () => {
    const first = checkNodeHealth({ node: readyNode(), lease: undefined, previous: undefined, now: T0, ...grace });
    const beat = checkNodeHealth({ node: readyNode('2030-01-01T00:00:35Z'), lease: undefined, previous: first.health, now: T0 + 35_000, ...grace });
    assert.equal(beat.health.probeTimestamp, T0 + 35_000);
  });

  it('gives a node that never posted status the startup grace period from its creation', () => {
    const node: NodeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', creationTimestamp: new Date(T0).toISOString() } };
    const early = checkNodeHealth({ node, lease: undefined, previous: undefined, now: T0 + 59_000, ...grace });
    assert.equal(early.newConditions, undefined);
    assert.equal(early.currentReady, undefined);
    const late = checkNodeHealth({ node, lease: undefined, previous: early.health, now: T0 + 61_000, ...grace });
    assert.equal(late.newConditions?.find((c) => c.type === 'Ready')?.reason, 'NodeStatusNeverUpdated');
  });
});

describe('condition taints', () => {
  it('mirrors bad conditions and a cordon as NoSchedule taints', () => {
    const node = readyNode();
    node.status!.conditions![1]!.status = 'Unknown';
    node.status!.conditions![0]!.status = 'True';
    node.spec = { unschedulable: true };
    assert.deepEqual(desiredNoScheduleTaints(node).map((t) => `${t.key}:${t.effect}`), [
      'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/unreachable:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule',
    ]);
  });

  it('adds what is missing and removes only its own stale taints', () => {
    const node = readyNode();
    node.spec = {
      taints: [
        { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' },
        { key: 'example.com/dedicated', effect: 'NoSchedule' },
      ],
      unschedulable: true,
    };
    const diff = noScheduleTaintDiff(node);
    assert.deepEqual(diff.add.map((t) => t.key), ['node.kubernetes.io/unschedulable']);
    assert.deepEqual(diff.remove.map((t) => `${t.key}:${t.effect}`), ['node.kubernetes.io/unreachable:NoSchedule']);
  });
});

describe('zones', () => {
  it('keys zones by region and zone labels', () => {
    assert.equal(zoneKey({ metadata: { name: 'a' } }), '');
    assert.equal(zoneKey({ metadata: { name: 'a', labels: { 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': 'z' } } }), 'r:\x00:z');
  });

  it('computes zone states as upstream', () => {
    const options = { unhealthyZoneThreshold: 0.55 };
    assert.equal(computeZoneState(['True', 'True', 'Unknown'], options).state, 'Normal');
    assert.equal(computeZoneState(['Unknown', 'False'], options).state, 'FullDisruption');
    assert.equal(computeZoneState(['Unknown', 'False', undefined, 'True'], options).state, 'PartialDisruption');
    assert.equal(computeZoneState(['Unknown', 'False', 'True', 'True'], options).state, 'Normal', 'two unhealthy nodes are never a disruption');
    const rates = { nodeEvictionRate: 0.1, secondaryNodeEvictionRate: 0.01, largeClusterSizeThreshold: 50 };
    assert.equal(zoneEvictionRate('Normal', 10, rates), 0.1);
    assert.equal(zoneEvictionRate('FullDisruption', 10, rates), 0.1);
    assert.equal(zoneEvictionRate('PartialDisruption', 10, rates), 0, 'small zones stop evicting');
    assert.equal(zoneEvictionRate('PartialDisruption', 51, rates), 0.01);
  });

  it('lets one token through at once, then one per 1/qps seconds', () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 0.1, now: () => now });
    assert.equal(bucket.tryAccept(), true);
    assert.equal(bucket.tryAccept(), false);
    now = 9_000;
    assert.equal(bucket.tryAccept(), false);
    now = 10_000;
    assert.equal(bucket.tryAccept(), true);
    assert.equal(new TokenBucket({ qps: 0, now: () => now }).tryAccept(), false);
  });

  it('drains the queue at the limiter\'s pace, once per value until removed', async () => {
    let now = 0;
    const queue = new RateLimitedTimedQueue({ qps: 1, now: () => now });
    assert.equal(queue.add('a', 'ua'), true);
    assert.equal(queue.add('b', 'ub'), true);
    assert.equal(queue.add('a', 'ua'), false);
    const seen: string[] = [];
    const done = async (value: string) => { seen.push(value); return { done: true as const }; };
    await queue.drain(done);
    assert.deepEqual(seen, ['a']);
    now = 1000;
    await queue.drain(done);
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(queue.add('a', 'ua'), false, 'processed values stay members');
    assert.equal(queue.remove('a'), true);
    assert.equal(queue.add('a', 'ua'), true);
    queue.swapLimiter(0);
    now = 100_000;
    await queue.drain(done);
    assert.deepEqual(seen, ['a', 'b'], 'rate 0 stops everything');
  });
});
