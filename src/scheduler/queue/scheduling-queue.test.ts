import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Heap } from './heap.ts';
import { SchedulingQueue, type QueuedPodInfo } from './scheduling-queue.ts';

interface Pod { priority: number }
const byPriority = (a: QueuedPodInfo<Pod>, b: QueuedPodInfo<Pod>) =>
  a.pod.priority !== b.pod.priority ? a.pod.priority > b.pod.priority : a.initialAttemptTimestamp < b.initialAttemptTimestamp;

function queue(now: { t: number }) {
  return new SchedulingQueue<Pod>({ less: byPriority, now: () => now.t, flushIntervalMs: 60_000 });
}

describe('Heap', () => {
  it('pops in order and supports keyed update and removal', () => {
    const heap = new Heap<number>((a, b) => a < b);
    for (const [k, v] of [['a', 5], ['b', 1], ['c', 9], ['d', 3]] as const) heap.push(k, v);
    heap.update('c', 0);
    assert.equal(heap.remove('d'), true);
    assert.deepEqual([heap.pop(), heap.pop(), heap.pop(), heap.pop()], [0, 1, 5, undefined]);
  });
});

describe('SchedulingQueue', () => {
  it('pops by priority, then by age', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add('low', { priority: 1 });
    now.t = 1;
    q.add('high', { priority: 10 });
    now.t = 2;
    q.add('low2', { priority: 1 });
    assert.deepEqual([(await q.pop())!.key, (await q.pop())!.key, (await q.pop())!.key], ['high', 'low', 'low2']);
    q.close();
  });

  it('parks unschedulable pods until a cluster event, then honours backoff', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add('p', { priority: 0 });
    const info = (await q.pop())!;
    q.requeue(info, 'unschedulable');
    assert.deepEqual(q.lengths(), { active: 0, backoff: 0, unschedulable: 1, inFlight: 0 });
    now.t = 500;
    q.moveAllToActive();
    assert.equal(q.lengths().backoff, 1, 'first backoff is 1 s');
    now.t = 1001;
    q.flush();
    assert.equal((await q.pop())!.key, 'p');
    q.close();
  });

  it('retries at once when a move happened during the attempt, and keeps updates made meanwhile', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add('p', { priority: 0 });
    const info = (await q.pop())!;
    q.moveAllToActive();
    q.add('p', { priority: 7 });
    q.requeue(info, 'unschedulable');
    assert.equal(q.lengths().unschedulable, 0);
    now.t = 5000;
    q.flush();
    const again = (await q.pop())!;
    assert.equal(again.pod.priority, 7);
    assert.equal(again.attempts, 2);
    q.close();
  });

  it('forgets deleted pods and wakes waiters on close', async () => {
    const now = { t: 0 };
    const q = queue(now);
    q.add('gone', { priority: 0 });
    q.delete('gone');
    const waiting = q.pop();
    q.close();
    assert.equal(await waiting, undefined);
  });
});
