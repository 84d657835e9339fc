import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../client/interface.ts';
import { computePodStatus, podPhase, type ContainerHistory, type ContainerView, type StatusInput } from './status.ts';

const t = (s: number) => Date.parse('2026-01-01T00:00:00Z') + s * 1000;
const view = (name: string, extra: Partial<ContainerView> = {}): ContainerView => ({
  id: `id-${name}-${extra.attempt ?? 0}`, name, attempt: 0, state: 'running', createdAt: t(0), startedAt: t(1), finishedAt: 0,
  image: 'docker.io/library/busybox:latest', imageId: 'docker.io/library/busybox@sha256:abc', ...extra,
});
const exited = (name: string, exitCode: number, extra: Partial<ContainerView> = {}) => view(name, { state: 'exited', exitCode, finishedAt: t(2), ...extra });

function pod(spec: Record<string, unknown>, status: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name: 'p', namespace: 'default', uid: 'u', generation: 1 }, spec, status };
}

function input(p: KubeObject, containers: Record<string, ContainerHistory>, extra: Partial<StatusInput> = {}): StatusInput {
  return {
    pod: p, now: new Date(t(10)), runtimeName: 'runc', hostIp: '192.0.2.10', podIps: ['10.42.0.5'], sandboxReady: true,
    containers: new Map(Object.entries(containers)), waiting: new Map(), ready: () => true, started: () => true, ...extra,
  };
}

describe('pod phase (upstream getPhase)', () => {
  const one = (restartPolicy: string) => pod({ restartPolicy, containers: [{ name: 'a' }] });
  it('Pending until containers run, Running while one runs', () => {
    assert.equal(podPhase(input(one('Always'), {})), 'Pending');
    assert.equal(podPhase(input(one('Always'), { a: { current: view('a') } })), 'Running');
  });
  it('exited containers by restart policy', () => {
    assert.equal(podPhase(input(one('Always'), { a: { current: exited('a', 0) } })), 'Running');
    assert.equal(podPhase(input(one('OnFailure'), { a: { current: exited('a', 0) } })), 'Succeeded');
    assert.equal(podPhase(input(one('OnFailure'), { a: { current: exited('a', 1) } })), 'Running');
    assert.equal(podPhase(input(one('Never'), { a: { current: exited('a', 1) } })), 'Failed');
    assert.equal(podPhase(input(one('Never'), { a: { current: exited('a', 0) } })), 'Succeeded');
  });
  it('deleted pods end terminal whatever the policy', () => {
    assert.equal(podPhase(input(one('Always'), { a: { current: exited('a', 143) } }, { podIsTerminal: true })), 'Failed');
    assert.equal(podPhase(input(one('Always'), { a: { current: exited('a', 0) } }, { podIsTerminal: true })), 'Succeeded');
  });
  it('init containers: pending while not done; a failure fails Never pods', () => {
    const p = (restartPolicy: string) => pod({ restartPolicy, initContainers: [{ name: 'i' }], containers: [{ name: 'a' }] });
    assert.equal(podPhase(input(p('Always'), { i: { current: view('i') } })), 'Pending');
    assert.equal(podPhase(input(p('Never'), { i: { current: exited('i', 1) } })), 'Failed');
    assert.equal(podPhase(input(p('Always'), { i: { current: exited('i', 1) } })), 'Pending');
    assert.equal(podPhase(input(p('Always'), { i: { current: exited('i', 0) }, a: { current: view('a') } })), 'Running');
  });
});

describe('pod status', () => {
  it('a running, ready pod', () => {
    const s = computePodStatus(input(pod({ containers: [{ name: 'a', image: 'busybox' }] }, { qosClass: 'BestEffort' }), { a: { current: view('a') } })) as any;
    assert.equal(s.phase, 'Running');
    assert.deepEqual(s.containerStatuses[0], {
      name: 'a', state: { running: { startedAt: '2026-01-01T00:00:01Z' } }, lastState: {}, ready: true, restartCount: 0,
      image: 'docker.io/library/busybox:latest', imageID: 'docker.io/library/busybox@sha256:abc', containerID: 'runc://id-a-0', started: true,
    });
    assert.deepEqual(s.conditions.map((c: any) => `${c.type}=${c.status}`), ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True', 'PodScheduled=True']);
    assert.equal(s.podIP, '10.42.0.5');
    assert.equal(s.startTime, '2026-01-01T00:00:10Z');
    assert.equal(s.qosClass, 'BestEffort');
  });

  it('CrashLoopBackOff: waiting with the last termination', () => {
    const s = computePodStatus(input(pod({ containers: [{ name: 'a' }] }), { a: { current: exited('a', 1, { attempt: 3, id: 'x3' }), previous: exited('a', 1, { attempt: 2 }) } }, {
      waiting: new Map([['a', { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=a pod=p_default(u)' }]]),
    })) as any;
    const cs = s.containerStatuses[0];
    assert.deepEqual(cs.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=a pod=p_default(u)' } });
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.equal(cs.lastState.terminated.containerID, 'runc://x3');
    assert.equal(cs.restartCount, 3);
    assert.equal(cs.ready, false);
    assert.equal(s.conditions.find((c: any) => c.type === 'Ready').message, 'containers with unready status: [a]');
  });

  it('OOMKilled and termination messages in terminated state', () => {
    const s = computePodStatus(input(pod({ restartPolicy: 'Never', containers: [{ name: 'a' }] }), { a: { current: exited('a', 137, { reason: 'OOMKilled', message: 'bye' }) } })) as any;
    assert.equal(s.phase, 'Failed');
    assert.equal(s.containerStatuses[0].state.terminated.reason, 'OOMKilled');
    assert.equal(s.containerStatuses[0].state.terminated.message, 'bye');
    assert.equal(s.conditions.find((c: any) => c.type === 'Ready').reason, 'PodCompleted');
  });

  it('init containers: PodInitializing, incomplete list, Initialized once done', () => {
    const p = pod({ initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }] });
    const pending = computePodStatus(input(p, { i1: { current: exited('i1', 0) }, i2: { current: view('i2') } })) as any;
    assert.equal(pending.containerStatuses[0].state.waiting.reason, 'PodInitializing');
    assert.equal(pending.initContainerStatuses[0].ready, true);
    assert.equal(pending.initContainerStatuses[0].state.terminated.reason, 'Completed');
    const init = pending.conditions.find((c: any) => c.type === 'Initialized');
    assert.equal(init.status, 'False');
    assert.equal(init.message, 'containers with incomplete status: [i2]');
  });

  it('a readiness gate holds Ready back; transition times are kept when nothing changes', () => {
    const p = pod({ containers: [{ name: 'a' }], readinessGates: [{ conditionType: 'example.com/lb' }] }, {
      conditions: [{ type: 'example.com/lb', status: 'False' }, { type: 'ContainersReady', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z' }],
    });
    const s = computePodStatus(input(p, { a: { current: view('a') } })) as any;
    const ready = s.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'ReadinessGatesNotReady');
    assert.equal(ready.message, 'the status of pod readiness gate "example.com/lb" is not "True", but False');
    assert.equal(s.conditions.find((c: any) => c.type === 'ContainersReady').lastTransitionTime, '2025-01-01T00:00:00Z');
    assert.ok(s.conditions.some((c: any) => c.type === 'example.com/lb'), 'others\' conditions are kept');
  });
});
