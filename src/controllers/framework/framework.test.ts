// The framework's pure parts: expectations, slow start, pod readiness and
// deletion ranking, the template hash and semantic equality.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Expectations } from './expectations.ts';
import { isPodAvailable, isPodReady, podsToDelete } from './pods.ts';
import { slowStartBatch } from './slow-start.ts';
import { canonicalJson, computeTemplateHash, safeEncodeString, semanticEqual } from './template-hash.ts';
import type { Pod } from './types.ts';

describe('expectations', () => {
  it('blocks until the expected creations and deletions are observed', () => {
    const e = new Expectations();
    assert.equal(e.satisfied('ns/rs'), true, 'nothing expected');
    e.expectCreations('ns/rs', 2);
    assert.equal(e.satisfied('ns/rs'), false);
    e.creationObserved('ns/rs');
    assert.equal(e.satisfied('ns/rs'), false);
    e.creationObserved('ns/rs');
    assert.equal(e.satisfied('ns/rs'), true);

    e.expectDeletions('ns/rs', ['ns/a', 'ns/b']);
    e.deletionObserved('ns/rs', 'ns/a');
    e.deletionObserved('ns/rs', 'ns/a'); // marked, then gone: counted once
    e.deletionObserved('ns/rs', 'ns/other');
    assert.deepEqual(e.pending('ns/rs'), { add: 0, del: 1 });
    assert.equal(e.satisfied('ns/rs'), false);
    e.deletionObserved('ns/rs', 'ns/b');
    assert.equal(e.satisfied('ns/rs'), true);
  });

  it('expires after the TTL, and forgets deleted owners', () => {
    let now = 0;
    const e = new Expectations({ now: () => now });
    e.expectCreations('k', 3);
    now = 5 * 60_000;
    assert.equal(e.satisfied('k'), false);
    now += 1;
    assert.equal(e.satisfied('k'), true);
    e.expectCreations('k', 1);
    e.delete('k');
    assert.equal(e.satisfied('k'), true);
    assert.equal(e.pending('k'), undefined);
  });
});

describe('slowStartBatch', () => {
  it('runs batches of 1, 2, 4 … up to the count', async () => {
    const batches: number[] = [];
    let inFlight = 0;
    const result = await slowStartBatch(10, 1, async () => {
      // A batch starts all its calls at once, after the previous batch finished.
      if (inFlight++ === 0) batches.push(0);
      batches[batches.length - 1]++;
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
    });
    assert.deepEqual(result, { successes: 10 });
    assert.deepEqual(batches, [1, 2, 4, 3]);
  });

  it('stops after the first batch with a failure', async () => {
    const calls: number[] = [];
    const result = await slowStartBatch(20, 1, async (index) => {
      calls.push(index);
      if (index === 4) throw new Error('quota exceeded');
    });
    // Batches 1, 2, then 4 (indices 3–6) of which one failed; nothing after.
    assert.equal(calls.length, 7);
    assert.equal(result.successes, 6);
    assert.equal((result.error as Error).message, 'quota exceeded');
  });

  it('does nothing for zero', async () => {
    assert.deepEqual(await slowStartBatch(0, 1, async () => { throw new Error('never'); }), { successes: 0 });
  });
});

const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString().replace('.000Z', 'Z');

function pod(name: string, options: { node?: string; phase?: string; ready?: boolean; readySince?: number; created?: number; restarts?: number; cost?: number } = {}): Pod {
  const conditions = options.ready !== undefined ? [{ type: 'Ready', status: options.ready ? 'True' : 'False', lastTransitionTime: at(options.readySince ?? 0) }] : [];
  return {
    metadata: {
      name, uid: `uid-${name}`, creationTimestamp: at(options.created ?? 0),
      ...(options.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': String(options.cost) } } : {}),
    },
    spec: options.node ? { nodeName: options.node } : {},
    status: { phase: options.phase ?? 'Pending', conditions, containerStatuses: [{ restartCount: options.restarts ?? 0 }] },
  };
}

describe('pods', () => {
  it('readiness and availability after minReadySeconds', () => {
    const p = pod('p', { node: 'n', phase: 'Running', ready: true, readySince: 10 });
    assert.equal(isPodReady(p), true);
    const t = (s: number) => new Date(Date.parse(at(s)));
    assert.equal(isPodAvailable(p, 0, t(10)), true);
    assert.equal(isPodAvailable(p, 5, t(14)), false);
    assert.equal(isPodAvailable(p, 5, t(16)), true);
    assert.equal(isPodAvailable(pod('q', { ready: false }), 0, t(100)), false);
  });

  it('deletes unscheduled, pending, unready, cheap, doubled-up, newer pods first', () => {
    const now = new Date(Date.parse(at(100_000)));
    const running = { phase: 'Running', ready: true, readySince: 10, created: 0 };
    const pods = [
      pod('old-ready', { node: 'n1', ...running }),
      pod('unready', { node: 'n2', phase: 'Running', ready: false }),
      pod('unscheduled', {}),
      pod('pending', { node: 'n3' }),
      pod('unknown', { node: 'n3', phase: 'Unknown' }),
      pod('expensive', { node: 'n4', ...running, cost: 100 }),
      pod('cheap', { node: 'n5', ...running, cost: -5 }),
      pod('doubled', { node: 'n6', ...running }),
      pod('young', { node: 'n7', ...running, readySince: 99_990, created: 99_980 }),
      pod('restarts', { node: 'n8', ...running, restarts: 7 }),
    ];
    const related = [...pods, pod('sibling', { node: 'n6', phase: 'Running', ready: true })];
    const order = podsToDelete(pods, related, pods.length - 1, now).map((p) => p.metadata.name);
    assert.deepEqual(order, ['unscheduled', 'pending', 'unknown', 'unready', 'cheap', 'doubled', 'young', 'restarts', 'old-ready']);
    assert.deepEqual(podsToDelete(pods, related, 20, now).length, pods.length);
  });
});

describe('template hash', () => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } };

  it('is short, safe and stable whatever the key order', () => {
    const hash = computeTemplateHash(template);
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    const reordered = { spec: { containers: [{ image: 'nginx:1', name: 'c' }] }, metadata: { labels: { app: 'web' } } };
    assert.equal(computeTemplateHash(reordered), hash);
    assert.notEqual(computeTemplateHash({ ...template, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } }), hash);
    assert.notEqual(computeTemplateHash(template, 1), hash);
    assert.notEqual(computeTemplateHash(template, 1), computeTemplateHash(template, 2));
    // Each character by its code modulo the 27-letter alphabet: '0' (48) → '4', '1' → '5', '9' (57) → 'f'.
    assert.equal(safeEncodeString('019'), '45f');
  });

  it('canonical JSON sorts keys at every level', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: null } }), '{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
  });

  it('semantic equality ignores Go zero values but not meaningful ones', () => {
    const fromProtobuf = { metadata: { generation: 0, creationTimestamp: null, labels: { app: 'x' } }, spec: { hostIPC: false, containers: [{ name: 'c', stdin: false, resources: {} }] } };
    const fromJson = { metadata: { labels: { app: 'x' } }, spec: { containers: [{ name: 'c' }] } };
    assert.equal(semanticEqual(fromProtobuf, fromJson), true);
    assert.equal(semanticEqual({ securityContext: { runAsUser: 0 } }, {}), false);
    assert.equal(semanticEqual({ a: [1, 2] }, { a: [2, 1] }), false);
  });
});
