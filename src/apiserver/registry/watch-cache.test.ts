// The API server's use of the watch cache: LIST resourceVersion semantics
// (any, not older than, exact, consistent), the upstream errors (504 too large
// resource version, 410 expired, 422 bad resourceVersionMatch), index hints
// from selectors, and the same answers with and without the cache.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { builtinKinds } from '../../api/registry.ts';
import { parseFieldSelector, parseLabelSelector } from '../../api/selectors/index.ts';
import type { CachedStore } from '../../storage/cacher/cached-store.ts';
import type { Store } from '../../storage/interface.ts';
import { createMemoryStore } from '../../storage/memory/memory-store.ts';
import { ApiError } from '../errors.ts';
import { initializeObjectMeta, ResourceStore, type KubeObject, type WatchEventOut } from './resource-store.ts';
import { Registry } from 'prom-client';
import { createApiWatchCache, indexHintFor, indexHintForQuery, registerWatchCacheMetrics } from './watch-cache.ts';

const registry = builtinKinds();
const pods = registry.lookup('', 'v1', 'pods')!;
const configmaps = registry.lookup('', 'v1', 'configmaps')!;

function pod(name: string, nodeName?: string, labels: Record<string, string> = {}): KubeObject {
  const object: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', labels }, spec: { nodeName } };
  initializeObjectMeta(object.metadata);
  return object;
}
const onNode = (node: string) => (o: KubeObject) => ((o.spec as { nodeName?: string }).nodeName ?? '') === node;

async function next(iterator: AsyncIterator<WatchEventOut>): Promise<WatchEventOut> {
  const result = await Promise.race([iterator.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no event')), 3000))]);
  assert.ok(!result.done);
  return result.value;
}

describe('API watch cache', () => {
  let backend: Store;
  let cache: CachedStore;
  let store: ResourceStore;
  beforeEach(async () => {
    backend = createMemoryStore();
    cache = await createApiWatchCache(backend, registry, { freshnessTimeoutMs: 150 });
    store = new ResourceStore(cache);
  });
  afterEach(async () => {
    await cache.close();
    await backend.close();
  });

  it('serves resourceVersion=0, not-older-than and consistent lists; 504 for a version never reached', async () => {
    const a = await store.create(pods, pod('a', 'node-1'));
    const any = await store.list(pods, { resourceVersion: '0' });
    assert.deepEqual(any.items.map((o) => o.metadata.name), ['a']);
    const notOlder = await store.list(pods, { resourceVersion: a.metadata.resourceVersion });
    assert.equal(notOlder.resourceVersion, a.metadata.resourceVersion);
    const consistent = await store.list(pods, {});
    assert.equal(consistent.resourceVersion, a.metadata.resourceVersion);
    const future = String(Number(a.metadata.resourceVersion) + 10);
    await assert.rejects(store.list(pods, { resourceVersion: future }), (error: ApiError) => {
      assert.equal(error.code, 504);
      assert.equal(error.reason, 'Timeout');
      assert.equal(error.message, `Timeout: Too large resource version: ${future}, current: ${a.metadata.resourceVersion}`);
      assert.deepEqual(error.details?.causes, [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }]);
      return true;
    });
  });

  it('lists exactly at an older revision, and answers 410 once it is compacted', async () => {
    const a = await store.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns' } });
    const rv = a.metadata.resourceVersion!;
    await store.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns' } });
    const exact = await store.list(configmaps, { resourceVersion: rv, resourceVersionMatch: 'Exact' });
    assert.deepEqual([exact.resourceVersion, exact.items.length], [rv, 1]);
    await cache.compact(await cache.currentRevision());
    await assert.rejects(store.list(configmaps, { resourceVersion: rv, resourceVersionMatch: 'Exact' }), (error: ApiError) => error.code === 410 && error.reason === 'Expired');
    assert.throws(() => store.watch(configmaps, { fromRevision: Number(rv) - 1 }), (error: ApiError) => error.code === 410);
  });

  it('validates resourceVersionMatch as upstream', async () => {
    const invalid = (error: ApiError) => error.code === 422 && error.reason === 'Invalid';
    await assert.rejects(store.list(pods, { resourceVersionMatch: 'Exact' }), invalid);
    await assert.rejects(store.list(pods, { resourceVersion: '0', resourceVersionMatch: 'Exact' }), invalid);
    await assert.rejects(store.list(pods, { resourceVersion: '1', resourceVersionMatch: 'Newest' }), invalid);
    await assert.rejects(store.list(pods, { resourceVersion: 'abc' }), (error: ApiError) => error.code === 400);
  });

  it('watches a node\'s pods through the index: added, moved away, unscheduled ones under ""', async () => {
    const from = Number((await store.list(pods, {})).resourceVersion);
    const mine = store.watch(pods, { fromRevision: from, filter: onNode('node-1'), index: { name: 'spec.nodeName', value: 'node-1' } });
    const unscheduled = store.watch(pods, { fromRevision: from, filter: onNode(''), index: { name: 'spec.nodeName', value: '' } });
    const m = mine.events[Symbol.asyncIterator]();
    const u = unscheduled.events[Symbol.asyncIterator]();
    const p = await store.create(pods, pod('p'));
    await store.create(pods, pod('elsewhere', 'node-2'));
    const bound = await store.update(pods, { ...p, spec: { nodeName: 'node-1' } }, Number(p.metadata.resourceVersion));
    await store.update(pods, { ...bound, spec: { nodeName: 'node-2' } }, Number(bound.metadata.resourceVersion));
    assert.deepEqual([await next(u), await next(u)].map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'p'], ['DELETED', 'p']]);
    assert.deepEqual([await next(m), await next(m)].map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'p'], ['DELETED', 'p']]);
    const listed = await store.list(pods, { filter: onNode('node-2'), index: { name: 'spec.nodeName', value: 'node-2' } });
    assert.deepEqual(listed.items.map((o) => o.metadata.name), ['elsewhere', 'p']);
    mine.stop();
    unscheduled.stop();
  });

  it('shows its state on /metrics', async () => {
    const metrics = new Registry();
    registerWatchCacheMetrics(metrics, cache, registry);
    await store.create(pods, pod('a', 'node-1'));
    await store.list(pods, {});
    const text = await metrics.metrics();
    assert.match(text, /^apiserver_watch_cache_objects\{resource="pods"\} 1$/m);
    assert.match(text, /^apiserver_watch_cache_events_dispatched_total\{resource="pods"\} 1$/m);
    assert.match(text, /^apiserver_watch_cache_lists_total\{source="cache"\} 1$/m);
    assert.match(text, /^apiserver_terminated_watchers_total\{resource="pods"\} 0$/m);
  });

  it('gives bookmarks the cache revision while nothing of the watch changed', async () => {
    const from = Number((await store.list(pods, {})).resourceVersion);
    const watch = store.watch(pods, { fromRevision: from });
    await store.create(configmaps, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } });
    const latest = Number((await store.list(pods, {})).resourceVersion);
    assert.ok(latest > from);
    assert.equal(watch.progress?.(), latest);
    watch.stop();
  });
});

describe('index hints from selectors', () => {
  it('prefers spec.nodeName on pods, then a label pinned to one value', () => {
    assert.deepEqual(indexHintFor(pods, parseLabelSelector('app=web'), parseFieldSelector('spec.nodeName=n1')), { name: 'spec.nodeName', value: 'n1' });
    assert.deepEqual(indexHintFor(pods, undefined, parseFieldSelector('spec.nodeName=')), { name: 'spec.nodeName', value: '' });
    assert.deepEqual(indexHintFor(pods, parseLabelSelector('tier!=db,app in (web)'), undefined), { name: 'labels', value: 'app=web' });
    assert.equal(indexHintFor(pods, parseLabelSelector('app in (a,b),!x'), parseFieldSelector('spec.nodeName!=n1')), undefined);
    assert.equal(indexHintFor(configmaps, undefined, parseFieldSelector('spec.nodeName=n1')), undefined);
    assert.equal(indexHintForQuery(pods, new URLSearchParams('labelSelector=((')), undefined);
  });
});

describe('the same answers with and without the cache', () => {
  it('lists and watches alike after a mix of writes', async () => {
    const results: unknown[] = [];
    for (const cached of [false, true]) {
      const backend = createMemoryStore();
      const cache = cached ? await createApiWatchCache(backend, registry) : undefined;
      const store = new ResourceStore(cache ?? backend);
      try {
        const watch = store.watch(pods, { fromRevision: 0, filter: (o) => o.metadata.labels?.app === 'web', index: { name: 'labels', value: 'app=web' } });
        const iterator = watch.events[Symbol.asyncIterator]();
        const a = await store.create(pods, pod('a', 'n1', { app: 'web' }));
        await store.create(pods, pod('b', 'n2', { app: 'db' }));
        const a2 = await store.update(pods, { ...a, metadata: { ...a.metadata, labels: { app: 'db' } } }, Number(a.metadata.resourceVersion));
        await store.update(pods, { ...a2, metadata: { ...a2.metadata, labels: { app: 'web' } } }, Number(a2.metadata.resourceVersion));
        await store.delete(pods, 'ns', 'a');
        const events = [];
        for (let i = 0; i < 4; i++) {
          const event = await next(iterator);
          events.push([event.type, event.object.metadata.name, event.object.metadata.resourceVersion]);
        }
        watch.stop();
        const list = await store.list(pods, { limit: 1 });
        const strip = (o: KubeObject) => ({ name: o.metadata.name, rv: o.metadata.resourceVersion, labels: o.metadata.labels });
        results.push({ events, list: { items: list.items.map(strip), rv: list.resourceVersion, more: Boolean(list.continueToken), remaining: list.remainingItemCount } });
      } finally {
        await cache?.close();
        await backend.close();
      }
    }
    assert.deepEqual(results[1], results[0]);
  });
});
