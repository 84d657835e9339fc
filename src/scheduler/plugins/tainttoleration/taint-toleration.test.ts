import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework/cycle-state.ts';
import { NodeInfo } from '../../framework/node-info.ts';
import { PodInfo } from '../../framework/pod-info.ts';
import type { Taint, Toleration } from '../../framework/types.ts';
import { makeNode, makePod, scheduleOne } from '../../testing/harness.ts';
import { tolerates } from '../helper/taints.ts';
import { TaintToleration } from './taint-toleration.ts';

const taint = (key: string, value: string | undefined, effect: string): Taint => ({ key, value, effect });

describe('toleration matching', () => {
  const t = taint('dedicated', 'gpu', 'NoSchedule');
  const cases: Array<[Toleration, boolean]> = [
    [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, true],
    [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }, true],
    [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
    [{ key: 'dedicated', operator: 'Exists' }, true],
    [{ operator: 'Exists' }, true],
    [{ operator: 'Exists', effect: 'NoExecute' }, false],
    [{ key: 'other', operator: 'Exists' }, false],
    [{ key: 'dedicated', operator: 'Lt', value: 'gpu' }, false],
  ];
  for (const [tol, want] of cases) it(`${JSON.stringify(tol)} → ${want}`, () => assert.equal(tolerates(tol, t), want));
});

describe('TaintToleration', () => {
  it('filters NoSchedule and NoExecute taints with upstream wording', () => {
    const r = scheduleOne({
      nodes: [
        { name: 'a', taints: [taint('dedicated', 'gpu', 'NoSchedule')] },
        { name: 'b', taints: [taint('node-role.kubernetes.io/control-plane', undefined, 'NoSchedule')] },
        { name: 'c', taints: [taint('maintenance', 'yes', 'NoExecute')] },
      ],
      pod: { name: 'p', tolerations: [{ key: 'maintenance', operator: 'Exists', effect: 'NoSchedule' }] },
    });
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, '0/3 nodes are available: 3 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.');
    assert.equal(r.diagnosis.nodeToStatus.get('a')?.code, 'UnschedulableAndUnresolvable');
  });

  it('ignores PreferNoSchedule in Filter and prefers nodes with fewer untolerated ones', () => {
    const nodes = [
      { name: 'two', taints: [taint('a', '1', 'PreferNoSchedule'), taint('b', '1', 'PreferNoSchedule')] },
      { name: 'one', taints: [taint('a', '1', 'PreferNoSchedule')] },
      { name: 'tolerated', taints: [taint('c', '1', 'PreferNoSchedule')] },
    ];
    assert.deepEqual(scheduleOne({ nodes: nodes.slice(0, 2), pod: { name: 'p' } }), { node: 'one' });
    const pod = { name: 'p', tolerations: [{ key: 'c', operator: 'Exists' }] };
    const plugin = new TaintToleration();
    const state = new CycleState();
    const pi = new PodInfo(makePod(pod));
    plugin.preScore(state, pi);
    const scores = Float64Array.from(nodes.map((n) => plugin.score(state, pi, new NodeInfo(n.name, makeNode(n)))));
    assert.deepEqual([...scores], [2, 1, 0]);
    plugin.normalizeScore(state, pi, scores);
    assert.deepEqual([...scores], [0, 50, 100]);
  });

  it('does not count NoSchedule tolerations for PreferNoSchedule taints', () => {
    const plugin = new TaintToleration();
    const state = new CycleState();
    const pi = new PodInfo(makePod({ name: 'p', tolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }] }));
    plugin.preScore(state, pi);
    assert.equal(plugin.score(state, pi, new NodeInfo('n', makeNode({ name: 'n', taints: [taint('a', '1', 'PreferNoSchedule')] }))), 1);
  });
});
