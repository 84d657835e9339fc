import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  defaultControllerRateLimiter, exponentialFailureRateLimiter, maxOfRateLimiter, tokenBucketRateLimiter,
} from './rate-limiter.ts';
import { createWorkQueue, runWorkers } from './workqueue.ts';

const fastLimiter = () => exponentialFailureRateLimiter<string>({ baseMs: 1, maxMs: 20 });

describe('rate limiters', () => {
  it('backs off exponentially per key up to the cap, and forget starts over', () => {
    const limiter = exponentialFailureRateLimiter<string>();
    assert.deepEqual([1, 2, 3, 4, 5].map(() => limiter.when('a')), [5, 10, 20, 40, 80]);
    assert.equal(limiter.when('b'), 5);
    assert.equal(limiter.numRequeues('a'), 5);
    for (let i = 0; i < 100; i++) limiter.when('a');
    assert.equal(limiter.when('a'), 1_000_000);
    limiter.forget('a');
    assert.equal(limiter.numRequeues('a'), 0);
    assert.equal(limiter.when('a'), 5);
  });

  it('lets a burst through the token bucket, then spaces requests at qps', () => {
    let now = 0;
    const bucket = tokenBucketRateLimiter<string>({ qps: 2, burst: 3, now: () => now });
    assert.deepEqual([1, 2, 3].map(() => bucket.when('x')), [0, 0, 0]);
    assert.deepEqual([1, 2].map(() => bucket.when('x')), [500, 1000]);
    now = 10_000; // refilled to the burst
    assert.equal(bucket.when('y'), 0);
  });

  it('combines limiters by the longest delay', () => {
    let now = 0;
    const limiter = maxOfRateLimiter<string>(
      exponentialFailureRateLimiter({ baseMs: 5 }),
      tokenBucketRateLimiter({ qps: 1, burst: 1, now: () => now }),
    );
    assert.equal(limiter.when('a'), 5);
    assert.equal(limiter.when('a'), 1000);
    assert.equal(limiter.numRequeues('a'), 2);
    assert.equal(defaultControllerRateLimiter<string>().when('k'), 5);
  });
});

describe('work queue', () => {
  it('queues a key at most once and hands keys out in order', async () => {
    const queue = createWorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    assert.equal(queue.len(), 2);
    assert.equal(await queue.get(), 'a');
    assert.equal(await queue.get(), 'b');
    assert.equal(queue.len(), 0);
    queue.shutDown();
  });

  it('never hands out a key being processed; an add meanwhile requeues it after done', async () => {
    const queue = createWorkQueue();
    queue.add('a');
    const key = await queue.get();
    assert.equal(key, 'a');
    queue.add('a');
    queue.add('a');
    assert.equal(queue.len(), 0, 'a is processing: it waits outside the queue');
    let second: string | undefined;
    const waiting = queue.get().then((k) => { second = k; });
    await sleep(5);
    assert.equal(second, undefined);
    queue.done('a');
    await waiting;
    assert.equal(second, 'a');
    queue.done('a');
    assert.equal(queue.len(), 0, 'not added again during the second sync: not requeued');
    queue.shutDown();
  });

  it('adds after a delay, the sooner of two delays winning', async () => {
    const queue = createWorkQueue();
    const started = Date.now();
    queue.addAfter('a', 200);
    queue.addAfter('a', 20);
    assert.equal(queue.len(), 0);
    assert.equal(await queue.get(), 'a');
    const waited = Date.now() - started;
    assert.ok(waited >= 15 && waited < 150, `waited ${waited} ms`);
    queue.shutDown();
  });

  it('grows the delay of addRateLimited per key until forgotten', async () => {
    const queue = createWorkQueue({ rateLimiter: exponentialFailureRateLimiter({ baseMs: 10, maxMs: 1000 }) });
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      queue.addRateLimited('k');
      assert.equal(await queue.get(), 'k');
      delays.push(Date.now() - started);
      queue.done('k');
    }
    assert.equal(queue.numRequeues('k'), 3);
    assert.ok(delays[0] >= 8 && delays[1] >= 18 && delays[2] >= 38, `delays ${delays}`);
    queue.forget('k');
    assert.equal(queue.numRequeues('k'), 0);
    queue.shutDown();
  });

  it('shuts down: waiting and later gets answer undefined, adds are ignored, delayed adds dropped', async () => {
    const queue = createWorkQueue();
    const waiting = queue.get();
    queue.addAfter('later', 60_000); // must not keep the test process alive
    queue.shutDown();
    assert.equal(await waiting, undefined);
    queue.add('x');
    assert.equal(queue.len(), 0);
    assert.equal(await queue.get(), undefined);
    assert.equal(queue.isShuttingDown(), true);
  });
});

describe('runWorkers', () => {
  it('retries failures rate-limited, forgets on success, never runs one key twice at once', async () => {
    const queue = createWorkQueue({ rateLimiter: fastLimiter() });
    const calls = new Map<string, number>();
    const active = new Set<string>();
    let overlaps = 0;
    let finished = 0;
    const errors: string[] = [];
    const workers = runWorkers(queue, 4, async (key) => {
      if (active.has(key)) overlaps++;
      active.add(key);
      const n = (calls.get(key) ?? 0) + 1;
      calls.set(key, n);
      // Adding the key during its own sync must not start a parallel sync.
      queue.add(key);
      await sleep(2);
      active.delete(key);
      if (key === 'flaky' && n < 3) throw new Error(`attempt ${n}`);
      if (key === 'flaky' || key === 'ok') finished++;
    }, { onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`) });
    queue.add('flaky');
    queue.add('ok');
    const deadline = Date.now() + 5000;
    while ((calls.get('flaky') ?? 0) < 3 && Date.now() < deadline) await sleep(5);
    await sleep(20);
    queue.shutDown();
    await workers;
    assert.equal(overlaps, 0);
    assert.ok((calls.get('flaky') ?? 0) >= 3);
    assert.deepEqual(errors.slice(0, 2), ['flaky: attempt 1', 'flaky: attempt 2']);
    assert.equal(queue.numRequeues('flaky'), 0, 'forgotten after success');
    assert.ok(finished >= 2);
  });

  it('gives up on a key after maxRetries', async () => {
    const queue = createWorkQueue({ rateLimiter: fastLimiter() });
    let calls = 0;
    const workers = runWorkers(queue, 1, async () => {
      calls++;
      throw new Error('always');
    }, { maxRetries: 3, onError: () => {} });
    queue.add('bad');
    await sleep(200);
    queue.shutDown();
    await workers;
    assert.equal(calls, 4, 'the first try and three retries');
  });
});
