// The Deployment controller (with the ReplicaSet controller making the pods)
// against a real API server in this process, with stand-in nodes whose
// readiness the tests can freeze to stop a rollout at a step.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEventRecorder } from '../../client/events.ts';
import { createInformer } from '../../client/informer.ts';
import { resources, type KubeObject } from '../../client/interface.ts';
import { StaleReadError } from '../framework/controller.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import type { Deployment, Pod, ReplicaSet } from '../framework/types.ts';
import { startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { scaleReplicaSet, type SyncContext } from './sync.ts';

const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };
const replicasets = { group: 'apps', version: 'v1', resource: 'replicasets' };

function deployment(name: string, replicas: number, spec: Record<string, unknown> = {}, image = 'registry.example/app:1') {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image }] } },
      ...spec,
    },
  };
}

const imageOf = (rs: ReplicaSet) => ((rs.spec.template?.spec?.containers as { image: string }[])[0]).image;
const condition = (d: Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);

/** What `kubectl rollout status` waits for. */
const rolledOut = (d: Deployment) => (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  && (d.status?.updatedReplicas ?? 0) === (d.spec.replicas ?? 1) && (d.status?.replicas ?? 0) === (d.status?.updatedReplicas ?? 0)
  && (d.status?.availableReplicas ?? 0) >= (d.status?.updatedReplicas ?? 0);

describe('deployment controller', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ controllers: 'deployment,replicaset' });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
  });

  const getD = (ns: string, name: string) => h.client.get<Deployment>({ ...deployments, namespace: ns, name });
  const setImage = (ns: string, name: string, image: string) =>
    h.client.patch({ ...deployments, namespace: ns, name }, 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } });
  const sets = async (ns: string) => (await h.client.list<ReplicaSet>({ ...replicasets, namespace: ns })).items;
  const setByImage = async (ns: string, image: string) => (await sets(ns)).find((rs) => imageOf(rs) === image);
  const complete = (ns: string, name: string, timeoutMs?: number) => waitFor(`${name} rolled out`, async () => {
    const d = await getD(ns, name);
    return rolledOut(d) && condition(d, 'Progressing')?.reason === 'NewReplicaSetAvailable' && d;
  }, timeoutMs);
  const events = async (ns: string) => (await h.client.list<KubeObject & { reason: string; message: string }>({ ...resources.events, namespace: ns })).items;

  it('creates a ReplicaSet per template and reports the rollout complete', async () => {
    const ns = await h.namespace('d-create');
    const created = await h.client.create<Deployment>({ ...deployments, namespace: ns }, deployment('web', 3, {}, 'registry.example/web:1'));
    const d = await complete(ns, 'web');
    assert.deepEqual(
      { replicas: d.status?.replicas, updated: d.status?.updatedReplicas, ready: d.status?.readyReplicas, available: d.status?.availableReplicas, unavailable: d.status?.unavailableReplicas ?? 0, observed: d.status?.observedGeneration },
      { replicas: 3, updated: 3, ready: 3, available: 3, unavailable: 0, observed: 1 },
    );
    assert.equal(condition(d, 'Available')?.status, 'True');
    assert.equal(condition(d, 'Available')?.reason, 'MinimumReplicasAvailable');
    assert.equal(condition(d, 'Progressing')?.status, 'True');
    assert.match(condition(d, 'Progressing')!.message!, /^ReplicaSet "web-[a-z0-9]+" has successfully progressed\.$/);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');

    const [rs] = await sets(ns);
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.match(hash!, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(rs.metadata.name, `web-${hash}`);
    assert.deepEqual(rs.spec.selector, { matchLabels: { app: 'web', 'pod-template-hash': hash } });
    assert.deepEqual(rs.spec.template?.metadata?.labels, { app: 'web', 'pod-template-hash': hash });
    assert.equal(getControllerOf(rs)?.uid, created.metadata.uid);
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    const pods = (await h.client.list<Pod>({ ...resources.pods, namespace: ns })).items;
    assert.equal(pods.length, 3);
    assert.ok(pods.every((p) => p.metadata.labels?.['pod-template-hash'] === hash && getControllerOf(p)?.uid === rs.metadata.uid));
    await waitFor('the scaling event', async () => (await events(ns)).some((e) => e.reason === 'ScalingReplicaSet' && e.message === `Scaled up replica set ${rs.metadata.name} from 0 to 3`));
  });

  it('rolls to a new image within maxSurge and maxUnavailable', async () => {
    const ns = await h.namespace('d-rolling');
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    await h.client.create({ ...deployments, namespace: ns }, deployment('app', 4, { strategy }));
    await complete(ns, 'app');

    // Watch every change of the sets and pods while the rollout runs.
    let maxPods = 0;
    let minReady = Infinity;
    const rsInformer = createInformer<ReplicaSet>({ client: h.client, ref: { ...replicasets, namespace: ns } });
    const podInformer = createInformer<Pod>({ client: h.client, ref: { ...resources.pods, namespace: ns } });
    const observe = () => {
      maxPods = Math.max(maxPods, rsInformer.lister.list().reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0));
      const ready = podInformer.lister.list().filter((p) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (podInformer.hasSynced()) minReady = Math.min(minReady, ready.length);
    };
    rsInformer.addEventHandler({ onAdd: observe, onUpdate: observe, onDelete: observe });
    podInformer.addEventHandler({ onAdd: observe, onUpdate: observe, onDelete: observe });
    rsInformer.start();
    podInformer.start();
    try {
      await rsInformer.waitForSync();
      await podInformer.waitForSync();
      // Frozen readiness: the new set may surge by one, and no old pod may go.
      h.nodes.setReady(false);
      await setImage(ns, 'app', 'registry.example/app:2');
      const frozen = await waitFor('one surge pod', async () => {
        const [oldRS, newRS] = [await setByImage(ns, 'registry.example/app:1'), await setByImage(ns, 'registry.example/app:2')];
        return newRS?.spec.replicas === 1 && newRS.status?.replicas === 1 && { oldRS, newRS };
      });
      assert.equal(frozen.oldRS?.spec.replicas, 4);
      // Created first (NewReplicaSetCreated), then progressing as the surge pod shows up in the set's status.
      const midway = await waitFor('progressing', async () => {
        const d = await getD(ns, 'app');
        return condition(d, 'Progressing')?.reason === 'ReplicaSetUpdated' && d;
      });
      assert.equal(condition(midway, 'Available')?.status, 'True');
      assert.equal(midway.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
      assert.equal(frozen.newRS.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');

      h.nodes.setReady(true);
      const d = await complete(ns, 'app');
      assert.equal(d.status?.updatedReplicas, 4);
      const oldRS = await setByImage(ns, 'registry.example/app:1');
      assert.equal(oldRS?.spec.replicas, 0);
      assert.equal(oldRS?.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
      assert.ok(maxPods <= 5, `at most replicas + maxSurge pods wanted, saw ${maxPods}`);
      assert.ok(minReady >= 4, `never below replicas - maxUnavailable ready pods, saw ${minReady}`);
      const messages = (await events(ns)).filter((e) => e.reason === 'ScalingReplicaSet').map((e) => e.message);
      assert.ok(messages.some((m) => /^Scaled down replica set app-\w+ from 4 to 3$/.test(m)), messages.join('\n'));
    } finally {
      h.nodes.setReady(true);
      rsInformer.stop();
      podInformer.stop();
    }
  });

  it('Recreate removes every old pod before the first new one', async () => {
    const ns = await h.namespace('d-recreate');
    await h.client.create({ ...deployments, namespace: ns }, deployment('db', 2, { strategy: { type: 'Recreate' } }));
    await complete(ns, 'db');
    const oldUids = new Set((await h.client.list<Pod>({ ...resources.pods, namespace: ns })).items.map((p) => p.metadata.uid));
    const pods = createInformer<Pod>({ client: h.client, ref: { ...resources.pods, namespace: ns } });
    let overlap = 0;
    pods.addEventHandler({
      onAdd: (pod) => {
        if (oldUids.has(pod.metadata.uid)) return;
        overlap = Math.max(overlap, pods.lister.list().filter((p) => oldUids.has(p.metadata.uid)).length);
      },
    });
    pods.start();
    try {
      await pods.waitForSync();
      await setImage(ns, 'db', 'registry.example/app:2');
      const d = await complete(ns, 'db');
      assert.equal(d.status?.replicas, 2);
      assert.equal(overlap, 0, 'old pods still existed when a new one was created');
      assert.equal((await setByImage(ns, 'registry.example/app:1'))?.spec.replicas, 0);
    } finally {
      pods.stop();
    }
  });

  it('does not roll while paused, and rolls on resume', async () => {
    const ns = await h.namespace('d-pause');
    await h.client.create({ ...deployments, namespace: ns }, deployment('p', 2));
    await complete(ns, 'p');
    await h.client.patch({ ...deployments, namespace: ns, name: 'p' }, 'merge', { spec: { paused: true } });
    await waitFor('paused condition', async () => condition(await getD(ns, 'p'), 'Progressing')?.reason === 'DeploymentPaused');
    await setImage(ns, 'p', 'registry.example/app:2');
    // Scaling still works while paused; the template change does not roll.
    await h.client.patch({ ...deployments, namespace: ns, name: 'p' }, 'merge', { spec: { replicas: 3 } });
    const paused = await waitFor('scaled while paused', async () => {
      const d = await getD(ns, 'p');
      return d.status?.observedGeneration === d.metadata.generation && d.status?.availableReplicas === 3 && d;
    });
    assert.equal(condition(paused, 'Progressing')?.status, 'Unknown');
    assert.equal((await sets(ns)).length, 1);
    assert.equal(paused.status?.updatedReplicas ?? 0, 0);

    await h.client.patch({ ...deployments, namespace: ns, name: 'p' }, 'merge', { spec: { paused: false } });
    await complete(ns, 'p');
    assert.equal((await setByImage(ns, 'registry.example/app:2'))?.spec.replicas, 3);
    assert.equal((await setByImage(ns, 'registry.example/app:1'))?.spec.replicas, 0);
  });

  it('rolls back to an old template: that set becomes new with the next revision', async () => {
    const ns = await h.namespace('d-undo');
    await h.client.create({ ...deployments, namespace: ns }, deployment('u', 2));
    await complete(ns, 'u');
    await setImage(ns, 'u', 'registry.example/app:2');
    await waitFor('revision 2 rolled out', async () => (await getD(ns, 'u')).metadata.annotations?.['deployment.kubernetes.io/revision'] === '2' && rolledOut(await getD(ns, 'u')));
    const first = (await setByImage(ns, 'registry.example/app:1'))!;
    // What `kubectl rollout undo` sends: the old set's template without its hash label.
    const template = structuredClone(first.spec.template!);
    delete template.metadata!.labels!['pod-template-hash'];
    await h.client.patch({ ...deployments, namespace: ns, name: 'u' }, 'json', [{ op: 'replace', path: '/spec/template', value: template }]);
    const d = await waitFor('revision 3', async () => {
      const dep = await getD(ns, 'u');
      return dep.metadata.annotations?.['deployment.kubernetes.io/revision'] === '3' && rolledOut(dep) && condition(dep, 'Progressing')?.reason === 'NewReplicaSetAvailable' && dep;
    });
    assert.equal(d.status?.updatedReplicas, 2);
    const all = await sets(ns);
    assert.equal(all.length, 2, 'no third set for a template that existed');
    const back = all.find((rs) => rs.metadata.uid === first.metadata.uid)!;
    assert.equal(back.spec.replicas, 2);
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    assert.equal((await setByImage(ns, 'registry.example/app:2'))?.spec.replicas, 0);
  });

  it('keeps only revisionHistoryLimit old sets', async () => {
    const ns = await h.namespace('d-history');
    await h.client.create({ ...deployments, namespace: ns }, deployment('hist', 1, { revisionHistoryLimit: 1 }));
    await complete(ns, 'hist');
    for (const version of [2, 3, 4]) {
      await setImage(ns, 'hist', `registry.example/app:${version}`);
      await waitFor(`revision ${version}`, async () => {
        const d = await getD(ns, 'hist');
        return d.metadata.annotations?.['deployment.kubernetes.io/revision'] === String(version) && rolledOut(d);
      });
    }
    const remaining = await waitFor('old sets pruned', async () => {
      const list = await sets(ns);
      return list.length === 2 && list;
    });
    assert.deepEqual(remaining.map(imageOf).sort(), ['registry.example/app:3', 'registry.example/app:4']);
  });

  it('spreads a resize over old and new sets in proportion during a rollout', async () => {
    const ns = await h.namespace('d-proportional');
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } };
    await h.client.create({ ...deployments, namespace: ns }, deployment('prop', 10, { strategy }));
    await complete(ns, 'prop');
    h.nodes.setReady(false);
    try {
      await setImage(ns, 'prop', 'registry.example/app:2');
      // New pods never become ready: the rollout stops at old 8 (10 - maxUnavailable) and new 5 (13 - 8).
      await waitFor('stuck at 8 + 5', async () => {
        const [o, n] = [await setByImage(ns, 'registry.example/app:1'), await setByImage(ns, 'registry.example/app:2')];
        return o?.spec.replicas === 8 && n?.spec.replicas === 5 && o.status?.replicas === 8 && n.status?.replicas === 5;
      });
      await h.client.patch({ ...deployments, namespace: ns, name: 'prop' }, 'merge', { spec: { replicas: 30 } });
      // 33 allowed (30 + 3 surge), 20 to add: old 8·33/13 ≈ 20 (+12), new gets the remaining 8.
      const sizes = await waitFor('proportional sizes', async () => {
        const [o, n] = [await setByImage(ns, 'registry.example/app:1'), await setByImage(ns, 'registry.example/app:2')];
        return o?.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'] === '30' && n?.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'] === '30' && { old: o.spec.replicas, new: n.spec.replicas };
      });
      assert.deepEqual(sizes, { old: 20, new: 13 });
    } finally {
      h.nodes.setReady(true);
    }
    const d = await complete(ns, 'prop', 20_000);
    assert.equal(d.status?.availableReplicas, 30);
    assert.equal((await setByImage(ns, 'registry.example/app:1'))?.spec.replicas, 0);
  });

  it('refuses to resize a set from a stale size', async () => {
    const ns = await h.namespace('d-stale');
    const created = await h.client.create<ReplicaSet>({ ...replicasets, namespace: ns }, {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'lone' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'lone' } }, template: { metadata: { labels: { app: 'lone' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } },
    });
    const recorder = createEventRecorder({ client: h.client, component: 'test' });
    const ctx: SyncContext = {
      client: h.client, recorder, replicaSets: { get: () => undefined } as unknown as SyncContext['replicaSets'],
      now: () => new Date(), logger: { info() {}, warn() {} }, enqueueAfter() {}, enqueueRateLimited() {},
    };
    const owner = deployment('lone', 2) as unknown as Deployment;
    const stale = { ...created, spec: { ...created.spec, replicas: 1 } };
    await assert.rejects(scaleReplicaSet(ctx, stale, 2, owner, 'up'), StaleReadError);
    const scaled = await scaleReplicaSet(ctx, created, 2, owner, 'up');
    assert.equal(scaled.spec.replicas, 2);
    assert.equal(scaled.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '2');
    await h.client.delete({ ...replicasets, namespace: ns, name: 'lone' });
    await recorder.flush();
  });

  it('reports ProgressDeadlineExceeded when a rollout stalls', async () => {
    const ns = await h.namespace('d-deadline');
    await h.client.create({ ...deployments, namespace: ns }, deployment('slow', 1, { progressDeadlineSeconds: 1 }));
    await complete(ns, 'slow');
    h.nodes.setReady(false);
    try {
      await setImage(ns, 'slow', 'registry.example/app:2');
      const progressing = await waitFor('deadline exceeded', async () => {
        const c = condition(await getD(ns, 'slow'), 'Progressing');
        return c?.reason === 'ProgressDeadlineExceeded' && c;
      });
      assert.equal(progressing.status, 'False');
      assert.match(progressing.message!, /^ReplicaSet "slow-\w+" has timed out progressing\.$/);
    } finally {
      h.nodes.setReady(true);
    }
    await complete(ns, 'slow');
  });
});
