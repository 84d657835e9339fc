import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scheduleOne } from '../../testing/harness.ts';

describe('NodeUnschedulable', () => {
  const nodes = [{ name: 'cordoned', unschedulable: true }];
  it('keeps pods off cordoned nodes', () => {
    const r = scheduleOne({ nodes, pod: { name: 'p' } });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, '0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.');
  });
  it('lets pods that tolerate the unschedulable taint in', () => {
    const tolerations = [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }];
    assert.deepEqual(scheduleOne({ nodes, pod: { name: 'ds', tolerations } }), { node: 'cordoned' });
    assert.deepEqual(scheduleOne({ nodes, pod: { name: 'all', tolerations: [{ operator: 'Exists' }] } }), { node: 'cordoned' });
  });
});
