import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scheduleOne } from '../../testing/harness.ts';

describe('NodeName', () => {
  const nodes = [{ name: 'a' }, { name: 'b' }];
  it('places a pod that names its node only there', () => {
    assert.deepEqual(scheduleOne({ nodes, pod: { name: 'p', nodeName: 'b' } }), { node: 'b' });
  });
  it('explains a name that matches no node', () => {
    const r = scheduleOne({ nodes, pod: { name: 'p', nodeName: 'c' } });
    assert.equal(r.node, undefined);
    if (r.node === undefined) assert.equal(r.message, "0/2 nodes are available: 2 node(s) didn't match the requested node name. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.");
  });
});
