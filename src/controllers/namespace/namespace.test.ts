import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer } from '../../../test/support/in-process-server.ts';
import { ApiStatusError, isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createSharedInformers } from '../framework/informers.ts';
import { newClient, quietLogger, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import type { NamespaceCondition } from './conditions.ts';
import { NamespaceController, type Namespace } from './controller.ts';
import { registryDiscovery } from './discovery.ts';

const configmaps = { group: '', version: 'v1', resource: 'configmaps' };
const secrets = { group: '', version: 'v1', resource: 'secrets' };
const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };

const gone = (client: ApiClient, name: string) => async () => {
  try {
    await client.get({ ...resources.namespaces, name });
    return false;
  } catch (error) {
    return isNotFound(error);
  }
};
const condition = (ns: Namespace, type: string): NamespaceCondition | undefined => ns.status?.conditions?.find((c) => c.type === type);

describe('namespace controller', () => {
  let h: Harness;
  const warnings: string[] = [];
  after(() => { if (process.env.SHOW_WARNINGS) console.log(warnings.join("\n")); });
  before(async () => {
    h = await startHarness({ logger: quietLogger(warnings) });
  });
  after(async () => h?.stop());

  const getNs = (name: string) => h.client.get<Namespace>({ ...resources.namespaces, name });
  const configMap = (namespace: string, name: string, finalizers?: string[]) =>
    h.client.create({ ...configmaps, namespace }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, finalizers }, data: { a: 'b' } });

  it('empties a populated namespace (pods terminating gracefully on nodes included), then the namespace goes', async () => {
    const ns = await h.namespace('populated');
    assert.deepEqual((await getNs(ns)).spec?.finalizers, ['kubernetes'], 'new namespaces carry the controller\'s finalizer');
    for (let i = 0; i < 5; i++) await configMap(ns, `cm-${i}`);
    await h.client.create({ ...secrets, namespace: ns }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { k: 'v' } });
    await h.client.create({ ...deployments, namespace: ns }, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    });
    await waitFor('two running pods', async () => (await h.client.list({ ...resources.pods, namespace: ns })).items.filter((p) => (p.status as { phase?: string })?.phase === 'Running').length === 2, 15_000);

    const marked = await h.client.delete({ ...resources.namespaces, name: ns }) as Namespace;
    assert.equal(marked.status?.phase, 'Terminating');
    await waitFor('the namespace gone', gone(h.client, ns), 20_000);
    for (const ref of [configmaps, secrets, deployments, resources.pods]) {
      assert.deepEqual((await h.client.list({ ...ref, namespace: ns })).items, [], `${ref.resource} left behind`);
    }
  });

  it('waits for finalizers, says so in the conditions, and finishes once they are removed', async () => {
    const ns = await h.namespace('held');
    await configMap(ns, 'held', ['example.com/x']);
    await configMap(ns, 'free');
    await h.client.delete({ ...resources.namespaces, name: ns });

    const terminating = await waitFor('finalizers reported', async () => {
      const current = await getNs(ns);
      return condition(current, 'NamespaceFinalizersRemaining')?.status === 'True' ? current : undefined;
    }, 15_000);
    assert.equal(terminating.status?.phase, 'Terminating');
    assert.deepEqual(terminating.spec?.finalizers, ['kubernetes'], 'not finalized while content remains');
    assert.deepEqual(condition(terminating, 'NamespaceFinalizersRemaining'), {
      type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizersRemain', lastTransitionTime: condition(terminating, 'NamespaceFinalizersRemaining')!.lastTransitionTime,
      message: 'Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances',
    });
    assert.equal(condition(terminating, 'NamespaceContentRemaining')?.message, 'Some resources are remaining: configmaps. has 1 resource instances');
    assert.equal(condition(terminating, 'NamespaceDeletionContentFailure')?.status, 'False');
    assert.deepEqual((await h.client.list({ ...configmaps, namespace: ns })).items.map((c) => c.metadata.name), ['held']);

    // New content is refused while the namespace terminates (NamespaceLifecycle).
    await assert.rejects(configMap(ns, 'late'), (error: ApiStatusError) =>
      error.code === 403 && error.message === `configmaps "late" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`);

    await h.client.patch({ ...configmaps, namespace: ns, name: 'held' }, 'merge', { metadata: { finalizers: null } });
    await waitFor('the namespace gone', gone(h.client, ns), 20_000);
  });

  it('changes spec.finalizers only through the finalize subresource', async () => {
    const ns = await h.namespace('finalize-api');
    const current = await getNs(ns);
    const replaced = await h.client.update<Namespace>({ ...resources.namespaces, name: ns }, { ...current, spec: { finalizers: [] } });
    assert.deepEqual(replaced.spec?.finalizers, ['kubernetes'], 'a plain update keeps spec.finalizers');

    const finalizeRef = { ...resources.namespaces, name: ns, subresource: 'finalize' };
    await assert.rejects(h.client.update(finalizeRef, { ...replaced, spec: { finalizers: ['bad'] } }), (error: ApiStatusError) =>
      error.code === 422 && /spec.finalizers: Invalid value: "bad": name is neither a standard finalizer name nor is it fully qualified/.test(error.message));
    const finalized = await h.client.update<Namespace>(finalizeRef, { ...replaced, metadata: { ...replaced.metadata, labels: { ignored: 'yes' } }, spec: { finalizers: ['example.com/keep'] } });
    assert.deepEqual(finalized.spec?.finalizers, ['example.com/keep']);
    assert.equal(finalized.metadata.labels?.ignored, undefined, 'finalize changes nothing but spec.finalizers');
    await assert.rejects(h.client.update(finalizeRef, { ...replaced }), (error: ApiStatusError) => error.code === 409, 'a stale resourceVersion conflicts');
    await assert.rejects(h.client.patch(finalizeRef, 'merge', { spec: { finalizers: [] } }), (error: ApiStatusError) => error.code === 405);

    // Deleted: the controller leaves the other finalizer; removing it through finalize removes the namespace.
    await h.client.delete({ ...resources.namespaces, name: ns });
    const waiting = await waitFor('our finalizer removed', async () => {
      const latest = await getNs(ns);
      return latest.spec?.finalizers?.join() === 'example.com/keep' ? latest : undefined;
    }, 15_000);
    assert.equal(waiting.status?.phase, 'Terminating');
    await h.client.update(finalizeRef, { ...waiting, spec: { finalizers: [] } });
    assert.ok(await gone(h.client, ns)(), 'gone with its last finalizer');
  });
});

describe('namespace controller when discovery fails', () => {
  it('deletes what it can see, reports the failure, and does not finalize', async () => {
    const server = await startInProcessServer();
    const client = newClient(server);
    const informers = createSharedInformers({ client });
    const builtin = registryDiscovery();
    let failing = true;
    const controller = new NamespaceController({
      client, informers, logger: quietLogger([]), remainingBackoffMs: 50,
      discover: async () => ({ ...(await builtin()), failedGroups: failing ? new Map([['metrics.k8s.io/v1beta1', 'the server is currently unable to handle the request']]) : undefined }),
    });
    informers.start();
    const running = controller.run();
    try {
      await client.create(resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blind' } });
      await client.create({ ...configmaps, namespace: 'blind' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
      await client.delete({ ...resources.namespaces, name: 'blind' });
      const stuck = await waitFor('the discovery failure reported', async () => {
        const ns = await client.get<Namespace>({ ...resources.namespaces, name: 'blind' });
        return condition(ns, 'NamespaceDeletionDiscoveryFailure')?.status === 'True' ? ns : undefined;
      }, 15_000);
      assert.equal(condition(stuck, 'NamespaceDeletionDiscoveryFailure')?.reason, 'DiscoveryFailed');
      assert.match(condition(stuck, 'NamespaceDeletionDiscoveryFailure')!.message!, /^Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: metrics.k8s.io\/v1beta1: /);
      assert.deepEqual((await client.list<KubeObject>({ ...configmaps, namespace: 'blind' })).items, [], 'visible content deleted anyway');
      assert.deepEqual(stuck.spec?.finalizers, ['kubernetes']);

      failing = false;
      await waitFor('the namespace gone once discovery recovers', gone(client, 'blind'), 20_000);
    } finally {
      await controller.stop();
      informers.stop();
      await running;
      await client.close();
      await server.close();
    }
  });
});
