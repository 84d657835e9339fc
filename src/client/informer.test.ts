import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startInProcessServer, type InProcessServer } from '../../test/support/in-process-server.ts';
import { IndexedCache, objectKey, splitKey } from './cache.ts';
import { createInformer, type Informer } from './informer.ts';
import type { ApiClient, KubeObject, WatchEvent, WatchStream } from './interface.ts';
import { createRestClient, type RestClient } from './rest-client.ts';

type ConfigMap = KubeObject & { data?: Record<string, string> };

const configmaps = { group: '', version: 'v1', resource: 'configmaps' };
const inNs = (namespace: string) => ({ ...configmaps, namespace });
const quiet = { warn: () => {} };

async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Wraps a real client so a test can hold lists, break watches, and slip
 * events into them — the failures an informer must survive, on demand.
 */
class FaultyClient {
  readonly api: ApiClient;
  lists = 0;
  watches = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private readonly live = new Set<TestWatch>();

  constructor(client: ApiClient) {
    this.api = {
      get: (ref) => client.get(ref),
      list: async (ref, options) => {
        this.lists++;
        if (this.gate) await this.gate;
        return client.list(ref, options);
      },
      watch: <T extends KubeObject>(ref: Parameters<ApiClient['watch']>[0], options?: Parameters<ApiClient['watch']>[1]) => {
        this.watches++;
        const watch = new TestWatch(client.watch(ref, options), () => this.live.delete(watch));
        this.live.add(watch);
        return watch as unknown as WatchStream<T>;
      },
      create: (ref, body, options) => client.create(ref, body, options),
      update: (ref, body, options) => client.update(ref, body, options),
      patch: (ref, type, patch, options) => client.patch(ref, type, patch, options),
      delete: (ref, options) => client.delete(ref, options),
      deleteCollection: (ref, options) => client.deleteCollection(ref, options),
      close: () => client.close(),
    };
  }

  holdLists(): void {
    this.gate = new Promise((resolve) => { this.openGate = resolve; });
  }

  releaseLists(): void {
    this.gate = undefined;
    this.openGate?.();
  }

  breakWatches(): void {
    for (const w of this.live) w.fail(new Error('watch broken by the test'));
  }

  inject(event: WatchEvent): void {
    for (const w of this.live) w.inject(event);
  }
}

class TestWatch implements WatchStream {
  private readonly inner: WatchStream;
  private readonly iterator: AsyncIterator<WatchEvent>;
  private readonly injected: WatchEvent[] = [];
  private failure: Error | undefined;
  private pending: Promise<IteratorResult<WatchEvent>> | undefined;
  private poke: (() => void) | undefined;
  private readonly onEnd: () => void;

  constructor(inner: WatchStream, onEnd: () => void) {
    this.inner = inner;
    this.iterator = inner[Symbol.asyncIterator]();
    this.onEnd = onEnd;
  }
  inject(event: WatchEvent): void {
    this.injected.push(event);
    this.poke?.();
  }
  fail(error: Error): void {
    this.failure = error;
    this.poke?.();
  }
  stop(): void {
    this.inner.stop();
    this.onEnd();
  }
  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: async () => {
        for (;;) {
          const event = this.injected.shift();
          if (event) return { value: event, done: false };
          if (this.failure) {
            this.stop();
            throw this.failure;
          }
          this.pending ??= this.iterator.next();
          const poked = new Promise<'poked'>((resolve) => { this.poke = () => resolve('poked'); });
          const result = await Promise.race([this.pending, poked]);
          if (result === 'poked') continue;
          this.pending = undefined;
          if (result.done) this.onEnd();
          return result;
        }
      },
      return: async () => {
        this.stop();
        return { value: undefined, done: true };
      },
    };
  }
}

/** Handler calls as readable lines. */
function recordCalls(informer: Informer<ConfigMap>): string[] {
  const calls: string[] = [];
  informer.addEventHandler({
    onAdd: (obj, initial) => calls.push(`add ${objectKey(obj)}${initial ? ' (initial)' : ''}`),
    onUpdate: (old, obj) => calls.push(`update ${objectKey(obj)} ${old.data?.v ?? ''}->${obj.data?.v ?? ''}`),
    onDelete: (obj, unknown) => calls.push(`delete ${objectKey(obj)}${unknown ? ' (final state unknown)' : ''}`),
  });
  return calls;
}

describe('IndexedCache', () => {
  it('keys, namespaces, indexes and re-indexes on change', () => {
    const cache = new IndexedCache<ConfigMap>({ byApp: (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []) });
    cache.upsert({ metadata: { namespace: 'a', name: 'x', labels: { app: 'web' } } });
    cache.upsert({ metadata: { namespace: 'b', name: 'y', labels: { app: 'web' } } });
    cache.upsert({ metadata: { name: 'cluster-wide' } });
    assert.deepEqual(cache.keys().sort(), ['a/x', 'b/y', 'cluster-wide']);
    assert.deepEqual(splitKey('a/x'), ['a', 'x']);
    assert.deepEqual(splitKey('cluster-wide'), ['', 'cluster-wide']);
    assert.equal(cache.get('', 'cluster-wide')?.metadata.name, 'cluster-wide');
    assert.deepEqual(cache.list('a').map(objectKey), ['a/x']);
    assert.deepEqual(cache.byIndex('byApp', 'web').map(objectKey).sort(), ['a/x', 'b/y']);
    cache.upsert({ metadata: { namespace: 'a', name: 'x', labels: { app: 'db' } } });
    assert.deepEqual(cache.byIndex('byApp', 'web').map(objectKey), ['b/y']);
    assert.deepEqual(cache.byIndex('byApp', 'db').map(objectKey), ['a/x']);
    cache.remove('b/y');
    assert.deepEqual(cache.byIndex('byApp', 'web'), []);
    assert.throws(() => cache.byIndex('nope', 'x'), /no index named/);
    const stored = cache.get('a', 'x')!;
    assert.throws(() => { (stored.metadata.labels as Record<string, string>).app = 'changed'; }, TypeError);
  });
});

describe('informer against a real API server', () => {
  let server: InProcessServer;
  let client: RestClient;
  const informers: Informer<ConfigMap>[] = [];
  const informer = (options: Partial<Parameters<typeof createInformer<ConfigMap>>[0]> = {}) => {
    const created = createInformer<ConfigMap>({ client, ref: configmaps, logger: quiet, backoff: { initialMs: 10, maxMs: 100 }, ...options });
    informers.push(created);
    return created;
  };
  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    for (const name of ['inf-a', 'inf-b', 'inf-c', 'inf-d', 'inf-e', 'inf-f']) {
      await client.create({ group: '', version: 'v1', resource: 'namespaces' }, { metadata: { name } });
    }
  });
  after(async () => {
    for (const i of informers) i.stop();
    await client.close();
    await server.close();
  });

  it('syncs the initial list, then tells handlers about adds, updates and deletes', async () => {
    await client.create(inNs('inf-a'), { metadata: { name: 'first' }, data: { v: '1' } });
    const inf = informer({ ref: inNs('inf-a') });
    const calls = recordCalls(inf);
    assert.equal(inf.hasSynced(), false);
    inf.start();
    assert.equal(await inf.waitForSync(), true);
    assert.deepEqual(calls, ['add inf-a/first (initial)']);
    assert.equal(inf.lister.get('inf-a', 'first')?.data?.v, '1');
    assert.equal(inf.lister.get('inf-a', 'first')?.kind, 'ConfigMap');

    await client.create(inNs('inf-a'), { metadata: { name: 'second' }, data: { v: '1' } });
    await client.patch({ ...inNs('inf-a'), name: 'first' }, 'merge', { data: { v: '2' } });
    await client.delete({ ...inNs('inf-a'), name: 'second' });
    await waitFor('three events', () => calls.length === 4);
    assert.deepEqual(calls.slice(1), ['add inf-a/second', 'update inf-a/first 1->2', 'delete inf-a/second']);
    assert.deepEqual(inf.lister.list('inf-a').map(objectKey), ['inf-a/first']);
    assert.equal(inf.lister.list('elsewhere').length, 0);
    assert.ok(Number(inf.lastSyncResourceVersion()) > 0);
    // Cached objects are shared: changing them in place must fail loudly.
    assert.throws(() => { (inf.lister.get('inf-a', 'first')!.data as Record<string, string>).v = 'x'; }, TypeError);
  });

  it('replays the cache to a late handler and stops calling a disposed one', async () => {
    await client.create(inNs('inf-b'), { metadata: { name: 'x' } });
    const inf = informer({ ref: inNs('inf-b') });
    inf.start();
    await inf.waitForSync();
    const late: string[] = [];
    const dispose = inf.addEventHandler({ onAdd: (obj, initial) => late.push(`${obj.metadata.name} ${initial}`), onUpdate: () => late.push('update') });
    assert.deepEqual(late, ['x true']);
    dispose();
    await client.patch({ ...inNs('inf-b'), name: 'x' }, 'merge', { data: { v: '9' } });
    await waitFor('the update in the cache', () => inf.lister.get('inf-b', 'x')?.data?.v === '9');
    assert.deepEqual(late, ['x true']);
  });

  it('relists after the watch breaks and reports what changed meanwhile', async () => {
    const faulty = new FaultyClient(client);
    for (const name of ['keep', 'change', 'vanish']) await client.create(inNs('inf-c'), { metadata: { name }, data: { v: '1' } });
    const inf = informer({ client: faulty.api, ref: inNs('inf-c') });
    const calls = recordCalls(inf);
    inf.start();
    await inf.waitForSync();
    await waitFor('the watch', () => faulty.watches === 1);
    assert.equal(faulty.lists, 1);
    calls.length = 0;

    // Hold the relist until the changes are in, so the informer can only learn of them from the list.
    faulty.holdLists();
    faulty.breakWatches();
    await waitFor('the relist', () => faulty.lists === 2);
    await client.create(inNs('inf-c'), { metadata: { name: 'appear' }, data: { v: '1' } });
    await client.patch({ ...inNs('inf-c'), name: 'change' }, 'merge', { data: { v: '2' } });
    await client.delete({ ...inNs('inf-c'), name: 'vanish' });
    assert.deepEqual(calls, []);
    faulty.releaseLists();
    await waitFor('the differences', () => calls.length === 3);
    assert.deepEqual(calls.sort(), ['add inf-c/appear', 'delete inf-c/vanish (final state unknown)', 'update inf-c/change 1->2']);

    // The new watch starts at the list's version: later changes arrive once, earlier ones are not repeated.
    await waitFor('the new watch', () => faulty.watches === 2);
    await client.delete({ ...inNs('inf-c'), name: 'keep' });
    await waitFor('the delete', () => calls.length === 4);
    await sleep(50);
    assert.deepEqual(calls.slice(3), ['delete inf-c/keep']);
    assert.deepEqual(inf.lister.list().map(objectKey).sort(), ['inf-c/appear', 'inf-c/change']);
  });

  it('relists on a 410 ERROR event and keeps the version of bookmarks', async () => {
    const faulty = new FaultyClient(client);
    const inf = informer({ client: faulty.api, ref: inNs('inf-d') });
    inf.start();
    await inf.waitForSync();
    await waitFor('the watch', () => faulty.watches === 1);
    faulty.inject({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '999999' } } });
    await waitFor('the bookmark version', () => inf.lastSyncResourceVersion() === '999999');
    faulty.inject({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, code: 410, reason: 'Expired', message: 'too old' } });
    await waitFor('the relist', () => faulty.lists === 2 && faulty.watches === 2);
    assert.notEqual(inf.lastSyncResourceVersion(), '999999');
  });

  it('recovers from a dropped connection and keeps delivering events', async () => {
    const inf = informer({ ref: inNs('inf-e') });
    const calls = recordCalls(inf);
    inf.start();
    await inf.waitForSync();
    client.resetConnection();
    await client.create(inNs('inf-e'), { metadata: { name: 'after-drop' } });
    await waitFor('the add after reconnecting', () => calls.includes('add inf-e/after-drop'));
  });

  it('re-watches without relisting when the server ends the watch', async () => {
    const faulty = new FaultyClient(client);
    const inf = informer({ client: faulty.api, ref: inNs('inf-e'), watchTimeoutSeconds: 1 });
    const calls = recordCalls(inf);
    inf.start();
    await inf.waitForSync();
    await waitFor('a second watch', () => faulty.watches >= 2, 4000);
    assert.equal(faulty.lists, 1);
    await client.create(inNs('inf-e'), { metadata: { name: 'late' } });
    await waitFor('the add', () => calls.includes('add inf-e/late'));
  });

  it('resyncs, indexes, and goes quiet after stop()', async () => {
    const inf = informer({
      ref: configmaps,
      resyncMs: 30,
      indexers: { byTier: (o) => (o.metadata.labels?.tier ? [o.metadata.labels.tier] : []) },
    });
    let resyncs = 0;
    inf.addEventHandler({ onUpdate: (old, obj) => { if (old === obj) resyncs++; } });
    const calls = recordCalls(inf);
    inf.start();
    await inf.waitForSync();
    await client.create(inNs('inf-a'), { metadata: { name: 'front', labels: { tier: 'web' } } });
    await client.create(inNs('inf-f'), { metadata: { name: 'front', labels: { tier: 'web' } } });
    await client.create(inNs('inf-f'), { metadata: { name: 'store', labels: { tier: 'db' } } });
    await waitFor('the index', () => inf.lister.byIndex('byTier', 'web').length === 2);
    assert.deepEqual(inf.lister.byIndex('byTier', 'db').map(objectKey), ['inf-f/store']);
    assert.deepEqual(inf.lister.list('inf-f').map(objectKey).sort(), ['inf-f/front', 'inf-f/store']);
    await client.patch({ ...inNs('inf-f'), name: 'store' }, 'merge', { metadata: { labels: { tier: 'web' } } });
    await waitFor('the re-index', () => inf.lister.byIndex('byTier', 'web').length === 3);
    assert.deepEqual(inf.lister.byIndex('byTier', 'db'), []);
    await waitFor('resyncs', () => resyncs > 0);
    inf.stop();
    const seen = calls.length;
    await client.create(inNs('inf-a'), { metadata: { name: 'unseen' } });
    await sleep(100);
    assert.equal(calls.length, seen);
    assert.equal(await inf.waitForSync(), true);
    const never = createInformer<ConfigMap>({ client, ref: configmaps, logger: quiet });
    never.stop();
    assert.equal(await never.waitForSync(), false);
  });
});
