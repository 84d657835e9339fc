// The ReplicaSet and ReplicationController controller against a real API
// server in this process, over the real client, with stand-in nodes that
// bind pods and report them Running/Ready.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import type { Pod, ReplicaSet } from '../framework/types.ts';
import { HOLD_LABEL, startHarness, waitFor, type Harness } from '../testing/harness.ts';

const rsResource = { group: 'apps', version: 'v1', resource: 'replicasets' };
const rcResource = { group: '', version: 'v1', resource: 'replicationcontrollers' };
const container = { name: 'app', image: 'registry.example/app:1', terminationGracePeriodSeconds: undefined };

function replicaSet(name: string, replicas: number, labels: Record<string, string>, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name },
    spec: {
      replicas, selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: container.name, image: container.image }] } },
      ...spec,
    },
  };
}

function orphanPod(name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, labels, ...extra },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: container.name, image: container.image }] },
  };
}

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('replicaset controller', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ controllers: 'replicaset,replicationcontroller' });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
  });

  const pods = async (namespace: string, selector: string) =>
    (await h.client.list<Pod>({ ...resources.pods, namespace }, { labelSelector: selector })).items.filter((p) => !p.metadata.deletionTimestamp);
  const getRS = (namespace: string, name: string) => h.client.get<ReplicaSet>({ ...rsResource, namespace, name });
  const events = async (namespace: string, name: string) =>
    (await h.client.list<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>({ ...resources.events, namespace }))
      .items.filter((e) => e.involvedObject.name === name);

  it('creates pods from the template, owns them, and reports status', async () => {
    const ns = await h.namespace('rs-create');
    const rs = await h.client.create<ReplicaSet>({ ...rsResource, namespace: ns }, replicaSet('web', 3, { app: 'web' }));
    const status = await waitFor('3 available replicas', async () => {
      const s = (await getRS(ns, 'web')).status;
      return s?.availableReplicas === 3 && s.readyReplicas === 3 && s.replicas === 3 && s;
    });
    assert.equal(status.fullyLabeledReplicas, 3);
    assert.equal(status.observedGeneration, 1);
    const owned = await pods(ns, 'app=web');
    assert.equal(owned.length, 3);
    for (const pod of owned) {
      assert.match(pod.metadata.name!, /^web-[a-z0-9]{5}$/);
      assert.equal(pod.metadata.generateName, 'web-');
      assert.deepEqual(getControllerOf(pod), { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true });
      assert.deepEqual(pod.metadata.labels, { app: 'web' });
    }
    const created = await waitFor('3 SuccessfulCreate events', async () => {
      const list = (await events(ns, 'web')).filter((e) => e.reason === 'SuccessfulCreate');
      return list.length === 3 && list;
    });
    assert.deepEqual(created.map((e) => e.message).sort(), owned.map((p) => `Created pod: ${p.metadata.name}`).sort());
  });

  it('scales down and up, and replaces a deleted pod', async () => {
    const ns = await h.namespace('rs-scale');
    await h.client.create({ ...rsResource, namespace: ns }, replicaSet('api', 4, { app: 'api' }));
    await waitFor('4 pods', async () => (await pods(ns, 'app=api')).length === 4);
    await h.client.patch({ ...rsResource, namespace: ns, name: 'api' }, 'merge', { spec: { replicas: 2 } });
    await waitFor('2 replicas in status', async () => {
      const s = (await getRS(ns, 'api')).status;
      return s?.replicas === 2 && s.observedGeneration === 2 && (await pods(ns, 'app=api')).length === 2;
    });
    await waitFor('2 SuccessfulDelete events', async () => (await events(ns, 'api')).filter((e) => e.reason === 'SuccessfulDelete' && /^Deleted pod: api-/.test(e.message)).length === 2);

    await h.client.patch({ ...rsResource, namespace: ns, name: 'api' }, 'merge', { spec: { replicas: 3 } });
    await waitFor('3 available', async () => (await getRS(ns, 'api')).status?.availableReplicas === 3);

    const [victim] = await pods(ns, 'app=api');
    await h.client.delete({ ...resources.pods, namespace: ns, name: victim.metadata.name });
    const healed = await waitFor('a replacement pod', async () => {
      const list = await pods(ns, 'app=api');
      return list.length === 3 && !list.some((p) => p.metadata.uid === victim.metadata.uid) && list.every(isReady) && list;
    });
    assert.equal(healed.length, 3);
  });

  it('adopts matching orphans, deletes the least useful surplus first, never takes pods of another controller', async () => {
    const ns = await h.namespace('rs-adopt');
    const labels = { app: 'pick' };
    const foreignOwner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'other', uid: '00000000-0000-0000-0000-000000000001', controller: true };
    for (const [name, extra] of [
      ['ready-1', {}], ['ready-2', {}],
      ['unbound', { labels: { ...labels, [HOLD_LABEL]: 'unbound' } }],
      ['pending', { labels: { ...labels, [HOLD_LABEL]: 'pending' } }],
      ['unready', { labels: { ...labels, [HOLD_LABEL]: 'unready' } }],
      ['foreign', { ownerReferences: [foreignOwner] }],
    ] as const) {
      await h.client.create({ ...resources.pods, namespace: ns }, orphanPod(name, labels, extra));
    }
    await waitFor('the orphans in their states', async () => {
      const byName = new Map((await pods(ns, 'app=pick')).map((p) => [p.metadata.name, p]));
      return isReady(byName.get('ready-1')!) && isReady(byName.get('ready-2')!) && byName.get('pending')?.spec?.nodeName
        && byName.get('unready')?.status?.phase === 'Running' && !isReady(byName.get('unready')!);
    });

    const rs = await h.client.create<ReplicaSet>({ ...rsResource, namespace: ns }, replicaSet('pick', 2, labels));
    const survivors = await waitFor('surplus deleted', async () => {
      const list = await pods(ns, 'app=pick');
      return list.length === 3 && list;
    });
    assert.deepEqual(survivors.map((p) => p.metadata.name).sort(), ['foreign', 'ready-1', 'ready-2']);
    const byName = new Map(survivors.map((p) => [p.metadata.name, p]));
    assert.equal(getControllerOf(byName.get('ready-1')!)?.uid, rs.metadata.uid);
    assert.equal(getControllerOf(byName.get('ready-2')!)?.uid, rs.metadata.uid);
    assert.equal(getControllerOf(byName.get('foreign')!)?.uid, foreignOwner.uid);
    // The unscheduled pod first, then the pending one, then the one not ready.
    const deletions = await waitFor('3 deletion events', async () => {
      const list = (await events(ns, 'pick')).filter((e) => e.reason === 'SuccessfulDelete');
      return list.length === 3 && list;
    });
    assert.deepEqual(deletions.map((e) => e.message).sort(), ['Deleted pod: pending', 'Deleted pod: unbound', 'Deleted pod: unready']);
    assert.equal((await getRS(ns, 'pick')).status?.replicas, 2);
  });

  it('releases a pod whose labels stop matching and replaces it', async () => {
    const ns = await h.namespace('rs-release');
    await h.client.create({ ...rsResource, namespace: ns }, replicaSet('rel', 2, { app: 'rel' }));
    await waitFor('2 ready', async () => (await getRS(ns, 'rel')).status?.readyReplicas === 2);
    const [pod] = await pods(ns, 'app=rel');
    await h.client.patch({ ...resources.pods, namespace: ns, name: pod.metadata.name }, 'merge', { metadata: { labels: { app: 'debug' } } });
    const released = await waitFor('released', async () => {
      const p = await h.client.get<Pod>({ ...resources.pods, namespace: ns, name: pod.metadata.name });
      return !getControllerOf(p) && p;
    });
    assert.deepEqual(released.metadata.ownerReferences ?? [], []);
    await waitFor('a replacement', async () => (await pods(ns, 'app=rel')).length === 2 && (await getRS(ns, 'rel')).status?.availableReplicas === 2);
  });

  it('reports ReplicaFailure when pods cannot be created, and clears it once they can', async () => {
    const ns = await h.namespace('rs-failure');
    const rs = replicaSet('prio', 2, { app: 'prio' });
    (rs.spec.template.spec as Record<string, unknown>).priorityClassName = 'missing-class';
    await h.client.create({ ...rsResource, namespace: ns }, rs);
    const condition = await waitFor('ReplicaFailure', async () => (await getRS(ns, 'prio')).status?.conditions?.find((c) => c.type === 'ReplicaFailure'));
    assert.equal(condition.status, 'True');
    assert.equal(condition.reason, 'FailedCreate');
    assert.match(condition.message!, /no PriorityClass with name missing-class was found/);
    const failed = await waitFor('FailedCreate event', async () => (await events(ns, 'prio')).find((e) => e.reason === 'FailedCreate'));
    assert.match(failed.message, /^Error creating: .*no PriorityClass with name missing-class was found/);

    await h.client.create({ group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses' }, {
      apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'missing-class' }, value: 100,
    });
    await waitFor('pods created and the condition gone', async () => {
      const s = (await getRS(ns, 'prio')).status;
      return s?.replicas === 2 && !s.conditions?.some((c) => c.type === 'ReplicaFailure');
    }, 20_000);
  });

  it('counts pods available only minReadySeconds after they became ready', async () => {
    const ns = await h.namespace('rs-minready');
    await h.client.create({ ...rsResource, namespace: ns }, replicaSet('slow', 2, { app: 'slow' }, { minReadySeconds: 3 }));
    const ready = await waitFor('2 ready', async () => {
      const s = (await getRS(ns, 'slow')).status;
      return s?.readyReplicas === 2 && s;
    });
    assert.equal(ready.availableReplicas ?? 0, 0, 'not yet available when just ready');
    // Nothing else happens to these pods: only the controller's own delayed requeue can notice the time passing.
    await waitFor('2 available', async () => (await getRS(ns, 'slow')).status?.availableReplicas === 2, 8000);
  });

  it('catches up after a restart with every event missed', async () => {
    const ns = await h.namespace('rs-restart');
    await h.client.create({ ...rsResource, namespace: ns }, replicaSet('lvl', 2, { app: 'lvl' }));
    await waitFor('2 available', async () => (await getRS(ns, 'lvl')).status?.availableReplicas === 2);
    let removed = '';
    await h.restartManager(async () => {
      const [pod] = await pods(ns, 'app=lvl');
      removed = pod.metadata.uid!;
      await h.client.delete({ ...resources.pods, namespace: ns, name: pod.metadata.name });
      await h.client.patch({ ...rsResource, namespace: ns, name: 'lvl' }, 'merge', { spec: { replicas: 4 } });
    });
    const list = await waitFor('4 pods, status current', async () => {
      const s = (await getRS(ns, 'lvl')).status;
      const current = await pods(ns, 'app=lvl');
      return s?.availableReplicas === 4 && s.observedGeneration === 2 && current.length === 4 && current;
    });
    assert.ok(!list.some((p) => p.metadata.uid === removed));
  });

  it('runs ReplicationControllers with their map selector', async () => {
    const ns = await h.namespace('rc');
    const rc = await h.client.create<ReplicaSet>({ ...rcResource, namespace: ns }, {
      apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy' },
      spec: { replicas: 2, selector: { app: 'legacy' }, template: { metadata: { labels: { app: 'legacy', tier: 'x' } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'i' }] } } },
    });
    const status = await waitFor('2 available', async () => {
      const s = (await h.client.get<ReplicaSet>({ ...rcResource, namespace: ns, name: 'legacy' })).status;
      return s?.availableReplicas === 2 && s;
    });
    assert.equal(status.fullyLabeledReplicas, 2);
    const owned = await pods(ns, 'app=legacy');
    assert.equal(owned.length, 2);
    assert.deepEqual(getControllerOf(owned[0]), { apiVersion: 'v1', kind: 'ReplicationController', name: 'legacy', uid: rc.metadata.uid, controller: true, blockOwnerDeletion: true });
  });
});
