import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework/cycle-state.ts';
import { PodInfo } from '../../framework/pod-info.ts';
import type { NodeSelectorRequirement, NodeSelectorTerm } from '../../framework/types.ts';
import { Harness, makePod, scheduleOne, type NodeSpec } from '../../testing/harness.ts';
import { NodeSelector } from '../helper/node-affinity.ts';
import { NodeAffinity } from './node-affinity.ts';

const required = (...terms: NodeSelectorTerm[]) => ({ nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } });
const expr = (key: string, operator: string, values?: string[]): NodeSelectorRequirement => ({ key, operator, values });

describe('node selector terms', () => {
  const labels = { zone: 'a', cores: '8', gpu: 'yes' };
  const m = (...terms: NodeSelectorTerm[]) => new NodeSelector(terms).match(labels, 'node-1');
  it('supports every operator', () => {
    assert.ok(m({ matchExpressions: [expr('zone', 'In', ['a', 'b'])] }));
    assert.ok(!m({ matchExpressions: [expr('zone', 'NotIn', ['a'])] }));
    assert.ok(m({ matchExpressions: [expr('missing', 'NotIn', ['a'])] }));
    assert.ok(m({ matchExpressions: [expr('gpu', 'Exists')] }));
    assert.ok(m({ matchExpressions: [expr('missing', 'DoesNotExist')] }));
    assert.ok(m({ matchExpressions: [expr('cores', 'Gt', ['4'])] }));
    assert.ok(!m({ matchExpressions: [expr('cores', 'Lt', ['4'])] }));
    assert.ok(!m({ matchExpressions: [expr('zone', 'Gt', ['4'])] }), 'non-integer label');
    assert.ok(m({ matchFields: [expr('metadata.name', 'In', ['node-1'])] }));
    assert.ok(!m({ matchFields: [expr('metadata.name', 'NotIn', ['node-1'])] }));
  });
  it('ANDs inside a term, ORs terms, and ignores empty or broken terms', () => {
    assert.ok(!m({ matchExpressions: [expr('zone', 'In', ['a'])], matchFields: [expr('metadata.name', 'In', ['other'])] }));
    assert.ok(m({ matchExpressions: [expr('zone', 'In', ['z'])] }, { matchExpressions: [expr('gpu', 'Exists')] }));
    assert.ok(!m({}));
    assert.ok(m({ matchExpressions: [expr('zone', 'Bogus', ['a'])] }, { matchExpressions: [expr('zone', 'In', ['a'])] }));
    assert.ok(!m({ matchExpressions: [expr('cores', 'Gt', ['4', '5'])] }));
  });
});

describe('NodeAffinity', () => {
  const nodes: NodeSpec[] = [
    { name: 'a1', labels: { zone: 'a', disk: 'ssd' } },
    { name: 'a2', labels: { zone: 'a' } },
    { name: 'b1', labels: { zone: 'b', disk: 'ssd' } },
  ];

  it('filters on nodeSelector and required affinity together', () => {
    assert.deepEqual(scheduleOne({ nodes, pod: { name: 'p', nodeSelector: { disk: 'ssd' }, affinity: required({ matchExpressions: [expr('zone', 'In', ['b'])] }) } }), { node: 'b1' });
    const r = scheduleOne({ nodes, pod: { name: 'p', nodeSelector: { disk: 'hdd' } } });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  });

  it('narrows the candidates to metadata.name terms in PreFilter', () => {
    const h = new Harness({ nodes });
    const pod = { name: 'p', affinity: required({ matchFields: [expr('metadata.name', 'In', ['a2'])] }) };
    assert.equal(h.schedule(pod).node, 'a2');
    assert.equal(h.fw.stats.nodesFiltered, 1);
    const r = h.schedule({ ...pod, name: 'q', nodeSelector: { disk: 'ssd' } });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  });

  it('reports conflicting metadata.name terms', () => {
    const r = scheduleOne({ nodes, pod: { name: 'p', affinity: required({ matchFields: [expr('metadata.name', 'In', ['a1']), expr('metadata.name', 'In', ['a2'])] }) } });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, '0/3 nodes are available: pod affinity terms conflict. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.');
  });

  it('scores preferred terms by weight, normalised', () => {
    const preferred = [
      { weight: 10, preference: { matchExpressions: [expr('disk', 'In', ['ssd'])] } },
      { weight: 30, preference: { matchExpressions: [expr('zone', 'In', ['a'])] } },
    ];
    assert.deepEqual(scheduleOne({ nodes, pod: { name: 'p', affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred } } } }), { node: 'a1' });
    const plugin = new NodeAffinity();
    const state = new CycleState();
    const pi = new PodInfo(makePod({ name: 'p', affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferred } } }));
    plugin.preScore(state, pi);
    const h = new Harness({ nodes });
    const scores = Float64Array.from(['a1', 'a2', 'b1'].map((n) => plugin.score(state, pi, h.cache.get(n)!)));
    assert.deepEqual([...scores], [40, 30, 10]);
    plugin.normalizeScore(state, pi, scores);
    assert.deepEqual([...scores], [100, 75, 25]);
  });

  it('skips pods without node constraints', () => {
    const plugin = new NodeAffinity();
    const pi = new PodInfo(makePod({ name: 'p' }));
    assert.equal((plugin.preFilter(new CycleState(), pi) as { code?: string }).code, 'Skip');
    assert.equal(plugin.preScore(new CycleState(), pi)?.code, 'Skip');
  });

  it('enforces addedAffinity from the plugin args', () => {
    const profile = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  pluginConfig:
  - name: NodeAffinity
    args:
      addedAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
          - matchExpressions:
            - {key: zone, operator: In, values: [b]}
`;
    assert.deepEqual(scheduleOne({ nodes, profile, pod: { name: 'p' } }), { node: 'b1' });
    const r = scheduleOne({ nodes, profile, pod: { name: 'p', nodeSelector: { zone: 'a' } } });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 node(s) didn't match scheduler-enforced node affinity. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.");
  });
});
