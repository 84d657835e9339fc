// The binder and the local-path provisioner against a real in-process API
// server (which bootstraps the default local-path StorageClass). The scheduler
// is not here (controllers may not import it): tests set selected-node as
// its VolumeBinding step does; test/e2e/persistent-volumes.test.ts runs the
// whole chain.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../client/interface.ts';
import { startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { resourcesOf, type PersistentVolume, type PersistentVolumeClaim } from './types.ts';

let h: Harness;
const NS = 'pv-test';
const claimRef = (name: string) => ({ ...resourcesOf.claims, namespace: NS, name });
const volumeRef = (name: string) => ({ ...resourcesOf.volumes, name });

before(async () => {
  h = await startHarness({ controllers: 'persistentvolume-binder,local-path-provisioner' });
  await h.namespace(NS);
  await h.client.create(resourcesOf.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'host-a' } } });
});
after(() => h.stop());

async function createVolume(name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return h.client.create<PersistentVolume>(resourcesOf.volumes, {
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name, ...metadata },
    spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], storageClassName: 'manual', hostPath: { path: `/tmp/${name}` }, ...spec },
  });
}

async function createClaim(name: string, spec: Record<string, unknown> = {}) {
  return h.client.create<PersistentVolumeClaim>(claimRef(name), {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
  });
}

const getClaim = (name: string) => h.client.get<PersistentVolumeClaim>(claimRef(name));
const getVolume = (name: string) => h.client.get<PersistentVolume>(volumeRef(name));
const phaseOf = (obj: { status?: { phase?: string } }) => obj.status?.phase;

async function eventFor(name: string, reason: string): Promise<KubeObject & { message?: string; type?: string }> {
  return waitFor(`${reason} event for ${name}`, async () => {
    const list = await h.client.list<KubeObject & { reason?: string; message?: string }>({ group: '', version: 'v1', resource: 'events', namespace: NS }, { fieldSelector: `involvedObject.name=${name}` });
    return list.items.find((e) => e.reason === reason);
  });
}

describe('persistentvolume-binder', () => {
  it('binds a claim to the smallest matching Available volume, with upstream annotations and phases', async () => {
    await createVolume('big', { capacity: { storage: '5Gi' } });
    await createVolume('small', { capacity: { storage: '2Gi' } });
    await createVolume('labelled', { capacity: { storage: '3Gi' } }, { labels: { tier: 'gold' } });
    await createVolume('wrong-mode', { capacity: { storage: '1Gi' }, accessModes: ['ReadOnlyMany'] });
    await waitFor('volumes Available', async () => (await Promise.all(['big', 'small', 'labelled'].map(getVolume))).every((v) => phaseOf(v) === 'Available'));

    await createClaim('c1', { storageClassName: 'manual' });
    const claim = await waitFor('c1 bound', async () => { const c = await getClaim('c1'); return phaseOf(c) === 'Bound' && c; });
    assert.equal(claim.spec?.volumeName, 'small');
    assert.equal(claim.metadata.annotations?.['pv.kubernetes.io/bind-completed'], 'yes');
    assert.equal(claim.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.deepEqual(claim.status?.capacity, { storage: '2Gi' });
    assert.deepEqual(claim.status?.accessModes, ['ReadWriteOnce']);
    const volume = await waitFor('small Bound', async () => { const v = await getVolume('small'); return phaseOf(v) === 'Bound' && v; });
    assert.equal(volume.spec?.claimRef?.uid, claim.metadata.uid);
    assert.equal(volume.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], 'yes');
    assert.ok(volume.status?.lastPhaseTransitionTime);

    await createClaim('gold', { storageClassName: 'manual', selector: { matchLabels: { tier: 'gold' } } });
    assert.equal((await waitFor('gold bound', async () => { const c = await getClaim('gold'); return phaseOf(c) === 'Bound' && c; })).spec?.volumeName, 'labelled');
  });

  it('leaves claims nothing fits Pending, with the reason as an event', async () => {
    await createClaim('nothing', { storageClassName: '', accessModes: ['ReadWriteMany'] });
    const event = await eventFor('nothing', 'FailedBinding');
    assert.equal(event.message, 'no persistent volumes available for this claim and no storage class is set');
    assert.equal(phaseOf(await getClaim('nothing')), 'Pending');
  });

  it('binds a volume pre-bound by the user to its claim', async () => {
    await createVolume('reserved', { storageClassName: '', claimRef: { namespace: NS, name: 'wants-reserved' } });
    await createClaim('wants-reserved', { storageClassName: '' });
    const claim = await waitFor('bound', async () => { const c = await getClaim('wants-reserved'); return phaseOf(c) === 'Bound' && c; });
    assert.equal(claim.spec?.volumeName, 'reserved');
    const volume = await getVolume('reserved');
    assert.equal(volume.spec?.claimRef?.uid, claim.metadata.uid);
    assert.equal(volume.metadata.annotations?.['pv.kubernetes.io/bound-by-controller'], undefined, 'the user bound it');
  });

  it('releases volumes whose claim is deleted (Retain keeps them; Delete without a provisioner fails) and loses claims whose volume goes', async () => {
    await createVolume('keep', { storageClassName: 'retain', persistentVolumeReclaimPolicy: 'Retain' });
    await createVolume('drop', { storageClassName: 'delete', persistentVolumeReclaimPolicy: 'Delete' });
    await createVolume('vanish', { storageClassName: 'lost' });
    for (const [claim, cls] of [['k', 'retain'], ['d', 'delete'], ['l', 'lost']]) await createClaim(claim, { storageClassName: cls });
    await waitFor('all bound', async () => (await Promise.all(['k', 'd', 'l'].map(getClaim))).every((c) => phaseOf(c) === 'Bound'));

    await h.client.delete(claimRef('k'));
    await h.client.delete(claimRef('d'));
    await waitFor('keep Released', async () => phaseOf(await getVolume('keep')) === 'Released');
    const failed = await waitFor('drop Failed', async () => { const v = await getVolume('drop'); return phaseOf(v) === 'Failed' && v; });
    assert.match(failed.status?.message ?? '', /no deletable volume plugin matched/);

    await h.client.delete(volumeRef('vanish'));
    await waitFor('l Lost', async () => phaseOf(await getClaim('l')) === 'Lost');
    const lost = await eventFor('l', 'ClaimLost');
    assert.equal(lost.type, 'Warning');
  });
});

describe('local-path provisioner', () => {
  it('waits for the first consumer, then provisions a PV pinned to the selected node, which the binder binds', async () => {
    const created = await createClaim('data');
    assert.equal(created.spec?.storageClassName, 'local-path', 'the default class from bootstrap');
    await eventFor('data', 'WaitForFirstConsumer');
    assert.equal(phaseOf(await getClaim('data')), 'Pending');

    // What the scheduler does when it binds the claim's first pod.
    await h.client.patch(claimRef('data'), 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-a' } } });
    const claim = await waitFor('data bound', async () => { const c = await getClaim('data'); return phaseOf(c) === 'Bound' && c; });
    const name = `pvc-${claim.metadata.uid}`;
    assert.equal(claim.spec?.volumeName, name);
    assert.equal(claim.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'], 'rancher.io/local-path');
    const volume = await getVolume(name);
    assert.equal(phaseOf(volume), 'Bound');
    assert.equal(volume.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], 'rancher.io/local-path');
    assert.deepEqual(volume.spec?.hostPath, { path: `/var/lib/skiff/storage/${name}`, type: 'DirectoryOrCreate' });
    assert.equal(volume.spec?.persistentVolumeReclaimPolicy, 'Delete');
    assert.equal(volume.spec?.storageClassName, 'local-path');
    assert.deepEqual(volume.spec?.nodeAffinity, { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['host-a'] }] }] } });
    await eventFor('data', 'ProvisioningSucceeded');

    // Reclaim policy Delete: the claim goes, the volume is Released and then deleted.
    await h.client.delete(claimRef('data'));
    await waitFor('PV deleted', async () => { try { await getVolume(name); return false; } catch { return true; } });
  });

  it('uses the class nodePath, and refuses access modes local volumes cannot give', async () => {
    await h.client.create(resourcesOf.classes, {
      apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'fast' },
      provisioner: 'rancher.io/local-path', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Retain', parameters: { nodePath: '/srv/fast' },
    });
    await createClaim('f', { storageClassName: 'fast' });
    await createClaim('shared', { storageClassName: 'fast', accessModes: ['ReadWriteMany'] });
    for (const name of ['f', 'shared']) await h.client.patch(claimRef(name), 'merge', { metadata: { annotations: { 'volume.kubernetes.io/selected-node': 'node-b' } } });
    const claim = await waitFor('f bound', async () => { const c = await getClaim('f'); return phaseOf(c) === 'Bound' && c; });
    const volume = await getVolume(claim.spec!.volumeName!);
    assert.equal(volume.spec?.hostPath?.path, `/srv/fast/pvc-${claim.metadata.uid}`);
    assert.equal(volume.spec?.persistentVolumeReclaimPolicy, 'Retain');
    assert.deepEqual((volume.spec?.nodeAffinity as { required: { nodeSelectorTerms: { matchExpressions: { values: string[] }[] }[] } }).required.nodeSelectorTerms[0].matchExpressions[0].values, ['node-b'], 'no Node object: its name');
    const failed = await eventFor('shared', 'ProvisioningFailed');
    assert.equal(failed.message, 'failed to provision volume with StorageClass "fast": NodePath only supports ReadWriteOnce and ReadWriteOncePod access modes');
    assert.equal(phaseOf(await getClaim('shared')), 'Pending');
  });
});
