// The Endpoints controller against a real API server in this process, over
// the real client, with stand-in nodes that bind pods and report them
// Running/Ready with an IP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isNotFound, resources } from '../../client/interface.ts';
import { HOLD_LABEL, sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { endpointsResource, type Endpoints } from './controller.ts';

function podManifest(name: string, labels: Record<string, string>, ports?: { name: string; containerPort: number }[]) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/app:1', ports }] },
  };
}

describe('endpoint controller', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ controllers: 'endpoint' });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
  });

  const getEndpoints = (ns: string, name: string) => h.client.get<Endpoints>({ ...endpointsResource, namespace: ns, name });
  const createPods = async (ns: string, pods: ReturnType<typeof podManifest>[]) => {
    for (const pod of pods) await h.client.create({ ...resources.pods, namespace: ns }, pod);
  };
  const gone = async (ns: string, name: string) => getEndpoints(ns, name).then(() => false, (error) => isNotFound(error));

  it('lists ready and not-ready addresses with the named port resolved, and writes nothing when nothing changed', async () => {
    const ns = await h.namespace('ep-basic');
    await h.client.create({ ...resources.services, namespace: ns }, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', labels: { team: 'blue' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const ports = [{ name: 'http', containerPort: 8080 }];
    await createPods(ns, [podManifest('web-0', { app: 'web' }, ports), podManifest('web-1', { app: 'web' }, ports), podManifest('web-2', { app: 'web', [HOLD_LABEL]: 'unready' }, ports)]);
    const ep = await waitFor('2 ready and 1 not-ready address', async () => {
      const e = await getEndpoints(ns, 'web');
      const s = e.subsets?.[0];
      return e.subsets?.length === 1 && s?.addresses?.length === 2 && s.notReadyAddresses?.length === 1 && e;
    });
    const subset = ep.subsets![0];
    assert.deepEqual(subset.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(subset.addresses!.map((a) => a.targetRef?.name).sort(), ['web-0', 'web-1']);
    assert.equal(subset.notReadyAddresses![0].targetRef?.name, 'web-2');
    assert.ok(subset.addresses![0].nodeName);
    assert.deepEqual(ep.metadata.labels, { team: 'blue' });
    assert.deepEqual(ep.metadata.ownerReferences, undefined);
    assert.match(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    await h.client.patch({ ...resources.pods, namespace: ns, name: 'web-0' }, 'merge', { metadata: { annotations: { note: 'x' } } });
    // A Service change that does not touch them either (this sync finds everything equal).
    await h.client.patch({ ...resources.services, namespace: ns, name: 'web' }, 'merge', { metadata: { annotations: { note: 'x' } } });
    await sleep(500);
    assert.equal((await getEndpoints(ns, 'web')).metadata.resourceVersion, ep.metadata.resourceVersion);

    await h.client.delete({ ...resources.pods, namespace: ns, name: 'web-1' });
    await waitFor('1 ready address', async () => (await getEndpoints(ns, 'web')).subsets?.[0]?.addresses?.length === 1);
  });

  it('headless without ports: bare addresses and the headless label', async () => {
    const ns = await h.namespace('ep-headless');
    await h.client.create({ ...resources.services, namespace: ns }, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' } },
    });
    await createPods(ns, [podManifest('db-0', { app: 'db' })]);
    const ep = await waitFor('an address', async () => {
      const e = await getEndpoints(ns, 'db');
      return e.subsets?.[0]?.addresses?.length === 1 && e;
    });
    assert.equal(ep.subsets![0].ports, undefined);
    assert.deepEqual(ep.metadata.labels, { 'service.kubernetes.io/headless': '' });
  });

  it('an empty Endpoints object for a service selecting nothing; deleted with the service', async () => {
    const ns = await h.namespace('ep-delete');
    await h.client.create({ ...resources.services, namespace: ns }, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'lonely' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] },
    });
    const ep = await waitFor('the Endpoints', () => getEndpoints(ns, 'lonely').catch(() => undefined));
    assert.equal(ep.subsets, undefined);
    await h.client.delete({ ...resources.services, namespace: ns, name: 'lonely' });
    await waitFor('Endpoints gone', () => gone(ns, 'lonely'));
  });

  it('leaves the Endpoints of selectorless services alone, and removes leftovers of deleted services on start', async () => {
    const ns = await h.namespace('ep-manual');
    await h.client.create({ ...resources.services, namespace: ns }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual' }, spec: { ports: [{ port: 80 }] } });
    const manual = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 80 }] }] };
    await h.client.create({ ...endpointsResource, namespace: ns }, manual);
    await h.restartManager(async () => {
      await h.client.create({ ...endpointsResource, namespace: ns }, { ...manual, metadata: { name: 'orphan' } });
    });
    await waitFor('the orphan deleted', () => gone(ns, 'orphan'));
    const kept = await getEndpoints(ns, 'manual');
    assert.deepEqual(kept.subsets?.[0].addresses, [{ ip: '192.0.2.1' }]);
    const builtin = await getEndpoints('default', 'kubernetes');
    assert.equal(builtin.subsets?.[0].addresses?.length, 1);
  });

  it('puts back Endpoints someone deleted', async () => {
    const ns = await h.namespace('ep-repair');
    await h.client.create({ ...resources.services, namespace: ns }, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'r' }, spec: { selector: { app: 'r' }, ports: [{ port: 80 }] },
    });
    await createPods(ns, [podManifest('r-0', { app: 'r' })]);
    await waitFor('an address', async () => (await getEndpoints(ns, 'r').catch(() => undefined))?.subsets?.[0]?.addresses?.length === 1);
    await h.client.delete({ ...endpointsResource, namespace: ns, name: 'r' });
    await waitFor('back again', async () => (await getEndpoints(ns, 'r').catch(() => undefined))?.subsets?.[0]?.addresses?.length === 1);
  });
});
