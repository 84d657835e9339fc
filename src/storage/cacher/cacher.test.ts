// The watch cache: the shared storage conformance suite over memory and
// sqlite (every list and watch answered by the cache where it can), and the
// cache's own behaviour: slow watchers, bookmarks' progress, index dispatch,
// freshness waits and the fall-through for revisions older than the window.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStorageConformance } from '../conformance.ts';
import { collect, quiet } from '../conformance-support.ts';
import { CompactedError, type KeyValue, type Store, type Watch, type WatchEvent } from '../interface.ts';
import { createMemoryStore } from '../memory/memory-store.ts';
import { openSqliteStore } from '../sqlite/sqlite-store.ts';
import { createCachedStore, type CachedStoreOptions } from './cached-store.ts';

/** One cache holding the whole key space: every conformance list and watch goes through it. */
const everything: CachedStoreOptions = { resourcePrefixOf: () => '', preload: [''] };
/** One cache per first path segment (/w/, /m/ …); the empty prefix passes through. */
const perSegment: CachedStoreOptions = { resourcePrefixOf: (prefix) => /^\/[^/]+\//.exec(prefix)?.[0] };

let dir = '';
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-cacher-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

runStorageConformance('cacher over memory', async () => ({ store: await createCachedStore(createMemoryStore(), everything), cleanup: async () => {} }));
runStorageConformance('cacher over memory, one cache per prefix', async () => ({ store: await createCachedStore(createMemoryStore(), perSegment), cleanup: async () => {} }));
runStorageConformance('cacher over sqlite', async () => {
  const path = join(dir, `store-${++counter}.db`);
  const store = await createCachedStore(openSqliteStore({ path, compactIntervalMs: 0 }), everything);
  return { store, cleanup: async () => {} };
});

const PODS = '/registry/core/pods/';
const pod = (node: string, labels: Record<string, string> = {}) => JSON.stringify({ metadata: { labels }, spec: { nodeName: node } });
const podIndexers: CachedStoreOptions = {
  resourcePrefixOf: (prefix) => /^\/registry\/core\/[^/]+\//.exec(prefix)?.[0],
  indexersFor: (prefix) => prefix === PODS ? [{ name: 'spec.nodeName', values: (kv: KeyValue) => {
    const node = (JSON.parse(kv.value) as { spec?: { nodeName?: string } }).spec?.nodeName;
    return node ? [node] : [];
  } }] : [],
  preload: [PODS, '/registry/core/configmaps/'],
};

async function withCache(options: Partial<CachedStoreOptions>, body: (store: Store & { stats(): unknown }, backend: Store) => Promise<void>): Promise<void> {
  const backend = createMemoryStore();
  const store = await createCachedStore(backend, { ...podIndexers, ...options });
  try {
    await body(store, backend);
  } finally {
    await store.close();
  }
}

describe('watch cache', () => {
  it('ends a watcher whose buffer overflows, without holding up the others', () =>
    withCache({ watcherCapacity: 5 }, async (store) => {
      const from = await store.currentRevision();
      const slow = store.watch({ prefix: PODS, fromRevision: from });
      const fast = store.watch({ prefix: PODS, fromRevision: from });
      const fastIterator = fast.events[Symbol.asyncIterator]();
      const received: number[] = [];
      for (let i = 0; i < 20; i++) {
        await store.create(`${PODS}default/p${i}`, pod('a'));
        received.push(...(await collect(fastIterator, 1)).map((event) => event.revision));
      }
      assert.equal(received.length, 20);
      // The slow one was ended: its iterator finishes at once, with nothing buffered.
      assert.equal((await slow.events[Symbol.asyncIterator]().next()).done, true);
      const stats = store.stats() as { resources: Array<{ prefix: string; terminatedWatchers: number; watchers: number }> };
      assert.deepEqual(stats.resources.filter((r) => r.prefix === PODS).map((r) => [r.terminatedWatchers, r.watchers]), [[1, 1]]);
      fast.stop();
    }));

  it('reports progress for bookmarks: the cache revision when idle, the last event while behind', () =>
    withCache({}, async (store) => {
      const first = await store.create(`${PODS}default/p`, pod('a'));
      const watch = store.watch({ prefix: PODS, fromRevision: first.modRevision });
      const iterator = watch.events[Symbol.asyncIterator]();
      assert.equal(watch.progress?.(), first.modRevision);
      // Writes to another type move the bookmark on: no pod event is skipped by resuming there.
      await store.create('/registry/core/configmaps/default/c1', '{}');
      const other = await store.create('/registry/core/configmaps/default/c2', '{}');
      await store.list({ prefix: PODS }); // a consistent read: the cache has dispatched `other`
      assert.equal(watch.progress?.(), other.modRevision);
      const update = await store.update(`${PODS}default/p`, pod('a', { x: 'y' }), first.modRevision);
      await store.create('/registry/core/configmaps/default/c3', '{}');
      await store.list({ prefix: PODS });
      // An undelivered event holds the bookmark back to just before it.
      assert.equal(watch.progress?.(), update.modRevision - 1);
      assert.equal((await collect(iterator, 1))[0]!.revision, update.modRevision);
      assert.equal(watch.progress?.(), update.modRevision + 1);
      watch.stop();
    }));

  it('dispatches to watchers by spec.nodeName and lists through the index', () =>
    withCache({}, async (store) => {
      const from = await store.currentRevision();
      const onA = store.watch({ prefix: PODS, fromRevision: from, index: { name: 'spec.nodeName', value: 'node-a' } });
      const onB = store.watch({ prefix: PODS, fromRevision: from, index: { name: 'spec.nodeName', value: 'node-b' } });
      const all = store.watch({ prefix: PODS, fromRevision: from });
      const a = onA.events[Symbol.asyncIterator]();
      const b = onB.events[Symbol.asyncIterator]();
      const p1 = await store.create(`${PODS}default/p1`, pod('node-a'));
      await store.create(`${PODS}default/p2`, pod('node-b'));
      await store.create(`${PODS}other/p3`, pod('node-a'));
      // Moving p1 to node-b concerns both watchers (it left one, reached the other).
      await store.update(`${PODS}default/p1`, pod('node-b'), p1.modRevision);
      assert.deepEqual((await collect(a, 3)).map((e) => [e.type, e.kv.key]), [
        ['create', `${PODS}default/p1`], ['create', `${PODS}other/p3`], ['update', `${PODS}default/p1`],
      ]);
      assert.deepEqual((await collect(b, 2)).map((e) => [e.type, e.kv.key]), [['create', `${PODS}default/p2`], ['update', `${PODS}default/p1`]]);
      assert.equal((await collect(all, 4)).length, 4);
      assert.equal(await quiet(a), true);
      const listed = await store.list({ prefix: PODS, index: { name: 'spec.nodeName', value: 'node-b' } });
      assert.deepEqual(listed.items.map((item) => item.key), [`${PODS}default/p1`, `${PODS}default/p2`]);
      const inNamespace = await store.list({ prefix: `${PODS}other/`, index: { name: 'spec.nodeName', value: 'node-a' } });
      assert.deepEqual(inNamespace.items.map((item) => item.key), [`${PODS}other/p3`]);
      // A late watcher on node-a replays only node-a's events from the window.
      const late = store.watch({ prefix: PODS, fromRevision: from, index: { name: 'spec.nodeName', value: 'node-a' } });
      assert.equal((await collect(late, 3)).length, 3);
      for (const watch of [onA, onB, all, late]) watch.stop();
    }));

  it('waits for a resourceVersion the cache has not reached, and gives up after the timeout', () =>
    withCache({ freshnessTimeoutMs: 200 }, async (store) => {
      const current = await store.currentRevision();
      const waiting = store.list({ prefix: PODS, notOlderThan: current + 1 });
      await store.create(`${PODS}default/late`, pod('a'));
      const served = await waiting;
      assert.equal(served.revision, current + 1);
      assert.deepEqual(served.items.map((item) => item.key), [`${PODS}default/late`]);
      // A revision that never comes: after the timeout the backend answers (latest),
      // and the caller sees it is older than asked (the API server's 504).
      const started = Date.now();
      const tooNew = await store.list({ prefix: PODS, notOlderThan: current + 100 });
      assert.ok(Date.now() - started >= 190);
      assert.equal(tooNew.revision, current + 1);
    }));

  it('passes a watch older than its window to the backend, which answers or says compacted', () =>
    withCache({ windowMinSize: 2, windowMaxSize: 3 }, async (store) => {
      const from = await store.currentRevision();
      for (let i = 0; i < 10; i++) await store.create(`${PODS}default/p${i}`, pod('a'));
      const stats = store.stats() as { resources: Array<{ prefix: string; windowStart: number }> };
      assert.ok(stats.resources.find((r) => r.prefix === PODS)!.windowStart > from);
      const old = store.watch({ prefix: PODS, fromRevision: from });
      assert.deepEqual((await collect(old, 10)).map((e) => e.revision), Array.from({ length: 10 }, (_, i) => from + 1 + i));
      old.stop();
      await store.compact(from + 5);
      assert.throws(() => store.watch({ prefix: PODS, fromRevision: from }), CompactedError);
    }));

  it('serves lists and watches from memory once a type is loaded', () =>
    withCache({}, async (store, backend) => {
      await store.create(`${PODS}default/p`, pod('a'));
      await store.list({ prefix: PODS });
      // Prove the answer comes from memory: the backend's list is not called.
      const original = backend.list.bind(backend);
      let backendLists = 0;
      backend.list = (options) => {
        backendLists++;
        return original(options);
      };
      const any = await store.list({ prefix: PODS, notOlderThan: 0 });
      const consistent = await store.list({ prefix: `${PODS}default/` });
      assert.deepEqual([any.items.length, consistent.items.length, backendLists], [1, 1, 0]);
      // A later page at an exact older revision is the backend's job.
      await store.create(`${PODS}default/q`, pod('a'));
      await store.list({ prefix: PODS, revision: any.revision });
      assert.equal(backendLists, 1);
    }));

  it('rebuilds when the underlying watch fails: its watchers end cleanly, lists stay right', async () => {
    const backend = createMemoryStore();
    let failUnderlying: ((error: unknown) => void) | undefined;
    const failing: Store = {
      get: (key) => backend.get(key),
      list: (options) => backend.list(options),
      create: (key, value) => backend.create(key, value),
      update: (key, value, expected) => backend.update(key, value, expected),
      delete: (key, expected) => backend.delete(key, expected),
      count: (prefix) => backend.count(prefix),
      compact: (revision) => backend.compact(revision),
      currentRevision: () => backend.currentRevision(),
      compactedRevision: () => backend.compactedRevision(),
      close: () => backend.close(),
      watch: (options): Watch => {
        const watch = backend.watch(options);
        if (options.prefix !== '') return watch;
        // The cache's underlying watch: fails when the test says so.
        const failure = new Promise<never>((_, reject) => {
          failUnderlying = reject;
        });
        failure.catch(() => {});
        const inner = watch.events[Symbol.asyncIterator]();
        const events: AsyncIterable<WatchEvent> = {
          [Symbol.asyncIterator]: () => ({
            next: () => Promise.race([inner.next(), failure]),
            return: async () => {
              watch.stop();
              return { done: true, value: undefined };
            },
          }),
        };
        return { events, stop: () => watch.stop() };
      },
    };
    const store = await createCachedStore(failing, podIndexers);
    try {
      await store.create(`${PODS}default/a`, pod('n'));
      const watcher = store.watch({ prefix: PODS, fromRevision: await store.currentRevision() });
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(warning.message);
      process.on('warning', onWarning);
      failUnderlying!(new CompactedError(1, 2));
      assert.equal(await nextOrEnd(watcher), 'ended');
      await store.create(`${PODS}default/b`, pod('n'));
      // Meanwhile and after the rebuild, lists are complete.
      assert.deepEqual((await store.list({ prefix: PODS })).items.map((item) => item.key), [`${PODS}default/a`, `${PODS}default/b`]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      process.off('warning', onWarning);
      assert.ok(warnings.some((message) => message.includes('rebuilding')));
      const again = store.watch({ prefix: PODS, fromRevision: await store.currentRevision() });
      await store.create(`${PODS}default/c`, pod('n'));
      assert.equal((await collect(again, 1))[0]!.kv.key, `${PODS}default/c`);
      assert.deepEqual((await store.list({ prefix: PODS, notOlderThan: 0 })).items.length, 3);
      assert.ok((store.stats() as { resources: Array<{ ready: boolean }> }).resources.every((r) => r.ready));
      again.stop();
    } finally {
      await store.close();
    }
  });

  it('agrees with the backend under random writes, lists and watches (small window, index moves)', async () => {
    let seed = 42;
    const random = (n: number) => {
      // mulberry32: small, and its low bits are as random as its high ones.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return (((t ^ (t >>> 14)) >>> 0) % n);
    };
    const backend = createMemoryStore();
    const store = await createCachedStore(backend, { ...podIndexers, closeBackend: false, windowMinSize: 5, windowMaxSize: 20 });
    const nodeOf = (kv: KeyValue | undefined) => (kv ? (JSON.parse(kv.value) as { spec: { nodeName: string } }).spec.nodeName : undefined);
    try {
      for (let step = 0; step < 600; step++) {
        const key = `${PODS}ns${random(3)}/p${random(15)}`;
        const current = await backend.get(key);
        const node = `node-${random(4)}`;
        if (!current) await store.create(key, pod(node));
        else if (random(4) === 0) await store.delete(key, current.modRevision);
        else await store.update(key, pod(node, { step: String(step) }), current.modRevision);
        if (step % 20 !== 19) continue;
        // Lists: whole type, a namespace, one node through the index.
        const hint = { name: 'spec.nodeName', value: `node-${random(4)}` };
        const all = (await backend.list({ prefix: PODS })).items;
        assert.deepEqual((await store.list({ prefix: PODS })).items, all);
        assert.deepEqual((await store.list({ prefix: `${PODS}ns1/`, notOlderThan: 0 })).items, all.filter((kv) => kv.key.startsWith(`${PODS}ns1/`)));
        assert.deepEqual((await store.list({ prefix: PODS, index: hint })).items, all.filter((kv) => nodeOf(kv) === hint.value));
        // Watches from a random recent revision, with and without a trigger: the backend's
        // events, restricted to those whose object was on the node before or after.
        const latest = await backend.currentRevision();
        const from = Math.max(0, latest - 1 - random(30));
        // Older than the window, the backend's watch answers and ignores the hint (the caller filters).
        const windowStart = (store.stats() as { resources: Array<{ prefix: string; windowStart: number }> }).resources.find((r) => r.prefix === PODS)!.windowStart;
        const concerns = (e: WatchEvent) => from < windowStart || nodeOf(e.prevKv) === hint.value || (e.type !== 'delete' && nodeOf(e.kv) === hint.value);
        const expected = (await collect(backend.watch({ prefix: PODS, fromRevision: from }), latest - from)).filter(concerns);
        const triggered = store.watch({ prefix: PODS, fromRevision: from, index: hint });
        assert.deepEqual((await collect(triggered, expected.length)).map((e) => e.revision), expected.map((e) => e.revision));
        triggered.stop();
        const plainWatch = store.watch({ prefix: PODS, fromRevision: from });
        assert.deepEqual((await collect(plainWatch, latest - from)).map((e) => e.revision), Array.from({ length: latest - from }, (_, k) => from + 1 + k));
        plainWatch.stop();
      }
    } finally {
      await store.close();
      await backend.close();
    }
  });
});

async function nextOrEnd(watch: Watch): Promise<'ended' | 'event'> {
  const result = await Promise.race([watch.events[Symbol.asyncIterator]().next(), new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 3000))]);
  if (result === 'timeout') assert.fail('the watch neither ended nor delivered');
  return result.done ? 'ended' : 'event';
}