import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework/cycle-state.ts';
import { NodeInfo } from '../../framework/node-info.ts';
import { PodInfo } from '../../framework/pod-info.ts';
import { makeNode, makePod, scheduleOne, type NodeSpec, type PodSpecLite } from '../../testing/harness.ts';
import { NodeResourcesFit, type NodeResourcesFitArgs } from './fit.ts';
import { BalancedAllocation } from './balanced-allocation.ts';
import { brokenLinearFunction } from './scorers.ts';

function nodeWith(spec: NodeSpec, pods: PodSpecLite[] = []): NodeInfo {
  const ni = new NodeInfo(spec.name, makeNode(spec));
  for (const p of pods) ni.addPod(new PodInfo(makePod({ ...p, nodeName: spec.name })));
  return ni;
}

function score(args: NodeResourcesFitArgs | undefined, pod: PodSpecLite, ni: NodeInfo): number {
  const fit = new NodeResourcesFit(args);
  const state = new CycleState();
  const pi = new PodInfo(makePod(pod));
  fit.preScore(state, pi);
  return fit.score(state, pi, ni);
}

describe('NodeResourcesFit filter', () => {
  it('lists every insufficient resource, in a fixed order', () => {
    const r = scheduleOne({
      nodes: [{ name: 'a', cpu: '1', memory: '1Gi', pods: 1, ephemeralStorage: '1Gi', extended: { 'example.com/gpu': 1 } }],
      pods: [{ name: 'old', nodeName: 'a', cpu: '500m' }],
      pod: { name: 'p', cpu: '1', memory: '2Gi', ephemeralStorage: '2Gi', extended: { 'example.com/gpu': 2 } },
    });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.deepEqual(r.diagnosis.nodeToStatus.get('a')?.reasons, ['Too many pods', 'Insufficient cpu', 'Insufficient memory', 'Insufficient ephemeral-storage', 'Insufficient example.com/gpu']);
    assert.equal(r.diagnosis.nodeToStatus.get('a')?.code, 'Unschedulable');
  });

  it('counts pods already on the node, including assumed ones', () => {
    const nodes = [{ name: 'a', cpu: '2' }, { name: 'b', cpu: '2' }];
    const r = scheduleOne({ nodes, pods: [{ name: 'x', nodeName: 'a', cpu: '1500m' }, { name: 'y', nodeName: 'b', cpu: '1' }], pod: { name: 'p', cpu: '1' } });
    assert.deepEqual(r, { node: 'b' });
  });

  it('uses init containers, sidecars and overhead', () => {
    const nodes = [{ name: 'a', cpu: '2' }];
    assert.equal(scheduleOne({ nodes, pod: { name: 'p', cpu: '1', initContainers: [{ cpu: '2' }] } }).node, 'a');
    assert.equal(scheduleOne({ nodes, pod: { name: 'p', cpu: '1', initContainers: [{ cpu: '2500m' }] } }).node, undefined);
    assert.equal(scheduleOne({ nodes, pod: { name: 'p', cpu: '1500m', initContainers: [{ cpu: '600m', restartPolicy: 'Always' }] } }).node, undefined);
    assert.equal(scheduleOne({ nodes, pod: { name: 'p', cpu: '1800m', overhead: { cpu: '250m' } } }).node, undefined);
  });

  it('ignores configured extended resources', () => {
    const fit = new NodeResourcesFit({ ignoredResources: ['example.com/foo'], ignoredResourceGroups: ['bar.io'] });
    const ni = nodeWith({ name: 'a' });
    const pi = new PodInfo(makePod({ name: 'p', extended: { 'example.com/foo': 1, 'bar.io/baz': 3 } }));
    assert.equal(fit.filter(new CycleState(), pi, ni), undefined);
    const strict = new NodeResourcesFit();
    assert.deepEqual(strict.filter(new CycleState(), pi, ni)?.reasons, ['Insufficient bar.io/baz', 'Insufficient example.com/foo']);
  });

  it('lets best-effort pods in until the pod count is reached', () => {
    assert.equal(scheduleOne({ nodes: [{ name: 'a', cpu: '0', memory: '0', pods: 2 }], pod: { name: 'p' } }).node, 'a');
  });
});

describe('NodeResourcesFit scoring', () => {
  const node = () => nodeWith({ name: 'n', cpu: '4', memory: '8Gi' }, [{ name: 'x', cpu: '1', memory: '2Gi' }]);

  it('LeastAllocated: (free after placing)/allocatable, averaged by weight', () => {
    // cpu: (4000-2000)*100/4000 = 50; memory: (8Gi-4Gi)*100/8Gi = 50
    assert.equal(score(undefined, { name: 'p', cpu: '1', memory: '2Gi' }, node()), 50);
    // weights cpu 3, memory 1: cpu (4000-1100)*100/4000=72, mem (8Gi-2Gi-200Mi)/8Gi=72 → 72
    assert.equal(score({ scoringStrategy: { resources: [{ name: 'cpu', weight: 3 }, { name: 'memory', weight: 1 }] } }, { name: 'p' }, node()), 72);
  });

  it('MostAllocated: requested/allocatable', () => {
    assert.equal(score({ scoringStrategy: { type: 'MostAllocated' } }, { name: 'p', cpu: '1', memory: '2Gi' }, node()), 50);
    assert.equal(score({ scoringStrategy: { type: 'MostAllocated' } }, { name: 'p', cpu: '3', memory: '6Gi' }, node()), 100);
  });

  it('RequestedToCapacityRatio: the shape maps utilization to score', () => {
    const args: NodeResourcesFitArgs = { scoringStrategy: { type: 'RequestedToCapacityRatio', requestedToCapacityRatio: { shape: [{ utilization: 0, score: 0 }, { utilization: 100, score: 10 }] } } };
    assert.equal(score(args, { name: 'p', cpu: '1', memory: '2Gi' }, node()), 50);
    const f = brokenLinearFunction([{ utilization: 10, score: 20 }, { utilization: 50, score: 60 }]);
    assert.deepEqual([0, 10, 30, 50, 90].map(f), [20, 20, 40, 60, 60]);
    assert.throws(() => new NodeResourcesFit({ scoringStrategy: { type: 'RequestedToCapacityRatio' } }), /shape: Required value/);
  });

  it('leaves out extended resources the pod does not request', () => {
    const gpuNode = nodeWith({ name: 'g', cpu: '4', memory: '8Gi', extended: { 'example.com/gpu': 4 } });
    const args: NodeResourcesFitArgs = { scoringStrategy: { type: 'MostAllocated', resources: [{ name: 'cpu', weight: 1 }, { name: 'example.com/gpu', weight: 1 }] } };
    assert.equal(score(args, { name: 'p', cpu: '2' }, gpuNode), 50);
    assert.equal(score(args, { name: 'p', cpu: '2', extended: { 'example.com/gpu': 4 } }, gpuNode), 75);
  });

  it('spreads with LeastAllocated and packs with MostAllocated', () => {
    const nodes = [{ name: 'busy', cpu: '4', memory: '8Gi' }, { name: 'idle', cpu: '4', memory: '8Gi' }];
    const pods = [{ name: 'x', nodeName: 'busy', cpu: '2', memory: '4Gi' }];
    assert.equal(scheduleOne({ nodes, pods, pod: { name: 'p', cpu: '1', memory: '1Gi' } }).node, 'idle');
    const profile = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`;
    assert.equal(scheduleOne({ nodes, pods, profile, pod: { name: 'p', cpu: '1', memory: '1Gi' } }).node, 'busy');
  });
});

describe('NodeResourcesBalancedAllocation', () => {
  it('scores 100 minus the spread of the fractions', () => {
    const ba = new BalancedAllocation();
    const ni = nodeWith({ name: 'n', cpu: '4', memory: '8Gi' });
    const pi = new PodInfo(makePod({ name: 'p', cpu: '2', memory: '2Gi' }));
    const state = new CycleState();
    assert.equal(ba.preScore(state, pi), undefined);
    // cpu 0.5, memory 0.25 → std 0.125 → 87
    assert.equal(ba.score(state, pi, ni), 87);
  });

  it('skips best-effort pods', () => {
    assert.equal(new BalancedAllocation().preScore(new CycleState(), new PodInfo(makePod({ name: 'p' })))?.code, 'Skip');
  });
});
