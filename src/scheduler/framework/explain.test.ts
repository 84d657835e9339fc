import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Diagnosis, fitErrorMessage, podScheduledFalseCondition } from './explain.ts';
import { Status } from './status.ts';

const status = (...reasons: string[]) => new Status('Unschedulable', reasons);

function diagnosis(entries: Record<string, Status>): Diagnosis {
  const d = new Diagnosis();
  for (const [name, s] of Object.entries(entries)) d.nodeToStatus.set(name, s);
  return d;
}

describe('FailedScheduling message', () => {
  it('counts reasons, most frequent first, then by text', () => {
    const taint = 'node(s) had untolerated taint {dedicated: gpu}';
    const d = diagnosis({ a: status('Insufficient cpu'), b: status('Insufficient cpu'), c: status('Insufficient cpu'), d: status(taint), e: status(taint) });
    assert.equal(fitErrorMessage(5, d), `0/5 nodes are available: 3 Insufficient cpu, 2 ${taint}.`);
  });

  it('counts every reason of a node and breaks count ties by text', () => {
    const d = diagnosis({ a: status('Insufficient memory', 'Insufficient cpu'), b: status('Too many pods') });
    assert.equal(fitErrorMessage(2, d), '0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 Too many pods.');
  });

  it('can order like upstream (sort.Strings over "<n> <reason>")', () => {
    const d = diagnosis({ a: status('B'), b: status('B'), c: status('A'), ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x${i}`, status('C')])) });
    assert.equal(fitErrorMessage(13, d, { order: 'lexical' }), '0/13 nodes are available: 1 A, 10 C, 2 B.');
    assert.equal(fitErrorMessage(13, d), '0/13 nodes are available: 10 C, 2 B, 1 A.');
  });

  it('counts nodes without an entry with the absent status', () => {
    const d = diagnosis({ a: status('Insufficient cpu') });
    d.absentStatus = new Status('UnschedulableAndUnresolvable', ["node(s) didn't satisfy plugin(s) [NodeAffinity]"]);
    assert.equal(fitErrorMessage(4, d), "0/4 nodes are available: 3 node(s) didn't satisfy plugin(s) [NodeAffinity], 1 Insufficient cpu.");
  });

  it('prints only the PreFilter message when PreFilter rejected the pod', () => {
    const d = new Diagnosis();
    d.preFilterMsg = 'pod affinity terms conflict';
    d.absentStatus = status('pod affinity terms conflict');
    assert.equal(fitErrorMessage(3, d), '0/3 nodes are available: pod affinity terms conflict.');
  });

  it('appends the PostFilter (preemption) message as given', () => {
    const d = diagnosis({ a: status('Insufficient cpu') });
    d.postFilterMsg = 'preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.';
    assert.equal(fitErrorMessage(1, d), '0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.');
  });

  it('builds the PodScheduled=False condition', () => {
    const c = podScheduledFalseCondition({ message: 'm', now: new Date('2025-01-02T03:04:05.678Z') });
    assert.deepEqual(c, { type: 'PodScheduled', status: 'False', lastProbeTime: null, lastTransitionTime: '2025-01-02T03:04:05Z', reason: 'Unschedulable', message: 'm' });
  });
});
