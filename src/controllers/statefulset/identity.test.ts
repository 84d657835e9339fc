// StatefulSet identity and claim retention, and the update step over a
// recording PodControl (no server): what gets created, deleted or waited
// for, in which order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTROLLER_REVISION_HASH_LABEL, newRevision, type ControllerRevision } from '../framework/history.ts';
import type { Pod } from '../framework/types.ts';
import { completeRollingUpdate, maxUnavailableOf, updateStatefulSet, type PodControl } from './control.ts';
import {
  claimIsStale, claimOwnersFor, claimsFor, identityMatches, newStatefulPod, parentAndOrdinal, storageMatches, type Claim, type StatefulSet,
} from './identity.ts';

function set(spec: Partial<StatefulSet['spec']> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1', kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'ns', uid: 'set-uid', generation: 1 },
    spec: {
      replicas: 3, serviceName: 'svc', selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i:1' }], volumes: [{ name: 'data', emptyDir: {} }, { name: 'tmp', emptyDir: {} }] } },
      volumeClaimTemplates: [{ metadata: { name: 'data', labels: { tier: 'db' } }, spec: { accessModes: ['ReadWriteOnce'] } }],
      ...spec,
    },
  };
}

describe('statefulset identity', () => {
  it('parses ordinals from names', () => {
    assert.deepEqual(parentAndOrdinal('web-12'), { parent: 'web', ordinal: 12 });
    assert.deepEqual(parentAndOrdinal('my-app-0'), { parent: 'my-app', ordinal: 0 });
    assert.deepEqual(parentAndOrdinal('web'), { parent: '', ordinal: -1 });
    assert.deepEqual(parentAndOrdinal('web-99999999999'), { parent: 'web', ordinal: -1 });
  });

  it('builds a member pod: name, hostname, subdomain, labels, claim volumes replacing same-named ones', () => {
    const s = set();
    const pod = newStatefulPod({ set: s, template: s.spec.template, ordinal: 2, revision: 'web-abc' });
    assert.equal(pod.metadata.name, 'web-2');
    assert.equal(pod.spec?.hostname, 'web-2');
    assert.equal(pod.spec?.subdomain, 'svc');
    assert.deepEqual(pod.metadata.labels, {
      app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-2', 'apps.kubernetes.io/pod-index': '2', [CONTROLLER_REVISION_HASH_LABEL]: 'web-abc',
    });
    assert.deepEqual(pod.spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-2' } }, { name: 'tmp', emptyDir: {} }]);
    const placed = { ...pod, metadata: { ...pod.metadata, namespace: 'ns' } };
    assert.equal(identityMatches(s, placed), true);
    assert.equal(storageMatches(s, placed), true);
    assert.equal(identityMatches(s, { ...placed, metadata: { ...placed.metadata, labels: { app: 'web' } } }), false);
    const [claim] = claimsFor(s, 2);
    assert.equal(claim.metadata.name, 'data-web-2');
    assert.deepEqual(claim.metadata.labels, { tier: 'db', app: 'web' });
  });

  it('puts owners on claims as the retention policy says', () => {
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-4', namespace: 'ns', uid: 'pod-uid' } };
    const inRange: Pod = { ...pod, metadata: { ...pod.metadata, name: 'web-1' } };
    const claim: Claim = { metadata: { name: 'data-web-4', namespace: 'ns' } };
    const kinds = (refs: Claim['metadata']['ownerReferences']) => refs?.map((r) => `${r.kind}/${r.uid}`);
    assert.equal(claimOwnersFor(set(), pod, claim), undefined, 'Retain/Retain: no owners, nothing to change');
    const both = set({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } });
    assert.deepEqual(kinds(claimOwnersFor(both, pod, claim)), ['Pod/pod-uid'], 'scaled away: owned by its pod');
    assert.deepEqual(kinds(claimOwnersFor(both, inRange, claim)), ['StatefulSet/set-uid'], 'in range: owned by the set');
    const withSetRef: Claim = { metadata: { ...claim.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'set-uid' }] } };
    assert.deepEqual(kinds(claimOwnersFor(set(), inRange, withSetRef)), [], 'Retain again: the reference goes');
    const scaleOnly = set({ persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } });
    const leftover: Claim = { metadata: { ...claim.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'web-1', uid: 'old-pod' }] } };
    assert.equal(claimIsStale(scaleOnly, { metadata: { name: 'web-1' } }, leftover), true);
    assert.equal(claimIsStale(set(), { metadata: { name: 'web-1' } }, leftover), false);
  });
});

/** Records what the algorithm asks for. */
function recorder(): PodControl & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    async createPod(_set, pod) { log.push(`create ${pod.metadata.name}`); return true; },
    async deletePod(_set, pod) { log.push(`delete ${pod.metadata.name}`); },
    async updatePod(_set, pod) { log.push(`update ${pod.metadata.name}`); },
    async createMissingClaims() {},
    async updateClaimOwners(_set, pod) { log.push(`claims ${pod.metadata.name}`); },
    claim: () => undefined,
    claimIsStale: () => false,
  };
}

const now = new Date('2030-01-01T00:00:00Z');

function running(s: StatefulSet, ordinal: number, revision: ControllerRevision, ready = true): Pod {
  const pod = newStatefulPod({ set: s, template: s.spec.template, ordinal, revision: revision.metadata.name! });
  pod.metadata.uid = `uid-${ordinal}`;
  pod.status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2029-01-01T00:00:00Z' }] };
  return pod;
}

describe('statefulset update step', () => {
  const s = set({ volumeClaimTemplates: [] });
  const r1 = { ...newRevision({ owner: s, template: s.spec.template, revision: 1 }) };
  const r2 = { ...newRevision({ owner: s, template: { ...s.spec.template, spec: { containers: [{ name: 'c', image: 'i:2' }] } }, revision: 2 }) };

  it('OrderedReady creates the lowest missing ordinal and waits for unready pods', async () => {
    const control = recorder();
    await updateStatefulSet({ set: s, pods: [running(s, 0, r1)], current: r1, update: r1, collisionCount: 0, control, now });
    assert.deepEqual(control.log, ['create web-1']);
    const waiting = recorder();
    const { status } = await updateStatefulSet({ set: s, pods: [running(s, 0, r1, false)], current: r1, update: r1, collisionCount: 0, control: waiting, now });
    assert.deepEqual(waiting.log, []);
    assert.equal(status.replicas, 1);
    assert.equal(status.readyReplicas, 0);
  });

  it('Parallel creates every missing ordinal at once; OrderedReady scale-down takes the highest first, alone', async () => {
    const control = recorder();
    await updateStatefulSet({ set: { ...s, spec: { ...s.spec, podManagementPolicy: 'Parallel' } }, pods: [], current: r1, update: r1, collisionCount: 0, control, now });
    assert.deepEqual(control.log.sort(), ['create web-0', 'create web-1', 'create web-2']);
    const down = recorder();
    const one = { ...s, spec: { ...s.spec, replicas: 1 } };
    await updateStatefulSet({ set: one, pods: [0, 1, 2].map((o) => running(s, o, r1)), current: r1, update: r1, collisionCount: 0, control: down, now });
    assert.deepEqual(down.log, ['delete web-2']);
  });

  it('rolls from the highest ordinal down to the partition, maxUnavailable at a time', async () => {
    const pods = [0, 1, 2].map((o) => running(s, o, r1));
    const control = recorder();
    const partitioned = { ...s, spec: { ...s.spec, updateStrategy: { type: 'RollingUpdate' as const, rollingUpdate: { partition: 1, maxUnavailable: 2 } } } };
    const { status } = await updateStatefulSet({ set: partitioned, pods, current: r1, update: r2, collisionCount: 0, control, now });
    assert.deepEqual(control.log, ['delete web-2', 'delete web-1']);
    assert.equal(status.currentReplicas, 1);
    assert.equal(maxUnavailableOf({ ...s, spec: { ...s.spec, updateStrategy: { rollingUpdate: { maxUnavailable: '10%' } } } }), 1);

    const onDelete = recorder();
    await updateStatefulSet({ set: { ...s, spec: { ...s.spec, updateStrategy: { type: 'OnDelete' } } }, pods, current: r1, update: r2, collisionCount: 0, control: onDelete, now });
    assert.deepEqual(onDelete.log, []);
  });

  it('makes the update revision current once every replica is updated and ready', () => {
    const status = { replicas: 3, readyReplicas: 3, updatedReplicas: 3, currentReplicas: 0, availableReplicas: 3, currentRevision: 'a', updateRevision: 'b' };
    completeRollingUpdate(s, status);
    assert.equal(status.currentRevision, 'b');
    assert.equal(status.currentReplicas, 3);
  });
});
