import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedQueue, Limiter } from './limiter.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('Limiter', () => {
  it('runs at most `limit` tasks at once, in order', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => limiter.run(async () => {
      running++;
      most = Math.max(most, running);
      order.push(i);
      await tick();
      running--;
    })));
    assert.equal(most, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(limiter.inFlight, 0);
  });

  it('frees the slot when a task throws', async () => {
    const limiter = new Limiter(1);
    await assert.rejects(limiter.run(async () => { throw new Error('boom'); }), /boom/);
    assert.equal(await limiter.run(async () => 7), 7);
  });
});

describe('KeyedQueue', () => {
  it('merges repeated keys and re-runs a key changed while it was processed', async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const queue = new KeyedQueue({
      // One slot: "b" waits behind the blocked "a", so its two adds merge.
      limiter: new Limiter(1),
      handler: async (key) => {
        seen.push(key);
        if (key === 'a' && seen.length === 1) await gate;
      },
      onError: () => assert.fail('no errors expected'),
    });
    queue.add('a');
    await tick();
    queue.add('a'); // while processing: runs once more afterwards
    queue.add('a');
    queue.add('b');
    queue.add('b');
    release();
    await queue.idle();
    assert.deepEqual(seen.sort(), ['a', 'a', 'b']);
  });

  it('retries a failing key with backoff and stops cleanly', async () => {
    let calls = 0;
    const errors: string[] = [];
    const queue = new KeyedQueue({
      limiter: new Limiter(1),
      handler: async () => {
        calls++;
        if (calls < 3) throw new Error(`fail ${calls}`);
      },
      onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`),
    });
    queue.add('k');
    const deadline = Date.now() + 2000;
    while (calls < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls, 3);
    assert.deepEqual(errors, ['k: fail 1', 'k: fail 2']);
    queue.stop();
  });
});
