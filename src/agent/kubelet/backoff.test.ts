import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrashBackoff, formatDuration } from './backoff.ts';

describe('CrashLoopBackOff arithmetic', () => {
  it('restarts at once after the first crash, then waits 10 s doubling to 5 min', () => {
    let now = 0;
    const b = new CrashBackoff({ now: () => now });
    const delays: number[] = [];
    let finished = 1000;
    for (let crash = 0; crash < 9; crash++) {
      const wait = b.waiting('p/c', finished);
      delays.push(wait ? wait.delayMs : 0);
      if (wait) now = finished + wait.remainingMs; // wait it out
      assert.equal(b.waiting('p/c', finished), undefined);
      b.restarted('p/c', finished);
      finished = now + 100; // runs 100 ms, crashes again
      now = finished;
    }
    assert.deepEqual(delays.map((d) => d / 1000), [0, 10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it('counts the wait from the finish time, and restarted() for one crash arms once', () => {
    let now = 50_000;
    const b = new CrashBackoff({ now: () => now });
    b.restarted('k', 40_000);
    b.restarted('k', 40_000);
    b.restarted('k', 45_000);
    assert.deepEqual(b.waiting('k', 45_000), { remainingMs: 15_000, delayMs: 20_000 });
    now = 65_000;
    assert.equal(b.waiting('k', 45_000), undefined);
  });

  it('resets after a run longer than 10 minutes', () => {
    let now = 0;
    const b = new CrashBackoff({ now: () => now });
    b.restarted('k', 0);
    b.restarted('k', 1000);
    b.restarted('k', 2000); // 40 s armed
    now = 2000 + 11 * 60_000;
    assert.equal(b.waiting('k', now), undefined);
    b.restarted('k', now);
    now += 1000;
    assert.equal(b.waiting('k', now)?.delayMs, 10_000);
  });

  it('formats durations as Go does', () => {
    assert.equal(formatDuration(10_000), '10s');
    assert.equal(formatDuration(80_000), '1m20s');
    assert.equal(formatDuration(300_000), '5m0s');
  });
});
