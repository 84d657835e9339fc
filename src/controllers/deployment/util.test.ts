// Deployment arithmetic without a server: budgets, new set sizing,
// proportions, revision bookkeeping, progress tests.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment, ReplicaSet } from '../framework/types.ts';
import {
  deploymentComplete, deploymentTimedOut, equalIgnoreHash, findActiveOrLatest, maxSurge, maxUnavailable, newRSNewReplicas,
  proportionFor, resolveFenceposts, setCondition, setNewReplicaSetAnnotations,
} from './util.ts';

function dep(replicas: number, maxSurgeValue: number | string = '25%', maxUnavailableValue: number | string = '25%', extra: Partial<Deployment['spec']> = {}): Deployment {
  return {
    metadata: { name: 'd', generation: 1, annotations: { 'kubernetes.io/change-cause': 'why', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: { replicas, template: {}, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: maxSurgeValue, maxUnavailable: maxUnavailableValue } }, ...extra },
  };
}

function rs(name: string, replicas: number, created: number, annotations: Record<string, string> = {}): ReplicaSet {
  return { metadata: { name, uid: name, creationTimestamp: new Date(created * 1000).toISOString(), annotations }, spec: { replicas } };
}

describe('deployment util', () => {
  it('resolves surge and unavailability like upstream', () => {
    assert.deepEqual(resolveFenceposts(dep(4)), [1, 1]);
    assert.deepEqual(resolveFenceposts(dep(10, '25%', '25%')), [3, 2], 'surge rounds up, unavailable down');
    assert.deepEqual(resolveFenceposts(dep(1, '10%', '10%')), [1, 0]);
    assert.deepEqual(resolveFenceposts(dep(3, 0, '10%')), [0, 1], 'both zero: one may be unavailable');
    assert.equal(maxUnavailable(dep(2, 0, 5)), 2, 'never more than replicas');
    assert.equal(maxUnavailable(dep(0)), 0);
    assert.equal(maxSurge(dep(4, 2, 0, { strategy: { type: 'Recreate' } })), 0);
  });

  it('sizes the new set within the surge budget', () => {
    const d = dep(4, 1, 0);
    const oldRS = rs('old', 4, 0);
    const newRS = rs('new', 0, 1);
    assert.equal(newRSNewReplicas(d, [oldRS, newRS], newRS), 1);
    assert.equal(newRSNewReplicas(d, [rs('old', 4, 0), rs('new', 1, 1)], rs('new', 1, 1)), 1, 'at the cap: no growth');
    assert.equal(newRSNewReplicas(d, [rs('old', 2, 0), rs('new', 2, 1)], rs('new', 2, 1)), 3);
    assert.equal(newRSNewReplicas(dep(4, 1, 0, { strategy: { type: 'Recreate' } }), [oldRS, newRS], newRS), 4);
  });

  it('spreads a resize in proportion to the sizes sets were last given', () => {
    // Deployment 10 → 30 with surge 3: 20 to add over old 8 and new 5, both sized for 13.
    const d = dep(30, 3, 2);
    const annotations = { 'deployment.kubernetes.io/max-replicas': '13' };
    const oldRS = rs('old', 8, 0, annotations);
    const newRS = rs('new', 5, 1, annotations);
    const first = proportionFor(oldRS, d, 20, 0);
    assert.equal(first, 12);
    assert.equal(proportionFor(newRS, d, 20, first), 8);
    // Scaling down to 0 takes everything.
    assert.equal(proportionFor(oldRS, dep(0, 3, 2), -13, 0), -8);
  });

  it('picks the only active set, else the newest', () => {
    const a = rs('a', 0, 0);
    const b = rs('b', 0, 5);
    assert.equal(findActiveOrLatest(undefined, [a, b])?.metadata.name, 'b');
    assert.equal(findActiveOrLatest(rs('n', 0, 9), [a, b])?.metadata.name, 'n');
    assert.equal(findActiveOrLatest(rs('n', 2, 9), [a, b])?.metadata.name, 'n');
    assert.equal(findActiveOrLatest(rs('n', 2, 9), [rs('a', 1, 0)]), undefined);
  });

  it('numbers revisions and keeps the history of a reused set', () => {
    const d = dep(3, 1, 0);
    const fresh = rs('fresh', 0, 0);
    assert.equal(setNewReplicaSetAnnotations(d, fresh, 1, false), true);
    assert.deepEqual({ ...fresh.metadata.annotations }, {
      'kubernetes.io/change-cause': 'why',
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    assert.equal(setNewReplicaSetAnnotations(d, fresh, 1, true), false, 'nothing new');
    // A rollback to it: revision 1 comes back as 4, then as 6.
    setNewReplicaSetAnnotations(d, fresh, 4, true);
    setNewReplicaSetAnnotations(d, fresh, 6, true);
    assert.equal(fresh.metadata.annotations?.['deployment.kubernetes.io/revision'], '6');
    assert.equal(fresh.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1,4');
    assert.equal(setNewReplicaSetAnnotations(d, fresh, 3, true), false, 'never lowered');
  });

  it('compares templates without the hash label', () => {
    const t = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    assert.equal(equalIgnoreHash(t({ app: 'a', 'pod-template-hash': 'xyz' }), t({ app: 'a' })), true);
    assert.equal(equalIgnoreHash(t({ app: 'a' }), t({ app: 'b' })), false);
  });

  it('knows complete and timed-out rollouts', () => {
    const d = dep(2, 1, 0, { progressDeadlineSeconds: 10 });
    assert.equal(deploymentComplete(d, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), true);
    assert.equal(deploymentComplete(d, { observedGeneration: 1, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }), false);
    assert.equal(deploymentComplete(d, { observedGeneration: 0, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), false);
    const status = {};
    const since = new Date('2030-01-01T00:00:00Z');
    setCondition(status, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: '2030-01-01T00:00:00Z', lastTransitionTime: '2030-01-01T00:00:00Z' });
    assert.equal(deploymentTimedOut(d, status, new Date(since.getTime() + 9_000)), false);
    assert.equal(deploymentTimedOut(d, status, new Date(since.getTime() + 11_000)), true);
  });
});
