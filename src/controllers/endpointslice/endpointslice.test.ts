// The EndpointSlice controller against a real API server in this process,
// over the real client, with stand-in nodes that bind pods and report them
// Running/Ready with an IP. The controller runs with at most 3 endpoints per
// slice so that slicing shows with few pods.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { createSharedInformers, type SharedInformers } from '../framework/informers.ts';
import { HOLD_LABEL, quietLogger, sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { EndpointSliceController } from './controller.ts';
import type { Service } from './pod-endpoints.ts';
import { endpointSlicesResource, type EndpointSlice } from './slices.ts';

const FINALIZER = 'test.skiff.dev/keep';

function podManifest(name: string, labels: Record<string, string>, extra: { ports?: { name: string; containerPort: number }[]; hostname?: string; subdomain?: string; finalizers?: string[] } = {}) {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels, ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: {
      terminationGracePeriodSeconds: 0, hostname: extra.hostname, subdomain: extra.subdomain,
      containers: [{ name: 'app', image: 'registry.example/app:1', ports: extra.ports }],
    },
  };
}

function serviceManifest(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { team: 'blue' } }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec } };
}

describe('endpointslice controller', () => {
  let h: Harness;
  let informers: SharedInformers;
  let controller: EndpointSliceController;

  before(async () => {
    // No controller from the manager: this file runs its own EndpointSlice controller.
    h = await startHarness({ controllers: '-endpointslice' });
    for (const [name, zone] of [['node-a', 'zone-a'], ['node-b', 'zone-b'], ['node-c', undefined]] as const) {
      await h.client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} } });
    }
    informers = createSharedInformers({ client: h.client, logger: { warn() {} } });
    controller = new EndpointSliceController({ client: h.client, informers, maxEndpointsPerSlice: 3, logger: quietLogger(h.warnings) });
    informers.start();
    void controller.run();
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await controller?.stop();
    informers?.stop();
    await h?.stop();
  });

  const slicesOf = async (ns: string, service: string) =>
    (await h.client.list<EndpointSlice>({ ...endpointSlicesResource, namespace: ns }, { labelSelector: `kubernetes.io/service-name=${service}` })).items;
  const endpointCount = (slices: EndpointSlice[]) => slices.reduce((n, s) => n + (s.endpoints?.length ?? 0), 0);
  const createPods = async (ns: string, pods: ReturnType<typeof podManifest>[]) => {
    for (const pod of pods) await h.client.create({ ...resources.pods, namespace: ns }, pod);
  };

  it('lists the ready pods of a Service in one slice, labelled and owned, and follows pods coming and going in place', async () => {
    const ns = await h.namespace('eps-basic');
    const service = await h.client.create<Service>({ ...resources.services, namespace: ns }, serviceManifest('web', {}));
    await createPods(ns, ['a', 'b', 'c'].map((n) => podManifest(`web-${n}`, { app: 'web' })));
    const [slice] = await waitFor('a slice with 3 endpoints', async () => {
      const slices = await slicesOf(ns, 'web');
      return slices.length === 1 && endpointCount(slices) === 3 && slices.every((s) => s.endpoints!.every((e) => e.conditions?.ready)) && slices;
    });
    assert.equal(slice.metadata.generateName, 'web-');
    assert.deepEqual(slice.metadata.labels, { team: 'blue', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: service.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.match(slice.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    const endpoint = slice.endpoints!.find((e) => e.targetRef?.name === 'web-a')!;
    assert.deepEqual(endpoint.conditions, { ready: true, serving: true, terminating: false });
    assert.equal(endpoint.targetRef?.kind, 'Pod');
    assert.match(endpoint.addresses[0], /^10\.42\.0\.\d+$/);
    assert.ok(['node-a', 'node-b', 'node-c'].includes(endpoint.nodeName!));
    const zones = new Set(slice.endpoints!.map((e) => `${e.nodeName}=${e.zone ?? ''}`));
    for (const z of zones) assert.ok(['node-a=zone-a', 'node-b=zone-b', 'node-c='].includes(z), z);

    // A pod change that does not touch endpoints writes nothing.
    await h.client.patch({ ...resources.pods, namespace: ns, name: 'web-a' }, 'merge', { metadata: { annotations: { note: 'x' } } });
    // A Service change that does not touch them either (this sync finds everything equal).
    await h.client.patch({ ...resources.services, namespace: ns, name: 'web' }, 'merge', { metadata: { annotations: { note: 'x' } } });
    await sleep(500);
    assert.equal((await slicesOf(ns, 'web'))[0].metadata.resourceVersion, slice.metadata.resourceVersion);

    // One pod gone: the same slice, updated in place.
    await h.client.delete({ ...resources.pods, namespace: ns, name: 'web-b' });
    const after = await waitFor('2 endpoints', async () => {
      const slices = await slicesOf(ns, 'web');
      return endpointCount(slices) === 2 && slices;
    });
    assert.deepEqual(after.map((s) => s.metadata.name), [slice.metadata.name]);
  });

  it('cuts slices at the maximum, adds to slices with room, and keeps one placeholder when no pod is left', async () => {
    const ns = await h.namespace('eps-slicing');
    await h.client.create({ ...resources.services, namespace: ns }, serviceManifest('many', {}));
    await createPods(ns, Array.from({ length: 7 }, (_, i) => podManifest(`many-${i}`, { app: 'many' })));
    const slices = await waitFor('7 endpoints in 3 slices', async () => {
      const s = await slicesOf(ns, 'many');
      return endpointCount(s) === 7 && s;
    });
    assert.deepEqual(slices.map((s) => s.endpoints!.length).sort(), [1, 3, 3]);
    const names = new Set(slices.map((s) => s.metadata.name));
    await createPods(ns, [podManifest('many-7', { app: 'many' })]);
    const grown = await waitFor('8 endpoints', async () => {
      const s = await slicesOf(ns, 'many');
      return endpointCount(s) === 8 && s;
    });
    assert.deepEqual(grown.map((s) => s.endpoints!.length).sort(), [2, 3, 3]);
    assert.deepEqual(new Set(grown.map((s) => s.metadata.name)), names);

    await h.client.deleteCollection({ ...resources.pods, namespace: ns }, { labelSelector: 'app=many' });
    const placeholder = await waitFor('one empty slice', async () => {
      const s = await slicesOf(ns, 'many');
      return s.length === 1 && endpointCount(s) === 0 && s;
    });
    assert.ok(names.has(placeholder[0].metadata.name), 'a slice was reused as the placeholder');
    assert.deepEqual(placeholder[0].ports ?? [], []);
  });

  it('resolves a named targetPort per pod, a slice per resolution', async () => {
    const ns = await h.namespace('eps-named');
    await h.client.create({ ...resources.services, namespace: ns }, serviceManifest('api', { ports: [{ name: 'http', port: 80, targetPort: 'web' }] }));
    await createPods(ns, [
      podManifest('api-old', { app: 'api' }, { ports: [{ name: 'web', containerPort: 8080 }] }),
      podManifest('api-new', { app: 'api' }, { ports: [{ name: 'web', containerPort: 9090 }] }),
    ]);
    const slices = await waitFor('two slices', async () => {
      const s = await slicesOf(ns, 'api');
      return s.length === 2 && endpointCount(s) === 2 && s;
    });
    const byPod = Object.fromEntries(slices.map((s) => [s.endpoints![0].targetRef!.name, s.ports![0].port]));
    assert.deepEqual(byPod, { 'api-old': 8080, 'api-new': 9090 });
  });

  it('terminating pods stay listed as serving but not ready, until they are gone', async () => {
    const ns = await h.namespace('eps-terminating');
    await h.client.create({ ...resources.services, namespace: ns }, serviceManifest('t', {}));
    await createPods(ns, [podManifest('t-0', { app: 't' }, { finalizers: [FINALIZER] }), podManifest('t-1', { app: 't', [HOLD_LABEL]: 'unready' })]);
    await waitFor('2 endpoints', async () => endpointCount(await slicesOf(ns, 't')) === 2);
    await h.client.delete({ ...resources.pods, namespace: ns, name: 't-0' });
    const conditions = await waitFor('t-0 terminating', async () => {
      const endpoints = (await slicesOf(ns, 't')).flatMap((s) => s.endpoints ?? []);
      const byName = Object.fromEntries(endpoints.map((e) => [e.targetRef!.name, e.conditions]));
      return byName['t-0']?.terminating && byName;
    });
    assert.deepEqual(conditions, {
      't-0': { ready: false, serving: true, terminating: true },
      't-1': { ready: false, serving: false, terminating: false },
    });
    await h.client.patch({ ...resources.pods, namespace: ns, name: 't-0' }, 'merge', { metadata: { finalizers: null } });
    await waitFor('t-0 gone', async () => endpointCount(await slicesOf(ns, 't')) === 1);
  });

  it('headless: slices for a clusterIP None service, with hostnames for pods in its subdomain', async () => {
    const ns = await h.namespace('eps-headless');
    await h.client.create({ ...resources.services, namespace: ns }, serviceManifest('db', { clusterIP: 'None', ports: undefined }));
    await createPods(ns, [podManifest('db-0', { app: 'db' }, { hostname: 'db-0', subdomain: 'db' }), podManifest('db-x', { app: 'db' })]);
    const [slice] = await waitFor('2 endpoints', async () => {
      const s = await slicesOf(ns, 'db');
      return endpointCount(s) === 2 && s;
    });
    assert.equal(slice.metadata.labels?.['service.kubernetes.io/headless'], '');
    assert.deepEqual(slice.endpoints!.map((e) => [e.targetRef!.name, e.hostname]).sort(), [['db-0', 'db-0'], ['db-x', undefined]]);
  });

  it('leaves services without selector alone, and deletes the slices of a deleted service', async () => {
    const ns = await h.namespace('eps-lifecycle');
    await h.client.create({ ...resources.services, namespace: ns }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'manual' }, spec: { ports: [{ port: 80 }] } });
    await h.client.create({ ...resources.services, namespace: ns }, serviceManifest('gone', {}));
    await createPods(ns, [podManifest('gone-0', { app: 'gone' })]);
    await waitFor('a slice', async () => endpointCount(await slicesOf(ns, 'gone')) === 1);
    await h.client.delete({ ...resources.services, namespace: ns, name: 'gone' });
    await waitFor('no slices left', async () => (await slicesOf(ns, 'gone')).length === 0);
    assert.deepEqual(await slicesOf(ns, 'manual'), []);
    // The built-in service's slice is not the controller's business either.
    const builtin = await h.client.get<KubeObject>({ ...endpointSlicesResource, namespace: 'default', name: 'kubernetes' }).catch(() => undefined);
    if (builtin) assert.equal((await slicesOf('default', 'kubernetes')).length, 1);
  });

  it('puts back a slice someone else deleted', async () => {
    const ns = await h.namespace('eps-repair');
    await h.client.create({ ...resources.services, namespace: ns }, serviceManifest('r', {}));
    await createPods(ns, [podManifest('r-0', { app: 'r' })]);
    const [slice] = await waitFor('a slice', async () => {
      const s = await slicesOf(ns, 'r');
      return endpointCount(s) === 1 && s;
    });
    await h.client.delete({ ...endpointSlicesResource, namespace: ns, name: slice.metadata.name });
    await waitFor('a new slice', async () => {
      const s = await slicesOf(ns, 'r');
      return s.length === 1 && s[0].metadata.name !== slice.metadata.name && endpointCount(s) === 1;
    }, 15_000);
  });
});
