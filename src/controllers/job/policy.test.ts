// Pure parts of the Job controller: index intervals, the pod failure and
// success policies, finish times and backoff arithmetic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../framework/types.ts';
import { countIndexes, firstPendingIndexes, formatIndexes, hasIndex, mergeIntervals, parseIndexes, withIndexes } from './indexes.ts';
import { finishedAt, isPodFailed, matchPodFailurePolicy, matchSuccessPolicy, nextBackoffRecord, remainingBackoffMs } from './policy.ts';
import type { Job } from './types.ts';

const job = (spec: Partial<Job['spec']> = {}): Job => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'ns' }, spec: { template: {}, ...spec } });

function failedPod(exitCode: number, extra: { container?: string; conditions?: { type: string; status: string }[]; finishedAt?: string } = {}): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', creationTimestamp: '2025-01-01T00:00:00Z' },
    status: {
      phase: 'Failed',
      conditions: extra.conditions ?? [],
      containerStatuses: [{ name: extra.container ?? 'main', restartCount: 0, state: { terminated: { exitCode, finishedAt: extra.finishedAt } } }],
    },
  };
}

describe('completion index intervals', () => {
  it('formats as upstream: ranges, and pairs as two numbers', () => {
    assert.equal(formatIndexes(withIndexes([], [5, 1, 3, 4, 7, 8])), '1,3-5,7,8');
    assert.equal(formatIndexes([]), '');
  });

  it('parses, clipping to completions and skipping garbage', () => {
    assert.deepEqual(parseIndexes('1,3-5,7,8', 10), [{ first: 1, last: 1 }, { first: 3, last: 5 }, { first: 7, last: 8 }]);
    assert.deepEqual(parseIndexes('0-9', 4), [{ first: 0, last: 3 }]);
    assert.deepEqual(parseIndexes('2,x,3-a,4', 10), [{ first: 2, last: 2 }, { first: 4, last: 4 }]);
    assert.deepEqual(parseIndexes('1,2,3', 10), [{ first: 1, last: 3 }]);
    assert.deepEqual(parseIndexes('', 3), []);
  });

  it('merges, counts, finds, and picks pending indexes', () => {
    const a = parseIndexes('0-2,8', 20);
    const merged = mergeIntervals(a, parseIndexes('3,5-6', 20));
    assert.equal(formatIndexes(merged), '0-3,5,6,8');
    assert.equal(countIndexes(merged), 7);
    assert.ok(hasIndex(merged, 6));
    assert.ok(!hasIndex(merged, 4));
    assert.deepEqual(firstPendingIndexes(merged, 3, 10), [4, 7, 9]);
    assert.deepEqual(firstPendingIndexes(merged, 5, 10), [4, 7, 9]);
  });
});

describe('pod failure policy', () => {
  const policy = {
    rules: [
      { action: 'Ignore' as const, onPodConditions: [{ type: 'DisruptionTarget' }] },
      { action: 'FailJob' as const, onExitCodes: { containerName: 'main', operator: 'In' as const, values: [42] } },
      { action: 'Count' as const, onExitCodes: { operator: 'NotIn' as const, values: [1, 2] } },
    ],
  };

  it('matches rules in order, by exit code or pod condition', () => {
    const j = job({ podFailurePolicy: policy });
    assert.deepEqual(matchPodFailurePolicy(j, failedPod(1, { conditions: [{ type: 'DisruptionTarget', status: 'True' }] })), { countFailed: false, action: 'Ignore' });
    const fail = matchPodFailurePolicy(j, failedPod(42));
    assert.equal(fail.action, 'FailJob');
    assert.equal(fail.failJobMessage, 'Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1');
    assert.deepEqual(matchPodFailurePolicy(j, failedPod(42, { container: 'sidecar' })), { countFailed: true, action: 'Count' });
    assert.deepEqual(matchPodFailurePolicy(j, failedPod(1)), { countFailed: true });
    // Exit code 0 never matches NotIn.
    assert.deepEqual(matchPodFailurePolicy(j, failedPod(0)), { countFailed: true });
  });

  it('counts a pod being deleted as failed, unless only failed pods are replaced', () => {
    const deleting: Pod = { metadata: { name: 'p', deletionTimestamp: '2025-01-01T00:00:00Z' }, status: { phase: 'Running' } };
    assert.equal(isPodFailed(deleting, job()), true);
    assert.equal(isPodFailed(deleting, job({ podReplacementPolicy: 'Failed' })), false);
    assert.equal(isPodFailed(deleting, job({ podFailurePolicy: policy })), false);
  });
});

describe('success policy', () => {
  it('succeededIndexes (all of them, or succeededCount of them) and plain succeededCount', () => {
    const j = (rules: { succeededIndexes?: string; succeededCount?: number }[]) => job({ completions: 10, completionMode: 'Indexed', successPolicy: { rules } });
    assert.equal(matchSuccessPolicy(j([{ succeededIndexes: '0-2' }]), parseIndexes('0,1', 10)), undefined);
    assert.equal(matchSuccessPolicy(j([{ succeededIndexes: '0-2' }]), parseIndexes('0-3', 10)), 'Matched rules at index 0');
    assert.equal(matchSuccessPolicy(j([{ succeededIndexes: '5' }, { succeededIndexes: '0-4', succeededCount: 2 }]), parseIndexes('1,3', 10)), 'Matched rules at index 1');
    assert.equal(matchSuccessPolicy(j([{ succeededCount: 3 }]), parseIndexes('7-9', 10)), 'Matched rules at index 0');
    assert.equal(matchSuccessPolicy(j([{ succeededCount: 3 }]), []), undefined);
  });
});

describe('backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    const timing = { baseMs: 10_000, maxMs: 360_000 };
    assert.equal(remainingBackoffMs(timing, 0, 0, 0), 0);
    assert.equal(remainingBackoffMs(timing, 1, 0, 0), 10_000);
    assert.equal(remainingBackoffMs(timing, 3, 0, 5000), 35_000);
    assert.equal(remainingBackoffMs(timing, 20, 0, 0), 360_000);
    assert.equal(remainingBackoffMs(timing, 1, 0, 60_000), 0);
  });

  it('counts failures after the last success', () => {
    const at = (iso: string) => failedPod(1, { finishedAt: iso });
    const ok = (iso: string): Pod => ({ metadata: { name: 's' }, status: { phase: 'Succeeded', containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 0, finishedAt: iso } } }] } });
    const one = nextBackoffRecord({ failuresAfterLastSuccess: 0 }, [], [at('2025-01-01T00:00:10Z')]);
    assert.deepEqual(one, { failuresAfterLastSuccess: 1, lastFailure: Date.parse('2025-01-01T00:00:10Z') });
    assert.equal(nextBackoffRecord(one, [], [at('2025-01-01T00:00:20Z')]).failuresAfterLastSuccess, 2);
    const mixed = nextBackoffRecord(one, [ok('2025-01-01T00:00:30Z')], [at('2025-01-01T00:00:25Z'), at('2025-01-01T00:00:40Z')]);
    assert.deepEqual(mixed, { failuresAfterLastSuccess: 1, lastFailure: Date.parse('2025-01-01T00:00:40Z') });
    assert.equal(finishedAt(at('2025-01-01T00:00:40Z')), Date.parse('2025-01-01T00:00:40Z'));
  });
});
