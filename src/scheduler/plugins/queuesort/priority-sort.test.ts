import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodInfo } from '../../framework/pod-info.ts';
import { makePod } from '../../testing/harness.ts';
import { PrioritySort } from './priority-sort.ts';

describe('PrioritySort', () => {
  const q = (priority: number | undefined, timestamp: number) => ({ pod: new PodInfo(makePod({ name: `p${timestamp}`, priority })), timestamp });
  it('orders by priority, then by queue time', () => {
    const s = new PrioritySort();
    assert.ok(s.less(q(10, 5), q(1, 1)));
    assert.ok(!s.less(q(1, 1), q(10, 5)));
    assert.ok(s.less(q(undefined, 1), q(0, 2)));
    assert.ok(!s.less(q(0, 2), q(0, 2)));
    const sorted = [q(0, 3), q(5, 9), q(0, 1), q(5, 2)].sort((a, b) => (s.less(a, b) ? -1 : s.less(b, a) ? 1 : 0));
    assert.deepEqual(sorted.map((x) => x.timestamp), [2, 9, 1, 3]);
  });
});
