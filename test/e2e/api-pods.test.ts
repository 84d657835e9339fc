// Pod-specific API behaviour: binding to a node, priority admission from
// PriorityClasses, graceful deletion of pods a node runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type ServerHandle } from './harness.ts';
import { createNamespace, expectStatus, ok, RawClient } from './raw-client.ts';

const NS = 'pods';
const PODS = `/api/v1/namespaces/${NS}/pods`;
const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

describe('pods: binding, priority, graceful deletion', () => {
  let server: ServerHandle;
  let api: RawClient;
  before(async () => {
    server = await startServer({ apiOnly: true });
    api = new RawClient({ port: server.port, dataDir: server.dataDir });
    await createNamespace(api, NS);
  });
  after(async () => {
    await api?.close();
    await server?.stop();
  });

  it('binds a pod once, setting nodeName and PodScheduled', async () => {
    ok(await api.post(PODS, pod('bind-me')), 201);
    const bound = await api.post(`${PODS}/bind-me/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { kind: 'Node', name: 'node-a' } });
    assert.equal(ok(bound, 201).status, 'Success');
    const got = ok(await api.get(`${PODS}/bind-me`), 200);
    assert.equal(got.spec.nodeName, 'node-a');
    assert.equal(got.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled').status, 'True');
    const again = await api.post(`${PODS}/bind-me/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bind-me' }, target: { kind: 'Node', name: 'node-b' } });
    expectStatus(again, 409, 'Conflict', /pod bind-me is already assigned to node "node-a"/);
    ok(await api.post(PODS, pod('legacy')), 201);
    ok(await api.post(`/api/v1/namespaces/${NS}/bindings`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'legacy' }, target: { name: 'node-b' } }), 201);
    assert.equal(ok(await api.get(`${PODS}/legacy`), 200).spec.nodeName, 'node-b');
  });

  it('sets priority from the PriorityClass and refuses unknown classes', async () => {
    const critical = ok(await api.post(PODS, pod('critical', { priorityClassName: 'system-cluster-critical' })), 201);
    assert.equal(critical.spec.priority, 2000000000);
    assert.equal(critical.spec.preemptionPolicy, 'PreemptLowerPriority');
    assert.equal(ok(await api.post(PODS, pod('plain')), 201).spec.priority, 0);
    expectStatus(await api.post(PODS, pod('ghost', { priorityClassName: 'nope' })), 403, 'Forbidden', /no PriorityClass with name nope was found/);
    expectStatus(await api.post(PODS, pod('liar', { priority: 5 })), 403, 'Forbidden', /must not be provided in pod spec/);
    ok(await api.post('/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'batch-default' }, value: 100, globalDefault: true, preemptionPolicy: 'Never' }), 201);
    const defaulted = ok(await api.post(PODS, pod('defaulted')), 201);
    assert.equal(defaulted.spec.priority, 100);
    assert.equal(defaulted.spec.priorityClassName, 'batch-default');
    assert.equal(defaulted.spec.preemptionPolicy, 'Never');
    ok(await api.delete('/apis/scheduling.k8s.io/v1/priorityclasses/batch-default'), 200);
  });

  it('marks a pod on a node for graceful deletion; grace 0 removes it', async () => {
    ok(await api.post(PODS, pod('graceful', { nodeName: 'node-a', terminationGracePeriodSeconds: 20 })), 201);
    const marked = ok(await api.delete(`${PODS}/graceful`), 200);
    assert.equal(marked.metadata.deletionGracePeriodSeconds, 20);
    assert.ok(Date.parse(marked.metadata.deletionTimestamp) > Date.now() + 10_000);
    ok(await api.get(`${PODS}/graceful`), 200);
    ok(await api.delete(`${PODS}/graceful`, { gracePeriodSeconds: 0 }), 200);
    expectStatus(await api.get(`${PODS}/graceful`), 404, 'NotFound');
    ok(await api.post(PODS, pod('unscheduled')), 201);
    ok(await api.delete(`${PODS}/unscheduled`), 200);
    expectStatus(await api.get(`${PODS}/unscheduled`), 404, 'NotFound', 'pods "unscheduled" not found');
  });
});
