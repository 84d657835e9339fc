// The StatefulSet controller against a real API server in this process,
// over the real client, with the harness's stand-in nodes binding pods and
// reporting them Running/Ready. Orders are checked on a watch of the pods:
// the server orders its events, so "web-1 was added only after web-0 was
// ready" is exact, not a matter of polling luck.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject, type WatchEvent } from '../../client/interface.ts';
import { getControllerOf } from '../framework/controller-ref.ts';
import { CONTROLLER_REVISION_HASH_LABEL, controllerRevisionsResource, type ControllerRevision } from '../framework/history.ts';
import type { Pod } from '../framework/types.ts';
import { sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { POD_INDEX_LABEL, POD_NAME_LABEL, statefulSetsResource, type Claim, type StatefulSet } from './identity.ts';

const claimsResource = resources.persistentVolumeClaims;
const isReady = (pod: Pod) => pod.status?.phase === 'Running' && (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false);

function statefulSet(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name },
    spec: {
      replicas: 3, serviceName: `${name}-svc`,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.example/app:1' }] } },
      ...spec,
    },
  };
}

const dataClaim = { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };

/** Pod watch events of a namespace, in the server's order. */
function recordPods(h: Harness, namespace: string) {
  const seen: WatchEvent<Pod>[] = [];
  const stream = h.client.watch<Pod>({ ...resources.pods, namespace });
  const done = (async () => { for await (const e of stream) seen.push(e); })().catch(() => {});
  return {
    seen,
    names: (type: WatchEvent['type']) => seen.filter((e) => e.type === type).map((e) => e.object.metadata.name),
    async stop() { stream.stop(); await done; },
  };
}

/** For each ADDED pod web-n (n > first), the state of web-(n-1) just before: it must have been ready. */
function predecessorsReadyOnAdd(events: readonly WatchEvent<Pod>[], prefix: string, first: number): boolean {
  const last = new Map<string, Pod>();
  for (const e of events) {
    const name = e.object.metadata.name!;
    if (e.type === 'ADDED') {
      const n = Number(name.slice(prefix.length + 1));
      if (n > first) {
        const previous = last.get(`${prefix}-${n - 1}`);
        if (!previous || !isReady(previous)) return false;
      }
    }
    if (e.type === 'DELETED') last.delete(name);
    else last.set(name, e.object);
  }
  return true;
}

describe('statefulset controller', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ controllers: 'statefulset' });
  });

  after(async () => {
    if (process.env.SHOW_WARNINGS) console.log(h?.warnings);
    await h?.stop();
  });

  const pods = async (namespace: string, app: string) =>
    (await h.client.list<Pod>({ ...resources.pods, namespace }, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
  const names = async (namespace: string, app: string) => (await pods(namespace, app)).map((p) => p.metadata.name).sort();
  const getSts = (namespace: string, name: string) => h.client.get<StatefulSet>({ ...statefulSetsResource, namespace, name });
  const claims = async (namespace: string) => (await h.client.list<Claim>({ ...claimsResource, namespace })).items.filter((c) => !c.metadata.deletionTimestamp);
  const events = async (namespace: string, name: string) =>
    (await h.client.list<KubeObject & { reason: string; message: string; involvedObject: { name: string } }>({ ...resources.events, namespace }))
      .items.filter((e) => e.involvedObject.name === name);
  const revisionOf = (pod: Pod) => pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];

  it('OrderedReady: creates web-0, web-1, web-2 one at a time, with stable identities and status', async () => {
    const ns = await h.namespace('sts-ordered');
    const recorder = recordPods(h, ns);
    try {
      h.nodes.setReady(false);
      let set: StatefulSet;
      try {
        set = await h.client.create<StatefulSet>({ ...statefulSetsResource, namespace: ns }, statefulSet('web'));
        await waitFor('web-0 running', async () => (await pods(ns, 'web')).some((p) => p.status?.phase === 'Running'));
        await sleep(400);
        assert.deepEqual(await names(ns, 'web'), ['web-0'], 'web-1 waits for web-0 to be ready');
      } finally {
        h.nodes.setReady(true);
      }
      const status = await waitFor('3 ready', async () => {
        const s = (await getSts(ns, 'web')).status;
        return s?.readyReplicas === 3 && s.availableReplicas === 3 && s.currentReplicas === 3 && s;
      });
      assert.equal(status.replicas, 3);
      assert.equal(status.updatedReplicas, 3);
      assert.equal(status.observedGeneration, 1);
      assert.equal(status.collisionCount, 0);
      assert.ok(status.currentRevision && status.currentRevision === status.updateRevision);
      assert.deepEqual(recorder.names('ADDED'), ['web-0', 'web-1', 'web-2']);
      assert.ok(predecessorsReadyOnAdd(recorder.seen, 'web', 0), 'each pod was created only after its predecessor was Running and Ready');

      for (const pod of await pods(ns, 'web')) {
        const ordinal = pod.metadata.name!.slice('web-'.length);
        assert.equal(pod.spec?.hostname, pod.metadata.name);
        assert.equal(pod.spec?.subdomain, 'web-svc');
        assert.equal(pod.metadata.labels?.[POD_NAME_LABEL], pod.metadata.name);
        assert.equal(pod.metadata.labels?.[POD_INDEX_LABEL], ordinal);
        assert.equal(revisionOf(pod), status.updateRevision);
        assert.equal(getControllerOf(pod)?.uid, set!.metadata.uid);
      }
      const [revision] = (await h.client.list<ControllerRevision>({ ...controllerRevisionsResource, namespace: ns })).items;
      assert.equal(revision.metadata.name, status.updateRevision);
      assert.equal(revision.revision, 1);
      await waitFor('creation events', async () => {
        const messages = (await events(ns, 'web')).filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message).sort();
        return messages.join('|') === ['web-0', 'web-1', 'web-2'].map((p) => `create Pod ${p} in StatefulSet web successful`).join('|');
      });

      // Scale down: the highest ordinal goes first, one at a time.
      await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'web' }, 'merge', { spec: { replicas: 1 } });
      await waitFor('1 replica', async () => (await names(ns, 'web')).join() === 'web-0' && (await getSts(ns, 'web')).status?.replicas === 1);
      await waitFor('both deletions seen', () => recorder.names('DELETED').length === 2);
      assert.deepEqual(recorder.names('DELETED'), ['web-2', 'web-1']);
    } finally {
      await recorder.stop();
    }
  });

  it('Parallel: creates all pods at once; ordinals.start shifts the names', async () => {
    const ns = await h.namespace('sts-parallel');
    h.nodes.setReady(false);
    try {
      await h.client.create({ ...statefulSetsResource, namespace: ns }, statefulSet('par', { podManagementPolicy: 'Parallel', ordinals: { start: 5 } }));
      await waitFor('3 pods before any is ready', async () => (await names(ns, 'par')).join() === 'par-5,par-6,par-7');
      assert.ok((await pods(ns, 'par')).every((p) => !isReady(p)));
    } finally {
      h.nodes.setReady(true);
    }
    await waitFor('3 ready', async () => (await getSts(ns, 'par')).status?.readyReplicas === 3);
    await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'par' }, 'merge', { spec: { replicas: 1 } });
    await waitFor('only par-5 left', async () => (await names(ns, 'par')).join() === 'par-5');
  });

  it('creates claims from volumeClaimTemplates before the pods and mounts them; whenScaled=Delete removes them on scale-down', async () => {
    const ns = await h.namespace('sts-claims');
    await h.client.create({ ...statefulSetsResource, namespace: ns }, statefulSet('db', {
      volumeClaimTemplates: [dataClaim],
      persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Retain' },
    }));
    await waitFor('3 ready', async () => (await getSts(ns, 'db')).status?.readyReplicas === 3);
    const made = await claims(ns);
    assert.deepEqual(made.map((c) => c.metadata.name).sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
    for (const claim of made) {
      assert.deepEqual(claim.metadata.labels, { app: 'db' });
      assert.deepEqual(claim.metadata.ownerReferences ?? [], [], 'no owner while in range: whenDeleted is Retain');
    }
    for (const pod of await pods(ns, 'db')) {
      const volumes = pod.spec?.volumes as { name: string; persistentVolumeClaim?: { claimName: string } }[];
      assert.deepEqual(volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName, `data-${pod.metadata.name}`);
    }
    await waitFor('claim events', async () => (await events(ns, 'db')).some((e) => e.reason === 'SuccessfulCreate' && e.message === 'create Claim data-db-0 Pod db-0 in StatefulSet db success'));

    await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'db' }, 'merge', { spec: { replicas: 1 } });
    await waitFor('claims of the removed pods deleted', async () => (await claims(ns)).map((c) => c.metadata.name).join() === 'data-db-0');
    const kept = (await claims(ns))[0];
    assert.equal(kept.metadata.uid, made.find((c) => c.metadata.name === 'data-db-0')!.metadata.uid);

    await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'db' }, 'merge', { spec: { replicas: 2 } });
    await waitFor('2 ready', async () => (await getSts(ns, 'db')).status?.readyReplicas === 2);
    const again = (await claims(ns)).find((c) => c.metadata.name === 'data-db-1');
    assert.ok(again && again.metadata.uid !== made.find((c) => c.metadata.name === 'data-db-1')!.metadata.uid, 'a fresh claim for db-1');
  });

  it('keeps claims by default; whenDeleted=Delete owns them by the set and removes them once the set and its pods are gone', async () => {
    const ns = await h.namespace('sts-retain');
    await h.client.create({ ...statefulSetsResource, namespace: ns }, statefulSet('keep', { replicas: 2, volumeClaimTemplates: [dataClaim] }));
    await waitFor('2 ready', async () => (await getSts(ns, 'keep')).status?.readyReplicas === 2);
    await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'keep' }, 'merge', { spec: { replicas: 1 } });
    await waitFor('1 pod', async () => (await names(ns, 'keep')).join() === 'keep-0');
    await sleep(200);
    assert.deepEqual((await claims(ns)).map((c) => c.metadata.name).sort(), ['data-keep-0', 'data-keep-1']);

    const gone = await h.client.create<StatefulSet>({ ...statefulSetsResource, namespace: ns }, statefulSet('gone', {
      replicas: 2, volumeClaimTemplates: [dataClaim], persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    }));
    await waitFor('2 ready', async () => (await getSts(ns, 'gone')).status?.readyReplicas === 2);
    const owned = (await claims(ns)).filter((c) => c.metadata.name!.includes('-gone-'));
    assert.equal(owned.length, 2);
    for (const c of owned) assert.deepEqual(c.metadata.ownerReferences?.map((r) => [r.kind, r.uid]), [['StatefulSet', gone.metadata.uid]]);
    await h.client.delete({ ...statefulSetsResource, namespace: ns, name: 'gone' });
    // No garbage collector yet: the pods stay (and keep their claims) until deleted.
    await sleep(200);
    assert.equal((await claims(ns)).filter((c) => c.metadata.name!.includes('-gone-')).length, 2);
    for (const name of ['gone-0', 'gone-1']) await h.client.delete({ ...resources.pods, namespace: ns, name });
    await waitFor('the set\'s claims deleted', async () => (await claims(ns)).map((c) => c.metadata.name).sort().join() === 'data-keep-0,data-keep-1');
  });

  it('RollingUpdate honours the partition, then updates in reverse ordinal order', async () => {
    const ns = await h.namespace('sts-rolling');
    await h.client.create({ ...statefulSetsResource, namespace: ns }, statefulSet('roll', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
    const first = await waitFor('3 ready', async () => { const s = (await getSts(ns, 'roll')).status; return s?.readyReplicas === 3 && s; });
    const recorder = recordPods(h, ns);
    let done: StatefulSet['status'];
    try {
      await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'roll' }, 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/app:2' }] } } } });
      const partial = await waitFor('roll-2 updated', async () => {
        const s = (await getSts(ns, 'roll')).status;
        return s?.updatedReplicas === 1 && s.readyReplicas === 3 && s.observedGeneration === 2 && s;
      });
      assert.equal(partial.currentRevision, first.currentRevision);
      assert.notEqual(partial.updateRevision, first.updateRevision);
      assert.equal(partial.currentReplicas, 2);
      await sleep(300);
      const byName = new Map((await pods(ns, 'roll')).map((p) => [p.metadata.name, revisionOf(p)]));
      assert.deepEqual([byName.get('roll-0'), byName.get('roll-1'), byName.get('roll-2')], [first.updateRevision, first.updateRevision, partial.updateRevision]);

      await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'roll' }, 'merge', { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
      done = await waitFor('all updated', async () => {
        const s = (await getSts(ns, 'roll')).status;
        return s?.updatedReplicas === 3 && s.readyReplicas === 3 && s.currentRevision === s.updateRevision && s;
      });
      assert.equal(done.updateRevision, partial.updateRevision);
      assert.equal(done.currentReplicas, 3);
      await waitFor('deletions seen', () => recorder.names('DELETED').length === 3);
      assert.deepEqual(recorder.names('DELETED'), ['roll-2', 'roll-1', 'roll-0']);
    } finally {
      await recorder.stop();
    }
    const revisions = (await h.client.list<ControllerRevision>({ ...controllerRevisionsResource, namespace: ns })).items;
    assert.deepEqual(revisions.map((r) => [r.metadata.name, r.revision]).sort(), [[first.updateRevision, 1], [done!.updateRevision, 2]].sort());
  });

  it('OnDelete replaces pods only when they are deleted', async () => {
    const ns = await h.namespace('sts-ondelete');
    await h.client.create({ ...statefulSetsResource, namespace: ns }, statefulSet('od', { replicas: 2, updateStrategy: { type: 'OnDelete' } }));
    const first = await waitFor('2 ready', async () => { const s = (await getSts(ns, 'od')).status; return s?.readyReplicas === 2 && s; });
    await h.client.patch({ ...statefulSetsResource, namespace: ns, name: 'od' }, 'strategic', { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/app:2' }] } } } });
    const pending = await waitFor('new revision seen', async () => { const s = (await getSts(ns, 'od')).status; return s?.updateRevision !== first.updateRevision && s; });
    await sleep(300);
    assert.ok((await pods(ns, 'od')).every((p) => revisionOf(p) === first.updateRevision));
    assert.equal(pending.updatedReplicas ?? 0, 0);

    const old = (await pods(ns, 'od')).find((p) => p.metadata.name === 'od-1')!;
    await h.client.delete({ ...resources.pods, namespace: ns, name: 'od-1' });
    const replaced = await waitFor('od-1 recreated at the new revision', async () => {
      const pod = (await pods(ns, 'od')).find((p) => p.metadata.name === 'od-1');
      return pod && pod.metadata.uid !== old.metadata.uid && isReady(pod) && pod;
    });
    assert.equal(revisionOf(replaced), pending.updateRevision);
    assert.equal((replaced.spec as { containers: { image: string }[] }).containers[0].image, 'registry.example/app:2');
    await waitFor('1 updated', async () => (await getSts(ns, 'od')).status?.updatedReplicas === 1);
  });

  it('counts a pod available only minReadySeconds after it became ready', async () => {
    const ns = await h.namespace('sts-minready');
    await h.client.create({ ...statefulSetsResource, namespace: ns }, statefulSet('slow', { replicas: 1, minReadySeconds: 3 }));
    const ready = await waitFor('1 ready', async () => { const s = (await getSts(ns, 'slow')).status; return s?.readyReplicas === 1 && s; });
    assert.equal(ready.availableReplicas, 0);
    await waitFor('1 available', async () => (await getSts(ns, 'slow')).status?.availableReplicas === 1, 8000);
  });
});
