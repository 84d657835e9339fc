import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { numFeasibleNodesToFind } from './sampling.ts';

describe('numFeasibleNodesToFind', () => {
  it('takes every node in small clusters', () => {
    assert.equal(numFeasibleNodesToFind(0), 0);
    assert.equal(numFeasibleNodesToFind(99), 99);
  });
  it('is adaptive: 50% minus 1% per 125 nodes, at least 5%, at least 100 nodes', () => {
    assert.equal(numFeasibleNodesToFind(100), 100);
    assert.equal(numFeasibleNodesToFind(1000), 420); // 50 - 8 = 42%
    assert.equal(numFeasibleNodesToFind(5000), 500); // 50 - 40 = 10%
    assert.equal(numFeasibleNodesToFind(6000), 300); // 50 - 48 = 2% → 5%
    assert.equal(numFeasibleNodesToFind(15000), 750);
    assert.equal(numFeasibleNodesToFind(150), 100); // 48% of 150 = 72 → floor of 100
  });
  it('honours a configured percentage', () => {
    assert.equal(numFeasibleNodesToFind(5000, 30), 1500);
    assert.equal(numFeasibleNodesToFind(5000, 100), 5000);
    assert.equal(numFeasibleNodesToFind(500, 1), 100);
  });
});
