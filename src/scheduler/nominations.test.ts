import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podChangeMattersForScheduling } from './events.ts';
import { Nominations } from './nominations.ts';

const pod = (name: string, status: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) =>
  ({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, resourceVersion: '1' }, spec: { containers: [], ...spec }, status });

describe('Nominations', () => {
  it('tracks pods by nominated node and forgets bound or removed ones', () => {
    const n = new Nominations();
    n.update(pod('a', { nominatedNodeName: 'n1' }));
    n.update(pod('b', { nominatedNodeName: 'n1' }));
    assert.equal(n.hasNominatedPods(), true);
    assert.deepEqual(n.nominatedPodsForNode('n1').map((p) => p.name).sort(), ['a', 'b']);
    n.update(pod('a', { nominatedNodeName: 'n2' }));
    assert.deepEqual(n.nominatedPodsForNode('n2').map((p) => p.name), ['a']);
    n.update(pod('b', { nominatedNodeName: 'n1' }, { nodeName: 'n1' }));
    assert.deepEqual(n.nominatedPodsForNode('n1'), []);
    n.remove(pod('a'));
    assert.equal(n.hasNominatedPods(), false);
  });
});

describe('podChangeMattersForScheduling', () => {
  it('ignores status and bookkeeping changes, not spec or label changes', () => {
    const before = pod('a');
    const statusOnly = { ...pod('a', { conditions: [{ type: 'PodScheduled', status: 'False' }] }), metadata: { ...before.metadata, resourceVersion: '2' } };
    assert.equal(podChangeMattersForScheduling(before as never, statusOnly as never), false);
    const relabelled = { ...before, metadata: { ...before.metadata, labels: { x: 'y' } } };
    assert.equal(podChangeMattersForScheduling(before as never, relabelled as never), true);
    const resized = pod('a', {}, { containers: [{ name: 'c', resources: { requests: { cpu: '1' } } }] });
    assert.equal(podChangeMattersForScheduling(before as never, resized as never), true);
  });
});
