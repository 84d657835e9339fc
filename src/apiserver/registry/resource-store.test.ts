import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { builtinKinds } from '../../api/registry.ts';
import { createMemoryStore } from '../../storage/memory/memory-store.ts';
import type { Store } from '../../storage/interface.ts';
import { ApiError } from '../errors.ts';
import { initializeObjectMeta, ResourceStore, type KubeObject, type WatchEventOut } from './resource-store.ts';

const configmaps = builtinKinds().lookup('', 'v1', 'configmaps')!;
const namespaces = builtinKinds().lookup('', 'v1', 'namespaces')!;

function configMap(name: string, labels: Record<string, string> = {}): KubeObject {
  const object: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', labels }, data: { k: name } };
  initializeObjectMeta(object.metadata);
  return object;
}

describe('ResourceStore', () => {
  let raw: Store;
  let store: ResourceStore;
  before(() => {
    raw = createMemoryStore();
    store = new ResourceStore(raw);
  });
  after(() => raw.close());

  it('keys namespaced and cluster-scoped objects apart and maps errors to Status', async () => {
    assert.equal(store.key(configmaps, 'ns', 'a'), '/registry/core/configmaps/ns/a');
    assert.equal(store.key(namespaces, undefined, 'ns'), '/registry/core/namespaces/ns');
    const created = await store.create(configmaps, configMap('a'));
    assert.ok(Number(created.metadata.resourceVersion) > 0);
    await assert.rejects(store.create(configmaps, configMap('a')), (e: ApiError) => e.code === 409 && e.reason === 'AlreadyExists');
    await assert.rejects(store.get(configmaps, 'ns', 'zz'), (e: ApiError) => e.code === 404 && e.message === 'configmaps "zz" not found');
    await assert.rejects(store.update(configmaps, created, Number(created.metadata.resourceVersion) - 1), (e: ApiError) => e.reason === 'Conflict');
  });

  it('pages filtered lists with continue tokens at one revision', async () => {
    for (let i = 0; i < 12; i++) await store.create(configmaps, configMap(`p${String(i).padStart(2, '0')}`, { even: String(i % 2 === 0) }));
    const filter = (o: KubeObject) => o.metadata.labels?.even === 'true';
    const first = await store.list(configmaps, { namespace: 'ns', filter, limit: 4 });
    assert.deepEqual(first.items.map((o) => o.metadata.name), ['p00', 'p02', 'p04', 'p06']);
    assert.ok(first.continueToken);
    await store.create(configmaps, configMap('p99', { even: 'true' }));
    const second = await store.list(configmaps, { namespace: 'ns', filter, limit: 4, continueToken: first.continueToken });
    assert.deepEqual(second.items.map((o) => o.metadata.name), ['p08', 'p10'], 'the later p99 is not in the snapshot');
    assert.equal(second.continueToken, undefined);
    assert.equal(second.resourceVersion, first.resourceVersion);
    const unfiltered = await store.list(configmaps, { namespace: 'ns', limit: 5 });
    assert.equal(unfiltered.remainingItemCount, 9);
    await assert.rejects(store.list(configmaps, { namespace: 'ns', continueToken: 'garbage!' }), (e: ApiError) => e.code === 400);
  });

  it('translates watch events and applies selector transitions', async () => {
    const from = await store.currentRevision();
    const watch = store.watch(configmaps, { namespace: 'ns', fromRevision: from, filter: (o) => o.metadata.labels?.sel === 'yes' });
    const a = await store.create(configmaps, configMap('w1', { sel: 'yes' }));
    const changed = structuredClone(a);
    changed.metadata.labels = { sel: 'no' };
    const b = await store.update(configmaps, changed, Number(a.metadata.resourceVersion));
    await store.delete(configmaps, 'ns', 'w1', Number(b.metadata.resourceVersion));
    const got: WatchEventOut[] = [];
    for await (const event of watch.events) {
      got.push(event);
      if (got.length === 2) break;
    }
    watch.stop();
    assert.deepEqual(got.map((e) => e.type), ['ADDED', 'DELETED'], 'stops matching → DELETED; the real delete is not seen again');
    assert.equal(got[1].object.metadata.resourceVersion, b.metadata.resourceVersion);
  });

  it('answers 410 Gone for a compacted revision', async () => {
    const current = await store.currentRevision();
    await raw.compact(current - 1);
    assert.throws(() => store.watch(configmaps, { namespace: 'ns', fromRevision: 1 }), (e: ApiError) => e.code === 410 && e.reason === 'Expired');
  });

  it('deletes an object whose last finalizer is removed while it is marked', async () => {
    const held = configMap('held');
    held.metadata.finalizers = ['x/y'];
    const created = await store.create(configmaps, held);
    const marked = structuredClone(created);
    marked.metadata.deletionTimestamp = new Date().toISOString();
    const stored = await store.update(configmaps, marked, Number(created.metadata.resourceVersion));
    const released = structuredClone(stored);
    released.metadata.finalizers = [];
    await store.update(configmaps, released, Number(stored.metadata.resourceVersion));
    await assert.rejects(store.get(configmaps, 'ns', 'held'), (e: ApiError) => e.code === 404);
  });
});
