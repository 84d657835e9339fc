import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodInfo } from '../../framework/pod-info.ts';
import { makePod } from '../../testing/harness.ts';
import { SchedulingGates } from './scheduling-gates.ts';

describe('SchedulingGates', () => {
  it('holds gated pods', () => {
    const g = new SchedulingGates();
    assert.equal(g.preEnqueue(new PodInfo(makePod({ name: 'p' }))), undefined);
    const s = g.preEnqueue(new PodInfo(makePod({ name: 'p', schedulingGates: ['a', 'b'] })));
    assert.equal(s?.code, 'UnschedulableAndUnresolvable');
    assert.equal(s?.message(), 'waiting for scheduling gates: [a b]');
  });
});
