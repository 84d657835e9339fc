import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodDisruptionBudget } from '../../api/disruption/budget.ts';
import { conditionsAreUpToDate, setStatusCondition, updateDisruptionAllowedCondition, type BudgetCondition } from '../../api/disruption/budget.ts';
import type { Pod } from '../framework/types.ts';
import { staleDisruptionWait, withDisruptionTargetReset } from './stale-condition.ts';
import {
  countHealthyPods, DELETION_TIMEOUT_MS, disruptionsAllowed, expectedAndDesired, needsControllerScale, pruneDisruptedPods,
  scaledIntOrPercent, statusMatches,
} from './status.ts';

const NOW = Date.parse('2025-01-01T00:10:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pod(name: string, options: { ready?: boolean; deleting?: boolean } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', ...(options.deleting ? { deletionTimestamp: iso(NOW) } : {}) },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

const budget = (spec: PodDisruptionBudget['spec']): PodDisruptionBudget => ({ metadata: { name: 'b', namespace: 'ns', generation: 1 }, spec });

describe('disruption status arithmetic', () => {
  it('scales percentages with rounding and refuses other strings', () => {
    assert.equal(scaledIntOrPercent('50%', 3, true), 2);
    assert.equal(scaledIntOrPercent('50%', 3, false), 1);
    assert.equal(scaledIntOrPercent(4, 10, true), 4);
    assert.throws(() => scaledIntOrPercent('2', 10, true), /not a percentage/);
  });

  it('an integer minAvailable counts the selected pods and needs no controller', () => {
    const pdb = budget({ minAvailable: 2 });
    assert.equal(needsControllerScale(pdb), false);
    assert.deepEqual(expectedAndDesired(pdb, 3, () => assert.fail('no scale needed')), { expectedPods: 3, desiredHealthy: 2 });
  });

  it('a percentage minAvailable is of the controllers\' scale, rounded up', () => {
    const pdb = budget({ minAvailable: '50%' });
    assert.equal(needsControllerScale(pdb), true);
    assert.deepEqual(expectedAndDesired(pdb, 2, () => 5), { expectedPods: 5, desiredHealthy: 3 });
  });

  it('maxUnavailable subtracts from the scale (rounded up, never below 0)', () => {
    assert.deepEqual(expectedAndDesired(budget({ maxUnavailable: 1 }), 0, () => 4), { expectedPods: 4, desiredHealthy: 3 });
    assert.deepEqual(expectedAndDesired(budget({ maxUnavailable: '30%' }), 0, () => 4), { expectedPods: 4, desiredHealthy: 2 });
    assert.deepEqual(expectedAndDesired(budget({ maxUnavailable: 7 }), 0, () => 4), { expectedPods: 4, desiredHealthy: 0 });
  });

  it('counts ready pods not being deleted and not recently evicted', () => {
    const pods = [pod('a'), pod('b', { ready: false }), pod('c', { deleting: true }), pod('d'), pod('e')];
    const disrupted = { d: iso(NOW - 1000), e: iso(NOW - DELETION_TIMEOUT_MS - 1000) };
    // a counts; b unready; c terminating; d just evicted; e's eviction timed out, so it counts again.
    assert.equal(countHealthyPods(pods, disrupted, NOW), 2);
  });

  it('prunes disrupted pods that went, are going, or timed out, and says when to look again', () => {
    const pods = [pod('kept'), pod('going', { deleting: true }), pod('late')];
    const previous = { kept: iso(NOW - 30_000), going: iso(NOW - 1000), late: iso(NOW - DELETION_TIMEOUT_MS - 1000), gone: iso(NOW) };
    const result = pruneDisruptedPods(pods, previous, NOW);
    assert.deepEqual(result.kept, { kept: previous.kept });
    assert.deepEqual(result.expired.map((p) => p.metadata.name), ['late']);
    assert.equal(result.recheckAt, NOW - 30_000 + DELETION_TIMEOUT_MS);
  });

  it('allows no disruption when none is expected or the budget is not met', () => {
    assert.equal(disruptionsAllowed({ currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 }), 1);
    assert.equal(disruptionsAllowed({ currentHealthy: 1, desiredHealthy: 2, expectedPods: 3 }), 0);
    assert.equal(disruptionsAllowed({ currentHealthy: 3, desiredHealthy: 0, expectedPods: 0 }), 0);
  });

  it('compares the stored status, generation included', () => {
    const pdb: PodDisruptionBudget = {
      ...budget({ minAvailable: 1 }),
      status: { observedGeneration: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, disruptionsAllowed: 1 },
    };
    const counts = { currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, disruptedPods: {} };
    assert.equal(statusMatches(pdb, counts), true);
    assert.equal(statusMatches({ ...pdb, metadata: { ...pdb.metadata, generation: 2 } }, counts), false);
    assert.equal(statusMatches(pdb, { ...counts, disruptedPods: { x: iso(NOW) } }), false);
  });
});

describe('DisruptionAllowed condition', () => {
  it('follows disruptionsAllowed and moves its transition time only when the status changes', () => {
    const pdb: PodDisruptionBudget = { ...budget({ minAvailable: 1 }), status: { observedGeneration: 1, disruptionsAllowed: 1 } };
    updateDisruptionAllowedCondition(pdb, new Date(NOW));
    const [condition] = pdb.status!.conditions!;
    assert.deepEqual(condition, { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', observedGeneration: 1, lastTransitionTime: iso(NOW) });
    assert.equal(conditionsAreUpToDate(pdb), true);
    pdb.status!.disruptionsAllowed = 0;
    assert.equal(conditionsAreUpToDate(pdb), false);
    updateDisruptionAllowedCondition(pdb, new Date(NOW + 5000));
    assert.equal(pdb.status!.conditions![0].reason, 'InsufficientPods');
    assert.equal(pdb.status!.conditions![0].lastTransitionTime, iso(NOW + 5000));
    const conditions: BudgetCondition[] = pdb.status!.conditions!;
    assert.equal(setStatusCondition(conditions, { type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods', message: '', observedGeneration: 1 }, new Date(NOW + 9000)), false);
    assert.equal(conditions[0].lastTransitionTime, iso(NOW + 5000));
  });
});

describe('stale DisruptionTarget conditions', () => {
  const target = (reason: string, since: number, extra: Partial<Pod['metadata']> = {}): Pod => ({
    metadata: { name: 'p', namespace: 'ns', ...extra },
    status: { phase: 'Running', conditions: [{ type: 'DisruptionTarget', status: 'True', reason, lastTransitionTime: iso(since) }] },
  });

  it('waits out the timeout, then resets; never for terminating pods or kubelet terminations', () => {
    assert.equal(staleDisruptionWait(target('EvictionByEvictionAPI', NOW - 30_000), NOW, 120_000), 90_000);
    assert.equal(staleDisruptionWait(target('EvictionByEvictionAPI', NOW - 300_000), NOW, 120_000), 0);
    assert.equal(staleDisruptionWait(target('TerminationByKubelet', NOW - 300_000), NOW, 120_000), undefined);
    assert.equal(staleDisruptionWait(target('EvictionByEvictionAPI', NOW, { deletionTimestamp: iso(NOW) }), NOW, 120_000), undefined);
    const reset = withDisruptionTargetReset(target('EvictionByEvictionAPI', NOW - 300_000), new Date(NOW));
    assert.deepEqual(reset.status!.conditions![0], { type: 'DisruptionTarget', status: 'False', lastProbeTime: null, lastTransitionTime: iso(NOW) });
  });
});
