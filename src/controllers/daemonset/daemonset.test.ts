// The DaemonSet controller against a real API server in this process, over
// the real client. Nodes are real Node objects; the harness's stand-in
// binder honours each daemon pod's node pin and reports it Running/Ready.
// Nodes are cluster-wide, so each test labels its own nodes and selects
// them with a nodeSelector: the sets of different tests never meet.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import { CONTROLLER_REVISION_HASH_LABEL, controllerRevisionsResource, type ControllerRevision } from '../framework/history.ts';
import type { Pod } from '../framework/types.ts';
import { sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { targetNodeOf, type Taint, type Toleration } from './nodes.ts';
import { POD_TEMPLATE_GENERATION_LABEL, daemonSetsResource, type DaemonSet } from './plan.ts';

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

function daemonSet(name: string, group: string, spec: Record<string, unknown> = {}, podSpec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { terminationGracePeriodSeconds: 0, nodeSelector: { 'ds-test': group }, containers: [{ name: 'agent', image: 'registry.example/agent:1' }], ...podSpec },
      },
      ...spec,
    },
  };
}

describe('daemonset controller', () => {
  let h: Harness;
  const nodesMade: string[] = [];

  before(async () => {
    h = await startHarness({ controllers: 'daemonset' });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    for (const name of nodesMade) await h?.client.delete({ ...resources.nodes, name }).catch(() => {});
    await h?.stop();
  });

  const addNode = async (name: string, labels: Record<string, string>, spec: { taints?: Taint[]; unschedulable?: boolean } = {}) => {
    nodesMade.push(name);
    await h.client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec });
  };
  const pods = async (namespace: string, app: string) =>
    (await h.client.list<Pod>({ ...resources.pods, namespace }, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
  const getDS = (namespace: string, name: string) => h.client.get<DaemonSet>({ ...daemonSetsResource, namespace, name });
  const podNodes = async (namespace: string, app: string) => (await pods(namespace, app)).map((p) => p.spec?.nodeName ?? `(for ${targetNodeOf(p)})`).sort();
  const revisions = async (namespace: string) => (await h.client.list<ControllerRevision>({ ...controllerRevisionsResource, namespace })).items;
  const events = async (namespace: string, name: string) =>
    (await h.client.list<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>({ ...resources.events, namespace }))
      .items.filter((e) => e.involvedObject.name === name);

  it('runs one pod per node, pinned by node affinity, with the daemon tolerations, labels and status', async () => {
    const ns = await h.namespace('ds-basic');
    for (const n of ['basic-1', 'basic-2', 'basic-3']) await addNode(n, { 'ds-test': 'basic' });
    const ds = await h.client.create<DaemonSet>({ ...daemonSetsResource, namespace: ns }, daemonSet('agent', 'basic'));
    const status = await waitFor('3 available', async () => {
      const s = (await getDS(ns, 'agent')).status;
      return s?.numberAvailable === 3 && s.updatedNumberScheduled === 3 && s;
    });
    assert.deepEqual(
      { ...status, collisionCount: undefined },
      { currentNumberScheduled: 3, numberMisscheduled: 0, desiredNumberScheduled: 3, numberReady: 3, numberAvailable: 3, updatedNumberScheduled: 3, observedGeneration: 1, collisionCount: undefined },
    );
    const list = await pods(ns, 'agent');
    assert.deepEqual(list.map((p) => p.spec?.nodeName).sort(), ['basic-1', 'basic-2', 'basic-3']);
    const [revision] = await revisions(ns);
    assert.equal(revision.revision, 1);
    assert.equal(revision.metadata.name, `agent-${revision.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]}`);
    assert.equal(getControllerOf(revision)?.uid, ds.metadata.uid);
    assert.equal((revision.data as { spec: { template: { $patch: string } } }).spec.template.$patch, 'replace');
    for (const pod of list) {
      assert.match(pod.metadata.name!, /^agent-[a-z0-9]{5}$/);
      assert.equal(getControllerOf(pod)?.uid, ds.metadata.uid);
      assert.equal(pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL], revision.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL]);
      assert.equal(pod.metadata.labels?.[POD_TEMPLATE_GENERATION_LABEL], '1');
      const affinity = (pod.spec?.affinity as { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: unknown } }).nodeAffinity;
      assert.deepEqual(affinity.requiredDuringSchedulingIgnoredDuringExecution, {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [pod.spec?.nodeName] }] }],
      });
      const tolerations = (pod.spec?.tolerations as Toleration[]).map((t) => `${t.key}:${t.effect}`).sort();
      assert.deepEqual(tolerations, [
        'node.kubernetes.io/disk-pressure:NoSchedule', 'node.kubernetes.io/memory-pressure:NoSchedule', 'node.kubernetes.io/not-ready:NoExecute',
        'node.kubernetes.io/pid-pressure:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unschedulable:NoSchedule',
      ]);
    }
    await waitFor('3 SuccessfulCreate events', async () => (await events(ns, 'agent')).filter((e) => e.reason === 'SuccessfulCreate' && /^Created pod: agent-/.test(e.message)).length === 3);
  });

  it('respects nodeSelector and taints; the default tolerations admit not-ready and cordoned nodes', async () => {
    const ns = await h.namespace('ds-placement');
    const base = { 'ds-test': 'place' };
    await addNode('place-plain', { ...base, disk: 'ssd' });
    await addNode('place-tainted', { ...base, disk: 'ssd' }, { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] });
    await addNode('place-notready', { ...base, disk: 'ssd' }, { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] });
    await addNode('place-cordoned', { ...base, disk: 'ssd' }, { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] });
    await addNode('place-hdd', { ...base, disk: 'hdd' });
    await h.client.create({ ...daemonSetsResource, namespace: ns }, daemonSet('logs', 'place', {}, { nodeSelector: { ...base, disk: 'ssd' } }));
    await waitFor('3 available', async () => (await getDS(ns, 'logs')).status?.numberAvailable === 3);
    assert.deepEqual(await podNodes(ns, 'logs'), ['place-cordoned', 'place-notready', 'place-plain']);
    assert.equal((await getDS(ns, 'logs')).status?.desiredNumberScheduled, 3);

    // The hdd node turns ssd, the tainted one loses its taint: both get a pod.
    await h.client.patch({ ...resources.nodes, name: 'place-hdd' }, 'merge', { metadata: { labels: { disk: 'ssd' } } });
    await h.client.patch({ ...resources.nodes, name: 'place-tainted' }, 'merge', { spec: { taints: null } });
    await waitFor('5 available', async () => (await getDS(ns, 'logs')).status?.numberAvailable === 5);
    assert.equal((await pods(ns, 'logs')).length, 5);

    // A NoExecute taint the pod does not tolerate evicts it; a NoSchedule one would not.
    await h.client.patch({ ...resources.nodes, name: 'place-plain' }, 'merge', { spec: { taints: [{ key: 'drain', effect: 'NoExecute' }] } });
    await waitFor('the pod off the NoExecute node', async () => !(await podNodes(ns, 'logs')).includes('place-plain'));
    const s = await waitFor('4 desired', async () => { const st = (await getDS(ns, 'logs')).status; return st?.desiredNumberScheduled === 4 && st; });
    assert.equal(s.numberMisscheduled, 0);
  });

  it('follows nodes joining and leaving', async () => {
    const ns = await h.namespace('ds-churn');
    await addNode('churn-1', { 'ds-test': 'churn' });
    await addNode('churn-2', { 'ds-test': 'churn' });
    await h.client.create({ ...daemonSetsResource, namespace: ns }, daemonSet('proxy', 'churn'));
    await waitFor('2 available', async () => (await getDS(ns, 'proxy')).status?.numberAvailable === 2);

    await addNode('churn-3', { 'ds-test': 'churn' });
    await waitFor('a pod on the new node', async () => (await podNodes(ns, 'proxy')).join() === 'churn-1,churn-2,churn-3');
    await waitFor('3 available', async () => (await getDS(ns, 'proxy')).status?.numberAvailable === 3);

    await h.client.delete({ ...resources.nodes, name: 'churn-1' });
    await waitFor('the pod of the removed node gone', async () => (await podNodes(ns, 'proxy')).join() === 'churn-2,churn-3');
    const status = await waitFor('2 desired', async () => { const s = (await getDS(ns, 'proxy')).status; return s?.desiredNumberScheduled === 2 && s.numberAvailable === 2 && s; });
    assert.equal(status.currentNumberScheduled, 2);
  });

  it('rolls out a new template within maxUnavailable, and with maxSurge beside the old pods', async () => {
    const ns = await h.namespace('ds-rolling');
    for (const n of ['roll-1', 'roll-2', 'roll-3', 'roll-4']) await addNode(n, { 'ds-test': 'roll' });
    await h.client.create({ ...daemonSetsResource, namespace: ns }, daemonSet('web', 'roll'));
    await waitFor('4 available', async () => (await getDS(ns, 'web')).status?.numberAvailable === 4);
    const hashOf = (p: Pod) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
    const oldHash = hashOf((await pods(ns, 'web'))[0]);

    h.nodes.setReady(false);
    try {
      await h.client.patch({ ...daemonSetsResource, namespace: ns, name: 'web' }, 'strategic', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'registry.example/agent:2' }] } } } });
      const step = await waitFor('one pod replaced', async () => {
        const list = await pods(ns, 'web');
        const fresh = list.filter((p) => hashOf(p) !== oldHash);
        return list.length === 4 && fresh.length === 1 && list;
      });
      await sleep(500);
      const later = await pods(ns, 'web');
      assert.equal(later.filter((p) => hashOf(p) === oldHash).length, 3, 'no second old pod goes while the new one is unavailable');
      assert.equal(later.filter((p) => !isReady(p)).length, 1);
      assert.equal(new Set(step.map((p) => p.spec?.nodeName)).size, 4);
    } finally {
      h.nodes.setReady(true);
    }
    const done = await waitFor('rolled out', async () => {
      const s = (await getDS(ns, 'web')).status;
      return s?.updatedNumberScheduled === 4 && s.numberAvailable === 4 && s.observedGeneration === 2 && s;
    }, 20_000);
    assert.equal(done.desiredNumberScheduled, 4);
    const revs = (await revisions(ns)).map((r) => r.revision).sort();
    assert.deepEqual(revs, [1, 2]);
    assert.ok((await pods(ns, 'web')).every((p) => p.metadata.labels?.[POD_TEMPLATE_GENERATION_LABEL] === '2'));

    // maxSurge: the new pod starts beside the old one, which goes once the new one is available.
    await h.client.patch({ ...daemonSetsResource, namespace: ns, name: 'web' }, 'merge', { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } } });
    await waitFor('strategy observed', async () => (await getDS(ns, 'web')).status?.observedGeneration === 3);
    const surgeFrom = hashOf((await pods(ns, 'web'))[0]);
    h.nodes.setReady(false);
    try {
      await h.client.patch({ ...daemonSetsResource, namespace: ns, name: 'web' }, 'strategic', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'registry.example/agent:3' }] } } } });
      await waitFor('a surge pod', async () => (await pods(ns, 'web')).filter((p) => hashOf(p) !== surgeFrom).length === 1);
      await sleep(500);
      const list = await pods(ns, 'web');
      assert.equal(list.length, 5, 'four old pods and one new beside one of them');
      assert.equal(list.filter((p) => hashOf(p) === surgeFrom && isReady(p)).length, 4);
    } finally {
      h.nodes.setReady(true);
    }
    await waitFor('surge rollout done', async () => {
      const s = (await getDS(ns, 'web')).status;
      const list = await pods(ns, 'web');
      return s?.updatedNumberScheduled === 4 && s.numberAvailable === 4 && list.length === 4 && list.every((p) => hashOf(p) !== surgeFrom);
    }, 20_000);
  });

  it('OnDelete leaves old pods until they are deleted', async () => {
    const ns = await h.namespace('ds-ondelete');
    await addNode('od-1', { 'ds-test': 'od' });
    await addNode('od-2', { 'ds-test': 'od' });
    await h.client.create({ ...daemonSetsResource, namespace: ns }, daemonSet('cache', 'od', { updateStrategy: { type: 'OnDelete' } }));
    await waitFor('2 available', async () => (await getDS(ns, 'cache')).status?.numberAvailable === 2);
    const before = await pods(ns, 'cache');
    await h.client.patch({ ...daemonSetsResource, namespace: ns, name: 'cache' }, 'strategic', { spec: { template: { spec: { containers: [{ name: 'agent', image: 'registry.example/agent:2' }] } } } });
    await waitFor('generation observed', async () => (await getDS(ns, 'cache')).status?.observedGeneration === 2);
    await sleep(400);
    const still = await pods(ns, 'cache');
    assert.deepEqual(still.map((p) => p.metadata.uid).sort(), before.map((p) => p.metadata.uid).sort());
    assert.equal((await getDS(ns, 'cache')).status?.updatedNumberScheduled ?? 0, 0);

    await h.client.delete({ ...resources.pods, namespace: ns, name: before[0].metadata.name });
    const replaced = await waitFor('a replacement with the new template', async () => {
      const list = await pods(ns, 'cache');
      const fresh = list.find((p) => p.metadata.uid !== before[0].metadata.uid && p.metadata.uid !== before[1].metadata.uid);
      return list.length === 2 && fresh;
    });
    assert.equal((replaced.spec as { containers: { image: string }[] }).containers[0].image, 'registry.example/agent:2');
    assert.equal(replaced.spec?.nodeName ?? targetNodeOf(replaced), before[0].spec?.nodeName);
    await waitFor('1 updated', async () => (await getDS(ns, 'cache')).status?.updatedNumberScheduled === 1);
  });
});
