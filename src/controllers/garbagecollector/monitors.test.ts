import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import type { ApiClient } from '../../client/interface.ts';
import { newClient, waitFor } from '../testing/harness.ts';
import type { ObservedObject } from './graph.ts';
import { Monitors, slimObject } from './monitors.ts';
import { AbsentOwnerCache } from './absent-owners.ts';
import { deletableResources, ResourceMapper, type GcResource } from './resources.ts';

const configMaps: GcResource = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };

describe('metadata-only monitors', () => {
  let server: InProcessServer;
  let client: ApiClient;
  before(async () => {
    server = await startInProcessServer();
    client = newClient(server);
    await client.create({ group: '', version: 'v1', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'm' } });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('the client reads PartialObjectMetadata: no data travels', async () => {
    await client.create({ ...configMaps, namespace: 'm' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big', labels: { a: 'b' } }, data: { key: 'x'.repeat(1000) } });
    const list = await client.list({ ...configMaps, namespace: 'm' }, { metadataOnly: true });
    assert.equal(list.kind, 'PartialObjectMetadataList');
    assert.equal(list.items[0].kind, 'PartialObjectMetadata');
    assert.equal(list.items[0].data, undefined);
    assert.deepEqual(list.items[0].metadata.labels, { a: 'b' });
    const one = await client.get({ ...configMaps, namespace: 'm', name: 'big' }, { metadataOnly: true });
    assert.equal(one.kind, 'PartialObjectMetadata');
    assert.equal(one.data, undefined);
    const whole = await client.get({ ...configMaps, namespace: 'm', name: 'big' });
    assert.equal(whole.kind, 'ConfigMap');
  });

  it('feeds the graph with slim objects from lists and watches, and stops watching a resource removed', async () => {
    const seen: ObservedObject[] = [];
    const deleted: string[] = [];
    const monitors = new Monitors({
      client, logger: { warn() {} },
      graph: { observe: (next) => seen.push(next), observeDeleted: (identity) => deleted.push(identity.name) },
    });
    monitors.sync([configMaps]);
    monitors.start();
    try {
      assert.equal(await monitors.waitForSync(), true);
      assert.ok(seen.some((o) => o.identity.name === 'big' && o.identity.kind === 'ConfigMap' && o.identity.apiVersion === 'v1'));
      const owner = await client.get({ ...configMaps, namespace: 'm', name: 'big' });
      await client.create({ ...configMaps, namespace: 'm' }, {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: { name: 'child', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'big', uid: owner.metadata.uid! }] },
      });
      const child = await waitFor('the child', () => seen.find((o) => o.identity.name === 'child'));
      assert.deepEqual(child.owners.map((r) => r.uid), [owner.metadata.uid]);
      await client.delete({ ...configMaps, namespace: 'm', name: 'child' });
      await waitFor('the deletion', () => deleted.includes('child'));
      assert.deepEqual(monitors.sync([]).removed.map((r) => r.resource), ['configmaps']);
      assert.deepEqual(monitors.resources(), []);
    } finally {
      monitors.stop();
    }
  });

  it('slimObject keeps only what the collector reads', () => {
    const slim = slimObject(configMaps, {
      apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata',
      metadata: {
        name: 'x', namespace: 'n', uid: 'u', resourceVersion: '7', labels: { a: 'b' }, annotations: { c: 'd' }, managedFields: [{}],
        finalizers: ['f'], ownerReferences: [], deletionTimestamp: '2020-01-01T00:00:00Z',
      },
    });
    assert.deepEqual(slim, {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'n', uid: 'u', resourceVersion: '7', finalizers: ['f'], deletionTimestamp: '2020-01-01T00:00:00Z' },
    });
  });

  it('the deletable resources: listable, watchable, deletable, events ignored; the mapper knows every built-in kind', () => {
    const keys = deletableResources().map((r) => `${r.group}/${r.resource}`);
    for (const expected of ['/pods', '/configmaps', 'apps/deployments', 'apps/replicasets', 'batch/jobs', 'rbac.authorization.k8s.io/clusterroles']) {
      assert.ok(keys.includes(expected), expected);
    }
    assert.ok(!keys.includes('/events') && !keys.includes('events.k8s.io/events'));
    assert.ok(!keys.includes('authorization.k8s.io/subjectaccessreviews'));
    const mapper = new ResourceMapper();
    assert.equal(mapper.resolve('apps/v1', 'ReplicaSet')?.resource, 'replicasets');
    assert.equal(mapper.resolve('v1', 'Node')?.namespaced, false);
    assert.equal(mapper.resolve('example.com/v1', 'Widget'), undefined);
    mapper.add({ group: 'example.com', version: 'v1', resource: 'widgets', kind: 'Widget', namespaced: true });
    assert.equal(mapper.resolve('example.com/v1', 'Widget')?.resource, 'widgets');
  });

  it('the absent-owner cache forgets the least recently used first', () => {
    const cache = new AbsentOwnerCache(2);
    const id = (uid: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'n', name: uid, uid });
    cache.add(id('a'));
    cache.add(id('b'));
    assert.equal(cache.has(id('a')), true);
    cache.add(id('c'));
    assert.equal(cache.has(id('b')), false);
    assert.equal(cache.has(id('a')), true);
    assert.equal(cache.has({ ...id('a'), namespace: 'other' }), false);
  });
});
