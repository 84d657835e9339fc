// Upstream API semantics that kubectl alone does not expose, checked with raw
// HTTP requests against one real `skiff server`: server-set metadata and
// generation, the status and scale subresources, dryRun, finalizers, paged
// and filtered lists, watch streams (replay, initial events, bookmarks,
// timeouts, selector transitions, Tables), Table/PartialObjectMetadata
// renderings, bootstrap objects, Service IP and node port allocation, and
// both HTTP/1.1 and HTTP/2. Error Status objects are in api-errors.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';
import { configMap, createNamespace, expectStatus, ok, RawClient, type Protocol, type WatchStream } from './raw-client.ts';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';
const PARTIAL_LIST = 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const cms = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;
const DEPS = '/apis/apps/v1/namespaces/sem/deployments';
const rv = (o: any) => Number(o.metadata.resourceVersion);
const names = (list: any) => list.items.map((o: any) => o.metadata.name);

const deployment = (name: string, replicas = 1) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: {
    replicas, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } },
  },
});
const pod = (name: string, nodeName?: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'main', image: 'busybox:1.36' }] },
});
const service = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
});
const secret = (name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', data: { k: 'dg==' } });

/** Wait for a watch to end (bounded). */
async function endedWithin(watch: WatchStream, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`watch did not end within ${ms} ms`)), ms)));
  try {
    await Promise.race([watch.ended, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('API semantics over raw HTTP', () => {
  let server: ServerHandle;
  let api: RawClient;

  before(async () => {
    server = await startServer({ apiOnly: true });
    api = new RawClient({ port: server.port, dataDir: server.dataDir });
    for (const ns of ['sem', 'paging', 'sel', 'fields', 'w-replay', 'w-initial', 'w-label', 'w-table', 'svcs', 'proto']) await createNamespace(api, ns);
  });
  after(async () => {
    await api?.close();
    await server?.stop();
  });

  it('create sets server-owned metadata: generateName suffix, uid, creationTimestamp, resourceVersion', async () => {
    const gen = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } };
    const a = ok(await api.post(cms('sem'), gen), 201);
    const b = ok(await api.post(cms('sem'), gen), 201);
    for (const o of [a, b]) {
      assert.match(o.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(o.metadata.generateName, 'gen-');
      assert.match(o.metadata.uid, UUID);
      assert.match(o.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(o.metadata.resourceVersion, /^[1-9]\d*$/);
      assert.deepEqual(ok(await api.get(`${cms('sem')}/${o.metadata.name}`), 200).metadata, o.metadata);
    }
    assert.notEqual(a.metadata.name, b.metadata.name);
    assert.notEqual(a.metadata.uid, b.metadata.uid);
    assert.ok(rv(b) > rv(a));
    // Client-supplied uid and creationTimestamp are replaced.
    const forged = ok(await api.post(cms('sem'), { ...configMap('forged'), metadata: { name: 'forged', uid: 'mine', creationTimestamp: '2001-01-01T00:00:00Z' } }), 201);
    assert.match(forged.metadata.uid, UUID);
    assert.notEqual(forged.metadata.creationTimestamp, '2001-01-01T00:00:00Z');
  });

  it('generation: 1 on create, unchanged by metadata-only updates, +1 per spec change; resourceVersion only grows', async () => {
    const created = ok(await api.post(DEPS, deployment('gen')), 201);
    assert.equal(created.metadata.generation, 1);
    const labelled = ok(await api.put(`${DEPS}/gen`, { ...created, metadata: { ...created.metadata, labels: { ...created.metadata.labels, extra: 'yes' } } }), 200);
    assert.equal(labelled.metadata.labels.extra, 'yes');
    assert.equal(labelled.metadata.generation, 1);
    const noop = ok(await api.put(`${DEPS}/gen`, labelled), 200);
    assert.equal(noop.metadata.resourceVersion, labelled.metadata.resourceVersion, 'a no-op update writes nothing');
    const scaled = ok(await api.put(`${DEPS}/gen`, { ...labelled, spec: { ...labelled.spec, replicas: 3 } }), 200);
    assert.equal(scaled.metadata.generation, 2);
    const smp = { spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] } } } };
    const patched = ok(await api.patch(`${DEPS}/gen`, smp, 'application/strategic-merge-patch+json'), 200);
    assert.equal(patched.metadata.generation, 3);
    assert.equal(patched.spec.template.spec.containers[0].image, 'busybox:1.37');
    const annotated = ok(await api.patch(`${DEPS}/gen`, { metadata: { annotations: { note: 'x' } } }), 200);
    assert.equal(annotated.metadata.generation, 3);
    const versions = [created, labelled, scaled, patched, annotated].map(rv);
    for (let i = 1; i < versions.length; i++) assert.ok(versions[i] > versions[i - 1], `resourceVersions increase: ${versions}`);
    for (const o of [labelled, scaled, patched, annotated]) {
      assert.equal(o.metadata.uid, created.metadata.uid);
      assert.equal(o.metadata.creationTimestamp, created.metadata.creationTimestamp);
    }
  });

  it('kinds whose strategy tracks no generation (ConfigMap) carry no metadata.generation', async () => {
    const created = ok(await api.post(cms('sem'), configMap('nogen', { k: '1' })), 201);
    assert.equal(created.metadata.generation, undefined, 'upstream sets generation only for kinds whose strategy does (Deployment …)');
    const updated = ok(await api.put(`${cms('sem')}/nogen`, { ...created, data: { k: '2' } }), 200);
    assert.equal(updated.metadata.generation, undefined);
  });

  it('status subresource: PUT/PATCH /status change status only; the main resource ignores status', async () => {
    const d = ok(await api.post(DEPS, deployment('st')), 201);
    const statusPut = {
      ...d, metadata: { ...d.metadata, labels: { ...d.metadata.labels, sneaky: 'yes' } },
      spec: { ...d.spec, replicas: 7 }, status: { observedGeneration: 1, replicas: 2, readyReplicas: 1 },
    };
    const s1 = ok(await api.put(`${DEPS}/st/status`, statusPut), 200);
    assert.equal(s1.kind, 'Deployment');
    assert.equal(s1.spec.replicas, 1, 'spec sent to /status is ignored');
    assert.equal(s1.metadata.labels.sneaky, undefined, 'labels sent to /status are ignored');
    assert.equal(s1.status.replicas, 2);
    assert.equal(s1.metadata.generation, 1);
    assert.ok(rv(s1) > rv(d));
    const got = ok(await api.get(`${DEPS}/st`), 200);
    assert.equal(got.spec.replicas, 1);
    assert.equal(got.status.replicas, 2);
    assert.equal(ok(await api.get(`${DEPS}/st/status`), 200).status.replicas, 2);

    const main = ok(await api.put(`${DEPS}/st`, { ...got, metadata: { ...got.metadata, labels: { ...got.metadata.labels, touched: 'yes' } }, status: { replicas: 99 } }), 200);
    assert.equal(main.metadata.labels.touched, 'yes');
    assert.equal(main.status.replicas, 2, 'status sent to the main resource is ignored');
    assert.equal(ok(await api.patch(`${DEPS}/st`, { status: { replicas: 42 } }), 200).status.replicas, 2);
    const s2 = ok(await api.patch(`${DEPS}/st/status`, { spec: { replicas: 9 }, status: { availableReplicas: 1 } }), 200);
    assert.equal(s2.status.availableReplicas, 1);
    assert.equal(s2.status.replicas, 2);
    assert.equal(s2.spec.replicas, 1);
  });

  it('scale subresource: GET/PUT/PATCH speak autoscaling/v1 Scale and change spec.replicas', async () => {
    ok(await api.post(DEPS, deployment('sc')), 201);
    const scale = ok(await api.get(`${DEPS}/sc/scale`), 200);
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.apiVersion, 'autoscaling/v1');
    assert.equal(scale.metadata.name, 'sc');
    assert.equal(scale.metadata.namespace, 'sem');
    assert.equal(scale.spec.replicas, 1);
    assert.equal(scale.status.replicas, 0);
    assert.equal(scale.status.selector, 'app=sc');
    const body = { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'sc', namespace: 'sem' }, spec: { replicas: 4 } };
    const put = ok(await api.put(`${DEPS}/sc/scale`, body), 200);
    assert.equal(put.kind, 'Scale');
    assert.equal(put.spec.replicas, 4);
    const dep = ok(await api.get(`${DEPS}/sc`), 200);
    assert.equal(dep.spec.replicas, 4);
    assert.equal(dep.metadata.generation, 2);
    assert.equal(ok(await api.patch(`${DEPS}/sc/scale`, { spec: { replicas: 2 } }), 200).spec.replicas, 2);
    const stale = { ...body, metadata: { ...body.metadata, resourceVersion: scale.metadata.resourceVersion }, spec: { replicas: 5 } };
    expectStatus(await api.put(`${DEPS}/sc/scale`, stale), 409, 'Conflict', /^Operation cannot be fulfilled on deployments\.apps "sc": the object has been modified/);
    assert.equal(ok(await api.get(`${DEPS}/sc`), 200).spec.replicas, 2);
    assert.equal((await api.get(`${cms('sem')}/forged/scale`)).status, 404);
  });

  it('dryRun=All on create, update, patch and delete returns the would-be result and persists nothing', async () => {
    const P = cms('sem');
    const dry = ok(await api.post(P, configMap('dry', { k: 'v' }), '?dryRun=All'), 201);
    assert.equal(dry.metadata.name, 'dry');
    assert.match(dry.metadata.uid, UUID);
    assert.deepEqual(dry.data, { k: 'v' });
    expectStatus(await api.get(`${P}/dry`), 404, 'NotFound');

    const real = ok(await api.post(P, configMap('dry', { k: 'v' })), 201);
    const listRv = ok(await api.get(P), 200).metadata.resourceVersion;
    assert.deepEqual(ok(await api.put(`${P}/dry`, { ...real, data: { k: 'put' } }, '?dryRun=All'), 200).data, { k: 'put' });
    const patched = ok(await api.request({ method: 'PATCH', path: `${P}/dry?dryRun=All`, body: { data: { k: 'patched' } }, contentType: 'application/merge-patch+json' }), 200);
    assert.deepEqual(patched.data, { k: 'patched' });
    ok(await api.delete(`${P}/dry`, undefined, '?dryRun=All'), 200);
    const after = ok(await api.get(`${P}/dry`), 200);
    assert.deepEqual(after.data, { k: 'v' });
    assert.equal(after.metadata.resourceVersion, real.metadata.resourceVersion);
    assert.equal(ok(await api.get(P), 200).metadata.resourceVersion, listRv, 'no revision was written');
  });

  it('finalizers: DELETE only marks the object; removing the last finalizer deletes it', async () => {
    const P = cms('sem');
    ok(await api.post(P, { ...configMap('fin'), metadata: { name: 'fin', finalizers: ['example.com/hold'] } }), 201);
    const marked = ok(await api.delete(`${P}/fin`), 200);
    assert.equal(marked.kind, 'ConfigMap', 'the marked object is returned');
    assert.match(marked.metadata.deletionTimestamp ?? '', /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(marked.metadata.finalizers, ['example.com/hold']);
    const held = ok(await api.get(`${P}/fin`), 200);
    assert.equal(held.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
    const again = ok(await api.delete(`${P}/fin`), 200);
    assert.equal(again.metadata.deletionTimestamp, marked.metadata.deletionTimestamp);
    ok(await api.patch(`${P}/fin`, { metadata: { finalizers: null } }), 200);
    expectStatus(await api.get(`${P}/fin`), 404, 'NotFound', 'configmaps "fin" not found');
  });

  it('list: limit + continue page through a consistent snapshot with remainingItemCount', async () => {
    const P = '/api/v1/namespaces/paging/secrets';
    const all = Array.from({ length: 25 }, (_, i) => `s-${String(i).padStart(2, '0')}`);
    for (const name of all) ok(await api.post(P, secret(name)), 201);
    const p1 = ok(await api.get(`${P}?limit=10`), 200);
    assert.deepEqual(names(p1), all.slice(0, 10));
    assert.ok(p1.metadata.continue, 'a continue token');
    assert.equal(p1.metadata.remainingItemCount, 15);
    const snapshot = p1.metadata.resourceVersion;
    // Changes after the first page are not seen by the later pages.
    ok(await api.post(P, secret('s-99')), 201);
    ok(await api.delete(`${P}/s-15`), 200);
    const p2 = ok(await api.get(`${P}?limit=10&continue=${encodeURIComponent(p1.metadata.continue)}`), 200);
    assert.deepEqual(names(p2), all.slice(10, 20));
    assert.equal(p2.metadata.resourceVersion, snapshot);
    assert.equal(p2.metadata.remainingItemCount, 5);
    const p3 = ok(await api.get(`${P}?limit=10&continue=${encodeURIComponent(p2.metadata.continue)}`), 200);
    assert.deepEqual(names(p3), all.slice(20));
    assert.equal(p3.metadata.resourceVersion, snapshot);
    assert.equal(p3.metadata.continue, undefined);
    assert.equal(p3.metadata.remainingItemCount, undefined);
    const fresh = ok(await api.get(P), 200);
    assert.deepEqual(names(fresh), [...all.filter((n) => n !== 's-15'), 's-99']);
    assert.ok(Number(fresh.metadata.resourceVersion) > Number(snapshot));
  });

  it('labelSelector supports =, ==, !=, in, notin, exists and !key', async () => {
    const P = cms('sel');
    const labels: Record<string, Record<string, string>> = {
      a: { set: 'sel', tier: 'web', env: 'prod' }, b: { set: 'sel', tier: 'db', env: 'prod' }, c: { set: 'sel', tier: 'cache' }, d: { set: 'sel' },
    };
    for (const [name, l] of Object.entries(labels)) ok(await api.post(P, configMap(name, { k: name }, l)), 201);
    const cases: [string, string[]][] = [
      ['set=sel', ['a', 'b', 'c', 'd']], ['tier=web', ['a']], ['tier==web', ['a']], ['set=sel,tier!=web', ['b', 'c', 'd']],
      ['tier in (web,db)', ['a', 'b']], ['tier in (web, cache)', ['a', 'c']], ['set=sel,tier notin (web,db)', ['c', 'd']],
      ['env', ['a', 'b']], ['set=sel,!env', ['c', 'd']], ['tier,!env', ['c']], ['tier=web,env=prod', ['a']], ['set=sel,env!=prod', ['c', 'd']],
    ];
    for (const [selector, want] of cases) {
      const list = ok(await api.get(`${P}?labelSelector=${encodeURIComponent(selector)}`), 200);
      assert.deepEqual(names(list).sort(), want, selector);
    }
    assert.deepEqual(names(ok(await api.get(`${P}?fieldSelector=metadata.name%3Db`), 200)), ['b']);
    assert.deepEqual(names(ok(await api.get(`${P}?labelSelector=set%3Dsel&fieldSelector=metadata.name!%3Db`), 200)).sort(), ['a', 'c', 'd']);
  });

  it('fieldSelector on pods: spec.nodeName and status.phase', async () => {
    const P = '/api/v1/namespaces/fields/pods';
    ok(await api.post(P, pod('p1', 'n1')), 201);
    const p2 = ok(await api.post(P, pod('p2', 'n2')), 201);
    ok(await api.post(P, pod('p3')), 201);
    assert.equal(ok(await api.put(`${P}/p2/status`, { ...p2, status: { ...p2.status, phase: 'Running' } }), 200).status.phase, 'Running');
    const cases: [string, string[]][] = [
      ['spec.nodeName=n1', ['p1']], ['spec.nodeName=', ['p3']], ['spec.nodeName!=n1', ['p2', 'p3']],
      ['status.phase=Running', ['p2']], ['status.phase=Pending', ['p1', 'p3']], ['spec.nodeName=n2,status.phase=Running', ['p2']],
      ['metadata.name=p3', ['p3']],
    ];
    for (const [selector, want] of cases) {
      assert.deepEqual(names(ok(await api.get(`${P}?fieldSelector=${encodeURIComponent(selector)}`), 200)).sort(), want, selector);
    }
    const clusterWide = ok(await api.get(`/api/v1/pods?fieldSelector=${encodeURIComponent('spec.nodeName=n1')}`), 200);
    assert.deepEqual(clusterWide.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`), ['fields/p1']);
  });

  it('watch from a resourceVersion replays later events in order, then streams new ones', async () => {
    const P = cms('w-replay');
    const start = ok(await api.get(P), 200).metadata.resourceVersion;
    const created = ok(await api.post(P, configMap('w1', { n: '1' })), 201);
    const updated = ok(await api.put(`${P}/w1`, { ...created, data: { n: '2' } }), 200);
    ok(await api.delete(`${P}/w1`), 200);
    const watch = await api.watch(`${P}?watch=1&resourceVersion=${start}&timeoutSeconds=20`);
    try {
      const events = await watch.take(3);
      assert.deepEqual(events.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      for (const e of events) {
        assert.equal(e.object.kind, 'ConfigMap');
        assert.equal(e.object.apiVersion, 'v1');
        assert.equal(e.object.metadata.name, 'w1');
      }
      assert.deepEqual(events.map((e) => e.object.data.n), ['1', '2', '2']);
      assert.equal(events[0].object.metadata.resourceVersion, created.metadata.resourceVersion);
      assert.equal(events[1].object.metadata.resourceVersion, updated.metadata.resourceVersion);
      assert.ok(rv(events[2].object) > rv(updated), 'DELETED carries the deletion revision');
      const live = ok(await api.post(P, configMap('w2')), 201);
      const next = await watch.next();
      assert.equal(next?.type, 'ADDED');
      assert.equal(next?.object.metadata.resourceVersion, live.metadata.resourceVersion);
    } finally {
      watch.close();
    }
  });

  it('watch without resourceVersion starts with ADDED for every current object', async () => {
    const P = cms('w-initial');
    for (const name of ['i1', 'i2']) ok(await api.post(P, configMap(name)), 201);
    const watch = await api.watch(`${P}?watch=1&timeoutSeconds=20`);
    try {
      const initial = await watch.take(2);
      assert.deepEqual(initial.map((e) => e.type), ['ADDED', 'ADDED']);
      assert.deepEqual(initial.map((e) => e.object.metadata.name).sort(), ['i1', 'i2']);
      ok(await api.post(P, configMap('i3')), 201);
      const next = await watch.next();
      assert.equal(next?.type, 'ADDED');
      assert.equal(next?.object.metadata.name, 'i3');
    } finally {
      watch.close();
    }
  });

  it('sendInitialEvents ends the initial ADDED events with an initial-events-end BOOKMARK', async () => {
    const P = cms('w-initial');
    ok(await api.post(P, configMap('i4')), 201);
    const current = names(ok(await api.get(P), 200));
    const watch = await api.watch(`${P}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=20`);
    try {
      const events = await watch.take(current.length + 1);
      assert.deepEqual(events.map((e) => e.type), [...current.map(() => 'ADDED'), 'BOOKMARK']);
      assert.deepEqual(events.slice(0, -1).map((e) => e.object.metadata.name).sort(), [...current].sort());
      const bookmark = events[current.length].object;
      assert.equal(bookmark.kind, 'ConfigMap');
      assert.equal(bookmark.apiVersion, 'v1');
      assert.deepEqual(bookmark.metadata.annotations, { 'k8s.io/initial-events-end': 'true' });
      assert.ok(rv(bookmark) >= Math.max(...events.slice(0, -1).map((e) => rv(e.object))));
    } finally {
      watch.close();
    }
  });

  it('timeoutSeconds ends the watch stream', async () => {
    const started = Date.now();
    const watch = await api.watch(`${cms('w-initial')}?watch=1&timeoutSeconds=1&resourceVersion=${ok(await api.get(cms('w-initial')), 200).metadata.resourceVersion}`);
    await endedWithin(watch, 5000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 5000, `ended after ${elapsed} ms`);
    assert.equal(await watch.next(10), undefined);
  });

  it('a labelSelector watch sends DELETED (with the last matching state) when an object stops matching', async () => {
    const P = cms('w-label');
    ok(await api.post(P, configMap('o1', { n: '1' }, { app: 'watched' })), 201);
    ok(await api.post(P, configMap('o2', { n: '1' }, { app: 'other' })), 201);
    const watch = await api.watch(`${P}?watch=1&labelSelector=app%3Dwatched&timeoutSeconds=20`);
    try {
      const first = await watch.next();
      assert.equal(first?.type, 'ADDED');
      assert.equal(first?.object.metadata.name, 'o1');
      const moved = ok(await api.patch(`${P}/o1`, { metadata: { labels: { app: 'other' } } }), 200);
      const gone = await watch.next();
      assert.equal(gone?.type, 'DELETED');
      assert.equal(gone?.object.metadata.name, 'o1');
      assert.equal(gone?.object.metadata.resourceVersion, moved.metadata.resourceVersion);
      assert.equal(gone?.object.metadata.labels.app, 'watched', 'upstream sends the previous (matching) object content');
      ok(await api.patch(`${P}/o2`, { data: { n: '2' } }), 200);
      ok(await api.patch(`${P}/o1`, { metadata: { labels: { app: 'watched' } } }), 200);
      const back = await watch.next();
      assert.equal(back?.type, 'ADDED', 'the change to the non-matching o2 is not sent');
      assert.equal(back?.object.metadata.name, 'o1');
    } finally {
      watch.close();
    }
  });

  it('watch as Table: one row per event, columnDefinitions on the first', async () => {
    const P = cms('w-table');
    for (const name of ['t1', 't2']) ok(await api.post(P, configMap(name, { a: '1', b: '2' })), 201);
    const watch = await api.watch(`${P}?watch=1&timeoutSeconds=20`, TABLE);
    try {
      assert.match(String(watch.headers['content-type']), /as=Table/);
      ok(await api.post(P, configMap('t3')), 201);
      const events = await watch.take(3);
      for (const e of events) {
        assert.equal(e.type, 'ADDED');
        assert.equal(e.object.kind, 'Table');
        assert.equal(e.object.apiVersion, 'meta.k8s.io/v1');
        assert.equal(e.object.rows.length, 1);
        assert.equal(e.object.rows[0].object.kind, 'PartialObjectMetadata');
      }
      assert.deepEqual(events[0].object.columnDefinitions.map((c: any) => c.name), ['Name', 'Data', 'Age']);
      assert.ok(!events[1].object.columnDefinitions?.length, 'later events omit the column definitions');
      assert.deepEqual(events.map((e) => e.object.rows[0].cells[0]).sort(), ['t1', 't2', 't3']);
    } finally {
      watch.close();
    }
  });

  it('lists as Table (includeObject Object/Metadata/None) and as PartialObjectMetadataList', async () => {
    const P = cms('sel'); // a, b, c, d from the labelSelector test
    const full = await api.get(`${P}?includeObject=Object`, TABLE);
    assert.match(String(full.headers['content-type']), /as=Table/);
    assert.equal(full.json.kind, 'Table');
    assert.equal(full.json.apiVersion, 'meta.k8s.io/v1');
    assert.ok(full.json.metadata.resourceVersion);
    assert.deepEqual(full.json.columnDefinitions.map((c: any) => c.name), ['Name', 'Data', 'Age']);
    assert.deepEqual(full.json.rows.map((r: any) => r.cells.slice(0, 2)), [['a', 1], ['b', 1], ['c', 1], ['d', 1]]);
    assert.equal(full.json.rows[0].object.kind, 'ConfigMap');
    assert.deepEqual(full.json.rows[0].object.data, { k: 'a' });
    const meta = ok(await api.get(P, TABLE), 200);
    assert.equal(meta.rows[0].object.kind, 'PartialObjectMetadata');
    assert.equal(meta.rows[0].object.metadata.name, 'a');
    const none = ok(await api.get(`${P}?includeObject=None`, TABLE), 200);
    assert.equal(none.rows.length, 4);
    for (const row of none.rows) assert.ok(row.object == null, 'no object with includeObject=None');
    assert.equal(ok(await api.get(`${P}/b`, TABLE), 200).rows[0].cells[0], 'b');

    const partial = await api.get(P, PARTIAL_LIST);
    assert.match(String(partial.headers['content-type']), /as=PartialObjectMetadataList/);
    assert.equal(partial.json.kind, 'PartialObjectMetadataList');
    assert.equal(partial.json.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(names(partial.json), ['a', 'b', 'c', 'd']);
    for (const item of partial.json.items) {
      assert.equal(item.kind, 'PartialObjectMetadata');
      assert.equal(item.data, undefined);
      assert.equal(item.metadata.labels.set, 'sel');
    }
  });

  it('bootstrap: the system namespaces and the kubernetes Service exist', async () => {
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      assert.equal(ok(await api.get(`/api/v1/namespaces/${name}`), 200).status.phase, 'Active', name);
    }
    const svc = ok(await api.get('/api/v1/namespaces/default/services/kubernetes'), 200);
    assert.equal(svc.spec.clusterIP, '10.43.0.1');
    assert.deepEqual(svc.spec.clusterIPs, ['10.43.0.1']);
    assert.equal(svc.spec.ports.length, 1);
    assert.equal(svc.spec.ports[0].port, 443);
    assert.equal(svc.spec.ports[0].name, 'https');
    const endpoints = ok(await api.get('/api/v1/namespaces/default/endpoints/kubernetes'), 200);
    assert.equal(endpoints.subsets[0].ports[0].port, server.port);
  });

  it('Services: unique ClusterIPs, taken IPs and node ports are 422, delete frees the IP, dryRun holds nothing', async () => {
    const P = '/api/v1/namespaces/svcs/services';
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => api.post(P, service(`svc-${i}`))));
    const ips = created.map((r) => ok(r, 201).spec.clusterIP as string);
    for (const [i, r] of created.entries()) assert.deepEqual(r.json.spec.clusterIPs, [ips[i]]);
    for (const ip of ips) assert.match(ip, /^10\.43\.\d{1,3}\.\d{1,3}$/);
    assert.equal(new Set(ips).size, 20, `unique: ${ips}`);
    assert.ok(!ips.includes('10.43.0.1'));

    const taken = ips[0];
    const dup = expectStatus(await api.post(P, service('svc-dup', { clusterIP: taken })), 422, 'Invalid',
      `Service "svc-dup" is invalid: spec.clusterIPs: Invalid value: []string{"${taken}"}: failed to allocate IP ${taken}: provided IP is already allocated`);
    assert.equal(dup.details.name, 'svc-dup');
    assert.equal(dup.details.kind, 'Service');
    assert.equal(dup.details.causes[0].field, 'spec.clusterIPs');
    expectStatus(await api.get(`${P}/svc-dup`), 404, 'NotFound');
    expectStatus(await api.post(P, service('svc-out', { clusterIP: '10.99.0.5' })), 422, 'Invalid', /^Service "svc-out" is invalid: spec\.clusterIPs: .*not in the valid range/);

    const np = ok(await api.post(P, service('np-1', { type: 'NodePort' })), 201);
    const port = np.spec.ports[0].nodePort;
    assert.ok(Number.isInteger(port) && port >= 30000 && port <= 32767, `nodePort ${port}`);
    const withPort = (nodePort: number) => ({ type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort }] });
    const npDup = expectStatus(await api.post(P, service('np-2', withPort(port))), 422, 'Invalid',
      `Service "np-2" is invalid: spec.ports[0].nodePort: Invalid value: ${port}: provided port is already allocated`);
    assert.equal(npDup.details.causes[0].field, 'spec.ports[0].nodePort');
    const free = port === 32767 ? 30000 : port + 1;
    assert.equal(ok(await api.post(P, service('np-3', withPort(free))), 201).spec.ports[0].nodePort, free);

    ok(await api.delete(`${P}/svc-0`), 200);
    assert.equal(ok(await api.post(P, service('svc-reuse', { clusterIP: taken })), 201).spec.clusterIP, taken);
    ok(await api.delete(`${P}/np-1`), 200);
    assert.equal(ok(await api.post(P, service('np-4', withPort(port))), 201).spec.ports[0].nodePort, port);

    const ip = '10.43.250.250';
    assert.equal(ok(await api.post(P, service('svc-dry', { clusterIP: ip }), '?dryRun=All'), 201).spec.clusterIP, ip);
    expectStatus(await api.get(`${P}/svc-dry`), 404, 'NotFound');
    assert.equal(ok(await api.post(P, service('svc-after-dry', { clusterIP: ip })), 201).spec.clusterIP, ip);
  });

  it('HTTP/2 and HTTP/1.1 both serve requests and watches', async () => {
    const P = cms('proto');
    for (const protocol of ['h2', 'http/1.1'] as Protocol[]) {
      const client = new RawClient({ port: server.port, dataDir: server.dataDir, protocol });
      const name = protocol === 'h2' ? 'via-h2' : 'via-h1';
      try {
        const version = await client.get('/version');
        assert.equal(version.httpVersion, protocol === 'h2' ? '2.0' : '1.1');
        assert.equal(version.json.minor, '36');
        const created = ok(await client.post(P, configMap(name, { n: '1' })), 201);
        const watch = await client.watch(`${P}?watch=1&fieldSelector=metadata.name%3D${name}&timeoutSeconds=2`);
        if (protocol === 'http/1.1') assert.equal(watch.headers['transfer-encoding'], 'chunked');
        assert.equal((await watch.next())?.type, 'ADDED');
        ok(await client.put(`${P}/${name}`, { ...created, data: { n: '2' } }), 200);
        const modified = await watch.next();
        assert.equal(modified?.type, 'MODIFIED');
        assert.equal(modified?.object.data.n, '2');
        ok(await client.delete(`${P}/${name}`), 200);
        assert.equal((await watch.next())?.type, 'DELETED');
        await endedWithin(watch, 6000);
        expectStatus(await client.get(`${P}/${name}`), 404, 'NotFound');
      } finally {
        await client.close();
      }
    }
  });
});
