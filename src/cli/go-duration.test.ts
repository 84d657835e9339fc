import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoDuration, parseRate } from './go-duration.ts';

describe('parseGoDuration', () => {
  it('reads Go durations in milliseconds', () => {
    assert.equal(parseGoDuration('40s', '--x'), 40_000);
    assert.equal(parseGoDuration('1m30s', '--x'), 90_000);
    assert.equal(parseGoDuration('500ms', '--x'), 500);
    assert.equal(parseGoDuration('1.5h', '--x'), 5_400_000);
    assert.equal(parseGoDuration('0', '--x'), 0);
  });
  it('refuses what Go refuses, naming the flag', () => {
    for (const bad of ['', '40', 's', '5 s', '-5s', '1d', '5s!']) {
      assert.throws(() => parseGoDuration(bad, '--node-monitor-grace-period'), /--node-monitor-grace-period/, bad);
    }
  });
});

describe('parseRate', () => {
  it('reads non-negative numbers', () => {
    assert.equal(parseRate('0.1', '--r'), 0.1);
    assert.equal(parseRate('0', '--r'), 0);
    assert.throws(() => parseRate('-1', '--r'), /--r/);
    assert.throws(() => parseRate('fast', '--r'), /--r/);
  });
});
