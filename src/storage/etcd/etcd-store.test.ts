// The etcd store against a real etcd (Debian's etcd-server): the shared
// conformance suite (one fresh etcd per test, since revisions are
// cluster-wide) and etcd-specific behaviour.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runStorageConformance } from '../conformance.ts';
import { collect } from '../conformance-support.ts';
import { CompactedError, ConflictError } from '../interface.ts';
import { openEtcdStore } from './etcd-store.ts';
import { startEtcd, type EtcdCluster } from './launcher.ts';

runStorageConformance('etcd', async () => {
  const etcd = await startEtcd();
  try {
    const store = await openEtcdStore({ endpoints: etcd.endpoints, compactIntervalMs: 0 });
    return { store, cleanup: () => etcd.stop() };
  } catch (error) {
    await etcd.stop();
    throw error;
  }
});

describe('etcd store', () => {
  let etcd: EtcdCluster;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  it('keeps stores with different key prefixes apart in one etcd', async () => {
    const raw = await openEtcdStore({ endpoints: etcd.endpoints, compactIntervalMs: 0 });
    const a = await openEtcdStore({ endpoints: etcd.endpoints, keyPrefix: '/cluster-a', compactIntervalMs: 0 });
    const b = await openEtcdStore({ endpoints: etcd.endpoints, keyPrefix: '/cluster-b', compactIntervalMs: 0 });
    try {
      await a.create('/registry/pods/default/p', 'from a');
      await b.create('/registry/pods/default/p', 'from b');
      assert.equal((await a.get('/registry/pods/default/p'))?.value, 'from a');
      assert.deepEqual((await b.list({ prefix: '' })).items.map((item) => [item.key, item.value]), [['/registry/pods/default/p', 'from b']]);
      assert.equal(await a.count(''), 1);
      // In etcd the keys sit below their prefix, 1:1.
      assert.deepEqual((await raw.list({ prefix: '/cluster-' })).items.map((item) => item.key), [
        '/cluster-a/registry/pods/default/p',
        '/cluster-b/registry/pods/default/p',
      ]);
      await assert.rejects(a.update('/registry/pods/default/p', 'x', 0), ConflictError);
    } finally {
      await Promise.all([raw.close(), a.close(), b.close()]);
    }
  });

  it('expires keys with a TTL through a lease, with a delete event', async () => {
    const store = await openEtcdStore({
      endpoints: etcd.endpoints,
      keyPrefix: '/ttl',
      compactIntervalMs: 0,
      ttlSeconds: (key) => (key.startsWith('/registry/events/') ? 2 : undefined),
    });
    try {
      const from = await store.currentRevision();
      const watch = store.watch({ prefix: '/registry/', fromRevision: from });
      await store.create('/registry/events/default/e1', 'event');
      await store.create('/registry/pods/default/p', 'pod');
      const started = Date.now();
      const [created, , expired] = await collectSlowly(watch, 3);
      assert.equal(created!.kv.key, '/registry/events/default/e1');
      assert.deepEqual([expired!.type, expired!.kv.key, expired!.kv.value], ['delete', '/registry/events/default/e1', 'event']);
      assert.ok(Date.now() - started >= 1_500, 'the event lived about its TTL');
      assert.equal(await store.get('/registry/events/default/e1'), undefined);
      assert.equal((await store.get('/registry/pods/default/p'))?.value, 'pod');
      watch.stop();
    } finally {
      await store.close();
    }
  });

  it('learns about a compaction made by another server, for lists and watches', async () => {
    const writer = await openEtcdStore({ endpoints: etcd.endpoints, keyPrefix: '/compact', compactIntervalMs: 0 });
    const reader = await openEtcdStore({ endpoints: etcd.endpoints, keyPrefix: '/compact', compactIntervalMs: 0 });
    try {
      const first = await writer.create('/k', '1');
      await writer.update('/k', '2', first.modRevision);
      const latest = await writer.update('/k', '3', first.modRevision + 1);
      await writer.compact(latest.modRevision);
      // The reader has not heard of the compaction (only of the newest revision,
      // as from a list): etcd ends its watch with the error.
      await reader.currentRevision();
      const watch = reader.watch({ prefix: '', fromRevision: first.modRevision });
      await assert.rejects(watch.events[Symbol.asyncIterator]().next(), (error: unknown) => error instanceof CompactedError && error.compactedRevision === latest.modRevision);
      // From then on it rejects such watches synchronously.
      assert.throws(() => reader.watch({ prefix: '', fromRevision: first.modRevision }), CompactedError);
      const third = await openEtcdStore({ endpoints: etcd.endpoints, keyPrefix: '/compact', compactIntervalMs: 0 });
      try {
        assert.equal(await third.compactedRevision(), latest.modRevision);
        await assert.rejects(third.list({ prefix: '', revision: first.modRevision }), (error: unknown) => error instanceof CompactedError && error.compactedRevision === latest.modRevision);
      } finally {
        await third.close();
      }
      const late = reader.watch({ prefix: '', fromRevision: latest.modRevision });
      await writer.update('/k', '4', latest.modRevision);
      assert.equal((await collect(late, 1))[0]!.kv.value, '4');
      late.stop();
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});

/** Like collect, with a timeout long enough for a lease to expire. */
async function collectSlowly(watch: ReturnType<Awaited<ReturnType<typeof openEtcdStore>>['watch']>, count: number) {
  const iterator = watch.events[Symbol.asyncIterator]();
  const events = [];
  const deadline = Date.now() + 15_000;
  while (events.length < count) {
    const next = await Promise.race([iterator.next(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), deadline - Date.now()).unref())]);
    if (next === 'timeout' || next.done) assert.fail(`got ${events.length} of ${count} events`);
    events.push(next.value);
  }
  return events;
}
