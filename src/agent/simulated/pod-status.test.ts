import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../client/interface.ts';
import { decidePodAction, rfc3339, runningPodStatus } from './pod-status.ts';

const pod = (extra: { spec?: object; status?: object; metadata?: object } = {}): KubeObject => ({
  metadata: { name: 'p', namespace: 'default', uid: 'u1', generation: 1, ...extra.metadata },
  spec: { nodeName: 'sim-0', containers: [{ name: 'app', image: 'nginx:1' }], ...extra.spec },
  status: { phase: 'Pending', qosClass: 'BestEffort', ...extra.status },
});

describe('simulated pod decisions', () => {
  it('starts pending pods and leaves the rest alone', () => {
    assert.equal(decidePodAction(pod()).kind, 'start');
    assert.equal(decidePodAction(pod({ status: { phase: undefined } })).kind, 'start');
    for (const phase of ['Running', 'Succeeded', 'Failed', 'Unknown']) assert.equal(decidePodAction(pod({ status: { phase } })).kind, 'none', phase);
  });

  it('finishes deletions whatever the phase', () => {
    for (const phase of ['Pending', 'Running', 'Succeeded']) {
      assert.equal(decidePodAction(pod({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { phase } })).kind, 'finish-deletion');
    }
  });

  it('reports every container running and ready, init containers completed, sidecars running', () => {
    const now = new Date('2026-01-01T00:00:05.123Z');
    const status = runningPodStatus({
      pod: pod({ spec: { initContainers: [{ name: 'init', image: 'busybox' }, { name: 'side', image: 'envoy', restartPolicy: 'Always' }] } }),
      podIp: '10.42.0.2', hostIp: '172.31.0.1', now,
    }) as any;
    assert.equal(rfc3339(now), '2026-01-01T00:00:05Z');
    assert.equal(status.phase, 'Running');
    assert.equal(status.podIP, '10.42.0.2');
    assert.deepEqual(status.podIPs, [{ ip: '10.42.0.2' }]);
    assert.equal(status.hostIP, '172.31.0.1');
    assert.deepEqual(status.hostIPs, [{ ip: '172.31.0.1' }]);
    assert.equal(status.startTime, '2026-01-01T00:00:05Z');
    assert.equal(status.observedGeneration, 1);
    assert.deepEqual(status.conditions.map((c: any) => [c.type, c.status]), [
      ['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True'],
    ]);
    assert.deepEqual(status.containerStatuses, [{
      name: 'app', state: { running: { startedAt: '2026-01-01T00:00:05Z' } }, lastState: {}, ready: true, restartCount: 0,
      image: 'nginx:1', imageID: 'simulated://nginx:1', containerID: 'simulated://u1-app', started: true,
    }]);
    assert.equal(status.initContainerStatuses[0].state.terminated.reason, 'Completed');
    assert.equal(status.initContainerStatuses[0].state.terminated.exitCode, 0);
    assert.equal(status.initContainerStatuses[0].started, false);
    assert.deepEqual(status.initContainerStatuses[1].state, { running: { startedAt: '2026-01-01T00:00:05Z' } });
    assert.equal('qosClass' in status, false, 'the server-set qosClass is left to the merge patch');
  });

  it('keeps the scheduler\'s PodScheduled time, other conditions, and startTime', () => {
    const status = runningPodStatus({
      pod: pod({ status: {
        startTime: '2025-12-31T00:00:00Z',
        conditions: [
          { type: 'PodScheduled', status: 'True', lastTransitionTime: '2025-12-31T00:00:00Z' },
          { type: 'example.com/gate', status: 'True', lastTransitionTime: '2025-12-31T00:00:01Z' },
        ],
      } }),
      podIp: '10.42.0.2', hostIp: '172.31.0.1', now: new Date('2026-01-01T00:00:00Z'),
    }) as any;
    assert.equal(status.startTime, '2025-12-31T00:00:00Z');
    assert.equal(status.conditions.find((c: any) => c.type === 'PodScheduled').lastTransitionTime, '2025-12-31T00:00:00Z');
    assert.equal(status.conditions.find((c: any) => c.type === 'example.com/gate').status, 'True');
  });

  it('holds Ready back until every readiness gate is True', () => {
    const gated = pod({ spec: { readinessGates: [{ conditionType: 'example.com/lb' }] } });
    const status = runningPodStatus({ pod: gated, podIp: '10.42.0.2', hostIp: '172.31.0.1', now: new Date() }) as any;
    const ready = status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'ReadinessGatesNotReady');
    assert.equal(status.conditions.find((c: any) => c.type === 'ContainersReady').status, 'True');
  });
});
