import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SIMULATED_CAPACITY, parseSimulatedNodesFlag } from './flag.ts';

describe('parseSimulatedNodesFlag', () => {
  it('takes a bare count with the default capacity', () => {
    assert.deepEqual(parseSimulatedNodesFlag('5'), { count: 5, capacity: { ...DEFAULT_SIMULATED_CAPACITY } });
    assert.deepEqual(DEFAULT_SIMULATED_CAPACITY, { cpu: '4', memory: '16Gi', pods: '110' });
  });

  it('takes cpu, memory and pods', () => {
    assert.deepEqual(parseSimulatedNodesFlag('100:8,32Gi,250'), { count: 100, capacity: { cpu: '8', memory: '32Gi', pods: '250' } });
    assert.deepEqual(parseSimulatedNodesFlag(' 2:500m, 1G ,10 '), { count: 2, capacity: { cpu: '500m', memory: '1G', pods: '10' } });
  });

  it('keeps the default for an empty field', () => {
    assert.deepEqual(parseSimulatedNodesFlag('3:,64Gi,'), { count: 3, capacity: { cpu: '4', memory: '64Gi', pods: '110' } });
  });

  it('explains what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /node count "" is not a whole number/],
      ['x', /node count "x" is not a whole number/],
      ['-1', /node count "-1" is not a whole number/],
      ['1.5', /not a whole number/],
      ['0', /at least 1/],
      ['70000', /at most 65534/],
      ['3:4,16Gi', /exactly three values \(cpu,memory,pods\), got 2/],
      ['3:4,16Gi,110,9', /got 4/],
      ['3:four,16Gi,110', /cpu "four" is not a quantity/],
      ['3:4,16XB,110', /memory "16XB" is not a quantity/],
      ['3:0,16Gi,110', /cpu "0" must be positive/],
      ['3:4,-1Gi,110', /memory "-1Gi" must be positive/],
      ['3:4,16Gi,1.5', /pods "1.5" must be a whole number/],
      ['3:4,16Gi,1k', /pods "1k" must be a whole number/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseSimulatedNodesFlag(text), (error: Error) => {
        assert.match(error.message, message, text);
        assert.match(error.message, /^--simulated-nodes /);
        assert.match(error.message, /expected N\[:cpu,memory,pods\]/);
        return true;
      });
    }
  });
});
