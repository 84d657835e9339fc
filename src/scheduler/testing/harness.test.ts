import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Harness, scheduleOne } from './harness.ts';

describe('harness', () => {
  it('explains the issue example: counted reasons over five nodes', () => {
    const r = scheduleOne({
      nodes: [
        { name: 'n1', cpu: '1' }, { name: 'n2', cpu: '1' }, { name: 'n3', cpu: '1' },
        { name: 'n4', taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] },
        { name: 'n5', taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] },
      ],
      pod: { name: 'p', cpu: '2' },
    });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, '0/5 nodes are available: 2 node(s) had untolerated taint(s), 3 Insufficient cpu. preemption: 0/5 nodes are available: 2 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod.');
    assert.equal(r.status.code, 'Unschedulable');
  });

  it('fills a small cluster and then says why the next pod does not fit', () => {
    const h = new Harness({ nodes: [{ name: 'a', cpu: '2', memory: '4Gi' }, { name: 'b', cpu: '2', memory: '4Gi' }] });
    const placed = [];
    for (let i = 0; i < 4; i++) placed.push(h.scheduleAndAssume({ name: `p${i}`, cpu: '1', memory: '1Gi' }).node);
    assert.deepEqual(placed.sort(), ['a', 'a', 'b', 'b']);
    const r = h.schedule({ name: 'late', cpu: '1', memory: '1Gi' });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.');
  });

  it('is deterministic for a seed', () => {
    const run = () => {
      const h = new Harness({ nodes: Array.from({ length: 20 }, (_, i) => ({ name: `n${i}` })), seed: 9 });
      return Array.from({ length: 10 }, (_, i) => h.scheduleAndAssume({ name: `p${i}`, cpu: '100m' }).node);
    };
    assert.deepEqual(run(), run());
  });
});
