// The resourcequota controller and ResourceQuota admission together, on a
// real in-process API server: status.hard/used kept exact, writes beyond
// hard refused with upstream's 403 messages, exact charging under
// concurrency, releases on deletion and periodic resync.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { ApiStatusError, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createSharedInformers, type SharedInformers } from '../framework/informers.ts';
import { createNamespaceWithServiceAccount, newClient, quietLogger, waitFor } from '../testing/harness.ts';
import { ResourceQuotaController, resourceQuotasResource } from './controller.ts';

interface Quota extends KubeObject {
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

const pvcs = resources.persistentVolumeClaims;
const configmaps = { group: '', version: 'v1', resource: 'configmaps' };
const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };

describe('resourcequota controller and ResourceQuota admission', () => {
  let server: InProcessServer;
  let client: ApiClient;
  let informers: SharedInformers;
  let controller: ResourceQuotaController;
  let running: Promise<void>;
  const warnings: string[] = [];

  before(async () => {
    server = await startInProcessServer();
    client = newClient(server);
    informers = createSharedInformers({ client, logger: quietLogger(warnings) });
    // A short full resync: what admission charged for a write that then failed comes back without any event.
    controller = new ResourceQuotaController({ client, informers, logger: quietLogger(warnings), fullResyncMs: 1000 });
    informers.start();
    running = controller.run();
  });
  after(async () => {
    await controller?.stop();
    informers?.stop();
    await running;
    await client?.close();
    await server?.close();
  });

  const quota = (namespace: string, name: string, hard: Record<string, string>, spec: Record<string, unknown> = {}) =>
    client.create({ ...resourceQuotasResource, namespace }, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard, ...spec } });
  const getQuota = (namespace: string, name: string) => client.get<Quota>({ ...resourceQuotasResource, namespace, name });
  const usedOf = async (namespace: string, name: string) => (await getQuota(namespace, name)).status?.used;
  /** Wait until status.used equals `used` exactly. */
  const waitUsed = (namespace: string, name: string, used: Record<string, string>) =>
    waitFor(`${namespace}/${name} used ${JSON.stringify(used)}`, async () => {
      const current = await usedOf(namespace, name);
      return JSON.stringify(current) === JSON.stringify(used) ? current : undefined;
    });
  const pod = (namespace: string, name: string, resources?: Record<string, unknown>, dryRun = false) => client.create({ ...resourcesPods, namespace }, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { containers: [{ name: 'app', image: 'busybox', ...(resources ? { resources } : {}) }] },
  }, dryRun ? { dryRun: true } : {});
  const resourcesPods = resources.pods;
  const refusal = async (promise: Promise<unknown>): Promise<ApiStatusError> => {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof ApiStatusError, String(error));
      return error;
    }
    assert.fail('expected the write to be refused');
  };

  it('fills status from spec and counts what exists', async () => {
    const ns = 'rq-status';
    await createNamespaceWithServiceAccount(client, ns);
    await pod(ns, 'before');
    await client.create({ ...configmaps, namespace: ns }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
    await quota(ns, 'q', { pods: '5', 'requests.cpu': '2', configmaps: '10', 'count/deployments.apps': '1' });
    const used = await waitUsed(ns, 'q', { configmaps: '1', 'count/deployments.apps': '0', pods: '1', 'requests.cpu': '0' });
    assert.ok(used);
    const q = await getQuota(ns, 'q');
    assert.deepEqual(q.status?.hard, { configmaps: '10', 'count/deployments.apps': '1', pods: '5', 'requests.cpu': '2' });
  });

  it('refuses beyond hard with upstream\'s message, and a deletion gives the usage back', async () => {
    const ns = 'rq-pods';
    await createNamespaceWithServiceAccount(client, ns);
    await quota(ns, 'q', { pods: '2', 'requests.cpu': '1' });
    await waitUsed(ns, 'q', { pods: '0', 'requests.cpu': '0' });
    const small = { requests: { cpu: '400m' } };
    await pod(ns, 'a', small);
    await pod(ns, 'b', small);
    assert.deepEqual(await usedOf(ns, 'q'), { pods: '2', 'requests.cpu': '800m' }, 'admission charged both pods');
    const third = await refusal(pod(ns, 'c', small));
    assert.equal(third.code, 403);
    assert.equal(third.message, 'pods "c" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=400m, used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1');
    const noCpu = await refusal(pod(ns, 'd'));
    assert.equal(noCpu.message, 'pods "d" is forbidden: failed quota: q: must specify requests.cpu for: app');
    await client.delete({ ...resourcesPods, namespace: ns, name: 'a' });
    await waitUsed(ns, 'q', { pods: '1', 'requests.cpu': '400m' });
    await pod(ns, 'c', small);
  });

  it('a dry run is checked but charges nothing', async () => {
    const ns = 'rq-dry';
    await createNamespaceWithServiceAccount(client, ns);
    await quota(ns, 'q', { pods: '1' });
    await waitUsed(ns, 'q', { pods: '0' });
    await pod(ns, 'dry', undefined, true);
    assert.deepEqual(await usedOf(ns, 'q'), { pods: '0' });
    await pod(ns, 'real');
    const refused = await refusal(pod(ns, 'dry2', undefined, true));
    assert.match(refused.message, /exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1/);
  });

  it('never lets concurrent creates past hard', async () => {
    const ns = 'rq-race';
    await createNamespaceWithServiceAccount(client, ns);
    await quota(ns, 'q', { configmaps: '3' });
    await waitUsed(ns, 'q', { configmaps: '0' });
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
      client.create({ ...configmaps, namespace: ns }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    for (const r of results) if (r.status === 'rejected') assert.match(String(r.reason?.message), /exceeded quota: q|Operation cannot be fulfilled/);
    assert.equal((await client.list({ ...configmaps, namespace: ns })).items.length, 3);
  });

  it('counts any kind with count/<resource>.<group>', async () => {
    const ns = 'rq-count';
    await createNamespaceWithServiceAccount(client, ns);
    await quota(ns, 'q', { 'count/deployments.apps': '1' });
    await waitUsed(ns, 'q', { 'count/deployments.apps': '0' });
    const deployment = (name: string) => client.create({ ...deployments, namespace: ns }, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
      spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    });
    await deployment('one');
    const refused = await refusal(deployment('two'));
    assert.equal(refused.message, 'deployments.apps "two" is forbidden: exceeded quota: q, requested: count/deployments.apps=1, used: count/deployments.apps=1, limited: count/deployments.apps=1');
  });

  it('charges a claim\'s growth and releases it when the claim goes', async () => {
    const ns = 'rq-storage';
    await createNamespaceWithServiceAccount(client, ns);
    await quota(ns, 'q', { 'requests.storage': '3Gi', persistentvolumeclaims: '2' });
    await waitUsed(ns, 'q', { persistentvolumeclaims: '0', 'requests.storage': '0' });
    const claim = await client.create({ ...pvcs, namespace: ns }, {
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    assert.deepEqual(await usedOf(ns, 'q'), { persistentvolumeclaims: '1', 'requests.storage': '1Gi' });
    const bound = await client.update<KubeObject & { spec: object }>({ ...pvcs, namespace: ns, name: 'data', subresource: 'status' }, { ...claim, status: { phase: 'Bound', capacity: { storage: '1Gi' } } });
    const grow = (storage: string) => client.update({ ...pvcs, namespace: ns, name: 'data' }, { ...bound, spec: { ...bound.spec, resources: { requests: { storage } } } });
    const refused = await refusal(grow('4Gi'));
    assert.match(refused.message, /exceeded quota: q, requested: requests.storage=3Gi, used: requests.storage=1Gi, limited: requests.storage=3Gi/);
    await grow('2Gi');
    assert.deepEqual(await usedOf(ns, 'q'), { persistentvolumeclaims: '1', 'requests.storage': '2Gi' });
    await client.delete({ ...pvcs, namespace: ns, name: 'data' });
    await waitUsed(ns, 'q', { persistentvolumeclaims: '0', 'requests.storage': '0' });
  });

  it('the periodic resync corrects usage that no event reported', async () => {
    const ns = 'rq-resync';
    await createNamespaceWithServiceAccount(client, ns);
    await quota(ns, 'q', { secrets: '5' });
    await waitUsed(ns, 'q', { secrets: '0' });
    // Overcharge by hand, as a write that failed after admission charged it would.
    const q = await getQuota(ns, 'q');
    await client.update({ ...resourceQuotasResource, namespace: ns, name: 'q', subresource: 'status' }, { ...q, status: { ...q.status, used: { secrets: '4' } } });
    await waitUsed(ns, 'q', { secrets: '0' });
  });
});
