import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isNotFound, resources, type ApiClient, type KubeObject, type OwnerReference } from '../../client/interface.ts';
import { createSharedInformers } from '../framework/informers.ts';
import { quietLogger, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { GarbageCollector } from './controller.ts';
import { deletableResources } from './resources.ts';

const configMaps = { group: '', version: 'v1', resource: 'configmaps' };
const clusterRoles = { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles' };
const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };
const replicaSets = { group: 'apps', version: 'v1', resource: 'replicasets' };
const TIMEOUT = 20_000;

const ownerRef = (owner: KubeObject, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: owner.apiVersion!, kind: owner.kind!, name: owner.metadata.name!, uid: owner.metadata.uid!, ...extra,
});

async function createConfigMap(client: ApiClient, namespace: string, name: string, more: { owners?: OwnerReference[]; finalizers?: string[] } = {}) {
  return client.create({ ...configMaps, namespace }, {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, namespace, ownerReferences: more.owners, finalizers: more.finalizers },
  });
}

async function exists(client: ApiClient, ref: { group: string; version: string; resource: string }, namespace: string | undefined, name: string) {
  try {
    return await client.get({ ...ref, namespace, name });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

const gone = (client: ApiClient, namespace: string, name: string) =>
  waitFor(`configmap ${namespace}/${name} to be deleted`, async () => !(await exists(client, configMaps, namespace, name)), TIMEOUT);

describe('garbage collector', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ controllers: 'garbagecollector' });
  });
  after(async () => {
    await h.stop();
  });

  it('background: deletes dependents whose every owner is gone; only drops the dangling reference of one with a live owner', async () => {
    const ns = await h.namespace('gc-background');
    const owner = await createConfigMap(h.client, ns, 'owner');
    const other = await createConfigMap(h.client, ns, 'other');
    await createConfigMap(h.client, ns, 'only-child', { owners: [ownerRef(owner)] });
    await createConfigMap(h.client, ns, 'shared-child', { owners: [ownerRef(owner), ownerRef(other)] });
    await h.client.delete({ ...configMaps, namespace: ns, name: 'owner' }, { propagationPolicy: 'Background' });
    await gone(h.client, ns, 'only-child');
    const shared = await waitFor('the dangling reference to be dropped', async () => {
      const cm = await h.client.get({ ...configMaps, namespace: ns, name: 'shared-child' });
      return cm.metadata.ownerReferences?.length === 1 ? cm : undefined;
    }, TIMEOUT);
    assert.equal(shared.metadata.ownerReferences![0].uid, other.metadata.uid);
  });

  it('deletes an object whose owner never existed or was replaced by another uid, and keeps one whose owner exists', async () => {
    const ns = await h.namespace('gc-virtual');
    const live = await createConfigMap(h.client, ns, 'live');
    await createConfigMap(h.client, ns, 'kept', { owners: [ownerRef(live)] });
    await createConfigMap(h.client, ns, 'orphaned', { owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'never', uid: 'no-such-uid' }] });
    // Same name as a live object, another uid: its owner is gone.
    await createConfigMap(h.client, ns, 'stale', { owners: [{ ...ownerRef(live), uid: 'old-uid-of-live' }] });
    await gone(h.client, ns, 'orphaned');
    await gone(h.client, ns, 'stale');
    assert.ok(await exists(h.client, configMaps, ns, 'kept'));
  });

  it('foreground: the owner stays, marked, while a blocking dependent exists; then it goes', async () => {
    const ns = await h.namespace('gc-foreground');
    const owner = await createConfigMap(h.client, ns, 'owner');
    await createConfigMap(h.client, ns, 'blocker', { owners: [ownerRef(owner, { blockOwnerDeletion: true })], finalizers: ['test.skiff.dev/hold'] });
    await createConfigMap(h.client, ns, 'free', { owners: [ownerRef(owner)] });
    const marked = await h.client.delete({ ...configMaps, namespace: ns, name: 'owner' }, { propagationPolicy: 'Foreground' }) as KubeObject;
    assert.ok(marked.metadata.deletionTimestamp);
    assert.deepEqual(marked.metadata.finalizers, ['foregroundDeletion']);
    // Every dependent is deleted; the one held by its own finalizer blocks the owner.
    await gone(h.client, ns, 'free');
    await waitFor('the blocker to be marked for deletion', async () => (await exists(h.client, configMaps, ns, 'blocker'))?.metadata.deletionTimestamp, TIMEOUT);
    const waiting = await h.client.get({ ...configMaps, namespace: ns, name: 'owner' });
    assert.deepEqual(waiting.metadata.finalizers, ['foregroundDeletion']);
    await h.client.patch({ ...configMaps, namespace: ns, name: 'blocker' }, 'merge', { metadata: { finalizers: null } });
    await gone(h.client, ns, 'blocker');
    await gone(h.client, ns, 'owner');
  });

  it('orphan: dependents stay without their reference to the owner, and the owner goes', async () => {
    const ns = await h.namespace('gc-orphan');
    const owner = await createConfigMap(h.client, ns, 'owner');
    const other = await createConfigMap(h.client, ns, 'other');
    await createConfigMap(h.client, ns, 'a', { owners: [ownerRef(owner)] });
    await createConfigMap(h.client, ns, 'b', { owners: [ownerRef(owner, { blockOwnerDeletion: true }), ownerRef(other)] });
    const marked = await h.client.delete({ ...configMaps, namespace: ns, name: 'owner' }, { propagationPolicy: 'Orphan' }) as KubeObject;
    assert.deepEqual(marked.metadata.finalizers, ['orphan']);
    await gone(h.client, ns, 'owner');
    const a = await h.client.get({ ...configMaps, namespace: ns, name: 'a' });
    const b = await h.client.get({ ...configMaps, namespace: ns, name: 'b' });
    assert.equal(a.metadata.ownerReferences, undefined);
    assert.deepEqual(b.metadata.ownerReferences?.map((r) => r.uid), [other.metadata.uid]);
  });

  it('a cluster-scoped owner owns namespaced objects; a cluster-scoped object naming a namespaced owner is left alone', async () => {
    const ns = await h.namespace('gc-scopes');
    const role = await h.client.create(clusterRoles, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'gc-owner-role' }, rules: [] });
    await createConfigMap(h.client, ns, 'owned-by-role', { owners: [ownerRef(role)] });
    // Invalid: a cluster-scoped object cannot be owned by a namespaced kind; never collected for it.
    await h.client.create(clusterRoles, {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'gc-invalid-owner', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'cm-uid' }] }, rules: [],
    });
    await h.client.delete({ ...clusterRoles, name: 'gc-owner-role' });
    await gone(h.client, ns, 'owned-by-role');
    // A later sentinel is collected, so the collector has looked at the invalid one long before.
    await createConfigMap(h.client, ns, 'sentinel', { owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nope', uid: 'nope-uid' }] });
    await gone(h.client, ns, 'sentinel');
    assert.ok(await exists(h.client, clusterRoles, undefined, 'gc-invalid-owner'));
  });

  it('reports OwnerRefInvalidNamespace for a reference to an owner in another namespace, and collects the dependent', async () => {
    const home = await h.namespace('gc-home');
    const away = await h.namespace('gc-away');
    const owner = await createConfigMap(h.client, home, 'owner');
    const dependent = await createConfigMap(h.client, away, 'misplaced', { owners: [ownerRef(owner)] });
    await gone(h.client, away, 'misplaced');
    const event = await waitFor('the OwnerRefInvalidNamespace event', async () => {
      const events = await h.client.list(resources.events, {});
      return events.items.find((e) => e.metadata.namespace === away && (e as { reason?: string }).reason === 'OwnerRefInvalidNamespace');
    }, TIMEOUT) as KubeObject & { type: string; message: string; involvedObject: { name: string; uid: string } };
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject.uid, dependent.metadata.uid);
    assert.equal(event.message, `ownerRef [v1/ConfigMap, namespace: ${away}, name: owner, uid: ${owner.metadata.uid}] does not exist in namespace "${away}"`);
    assert.ok(await exists(h.client, configMaps, home, 'owner'), 'the owner itself is untouched');
  });
});

describe('garbage collector with workload controllers', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ controllers: 'garbagecollector,deployment,replicaset' });
  });
  after(async () => {
    await h.stop();
  });

  it('deletes a Deployment in the foreground: it stays marked until its ReplicaSets and pods are gone', async () => {
    const ns = await h.namespace('gc-deploy');
    await h.client.create({ ...deployments, namespace: ns }, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 3, selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      },
    });
    await waitFor('3 pods', async () => (await h.client.list({ ...resources.pods, namespace: ns })).items.length === 3, TIMEOUT);
    await h.client.delete({ ...deployments, namespace: ns, name: 'web' }, { propagationPolicy: 'Foreground' });
    let sawMarkedWithDependents = false;
    await waitFor('the deployment to be gone', async () => {
      const deployment = await exists(h.client, deployments, ns, 'web');
      if (!deployment) return true;
      assert.ok(deployment.metadata.deletionTimestamp);
      assert.deepEqual(deployment.metadata.finalizers, ['foregroundDeletion']);
      const sets = (await h.client.list({ ...replicaSets, namespace: ns })).items;
      if (sets.length > 0) sawMarkedWithDependents = true;
      return false;
    }, TIMEOUT);
    assert.ok(sawMarkedWithDependents, 'the deployment waited for its replica set');
    assert.deepEqual((await h.client.list({ ...replicaSets, namespace: ns })).items, []);
    assert.deepEqual((await h.client.list({ ...resources.pods, namespace: ns })).items, []);
  });
});

describe('garbage collector resources added at runtime', () => {
  let h: Harness;
  before(async () => {
    // No collector in the manager: only the one this test builds.
    h = await startHarness({ controllers: 'replicaset' });
  });
  after(async () => {
    await h.stop();
  });

  it('starts watching a resource added later and collects its objects', async () => {
    const ns = await h.namespace('gc-runtime');
    const informers = createSharedInformers({ client: h.client });
    const all = deletableResources();
    const gc = new GarbageCollector({ client: h.client, informers, logger: quietLogger(h.warnings), resources: all.filter((r) => r.resource !== 'configmaps') });
    const running = gc.run();
    try {
      await waitFor('the graph to sync', () => gc.hasSynced(), TIMEOUT);
      await createConfigMap(h.client, ns, 'dangling', { owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'nope', uid: 'nope-uid' }] });
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(await exists(h.client, configMaps, ns, 'dangling'), 'configmaps are not watched yet');
      gc.syncResources(all);
      await gone(h.client, ns, 'dangling');
    } finally {
      await gc.stop();
      await running;
      informers.stop();
    }
  });
});
