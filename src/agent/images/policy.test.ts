import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultPullPolicy, PullBackoff, shouldPull } from './policy.ts';

describe('imagePullPolicy', () => {
  it('defaults by tag as the API server does', () => {
    assert.equal(defaultPullPolicy('busybox'), 'Always');
    assert.equal(defaultPullPolicy('busybox:latest'), 'Always');
    assert.equal(defaultPullPolicy('127.0.0.1:5000/busybox'), 'Always');
    assert.equal(defaultPullPolicy('busybox:1.36'), 'IfNotPresent');
    assert.equal(defaultPullPolicy(`busybox@sha256:${'a'.repeat(64)}`), 'IfNotPresent');
    assert.equal(defaultPullPolicy(`busybox:latest@sha256:${'a'.repeat(64)}`), 'Always');
  });

  it('pulls as kubelet does', () => {
    assert.equal(shouldPull({ policy: 'Always', present: true }), true);
    assert.equal(shouldPull({ policy: 'IfNotPresent', present: true }), false);
    assert.equal(shouldPull({ policy: 'IfNotPresent', present: false }), true);
    assert.equal(shouldPull({ policy: 'Never', present: false }), false);
  });

  it('backs off 10 s doubling to 5 min', () => {
    let now = 0;
    const backoff = new PullBackoff({ now: () => now });
    assert.equal(backoff.inBackoff('pod/busybox'), false);
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      backoff.failed('pod/busybox');
      let waited = 0;
      while (backoff.inBackoff('pod/busybox')) {
        now += 1000;
        waited += 1000;
      }
      delays.push(waited / 1000);
    }
    assert.deepEqual(delays, [10, 20, 40, 80, 160, 300, 300]);
    backoff.succeeded('pod/busybox');
    backoff.failed('pod/busybox');
    now += 10_000;
    assert.equal(backoff.inBackoff('pod/busybox'), false);
    assert.equal(PullBackoff.message('busybox'), 'Back-off pulling image "busybox"');
  });
});
