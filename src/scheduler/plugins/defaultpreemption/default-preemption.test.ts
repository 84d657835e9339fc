import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Nominator } from '../../framework/interface.ts';
import { PodInfo } from '../../framework/pod-info.ts';
import type { Pod, PodDisruptionBudget } from '../../framework/types.ts';
import { Harness, makePod, type HarnessOptions, type NodeSpec, type PodSpecLite } from '../../testing/harness.ts';
import type { NotScheduled } from '../../framework/cycle.ts';
import { DefaultPreemption } from './default-preemption.ts';
import { pickCandidate } from './candidates.ts';

const nodes = (n: number, cpu = '2'): NodeSpec[] => Array.from({ length: n }, (_, i) => ({ name: `n${i + 1}`, cpu }));
const running = (name: string, nodeName: string, priority: number, more: Partial<PodSpecLite> = {}): PodSpecLite => ({
  name, nodeName, priority, cpu: '2', ...more,
});

function preempt(options: HarnessOptions & { pod: PodSpecLite | Pod }): NotScheduled {
  const r = new Harness(options).schedule(options.pod);
  if (r.node !== undefined) throw new Error(`scheduled on ${r.node}`);
  return r;
}

const victimNames = (r: NotScheduled) => r.postFilterResult?.victims?.map((p) => p.metadata.name);

const pdb = (name: string, app: string, disruptionsAllowed: number, disruptedPods?: Record<string, string>): PodDisruptionBudget => ({
  metadata: { name, namespace: 'default' }, spec: { selector: { matchLabels: { app } } }, status: { disruptionsAllowed, disruptedPods },
});

const nominatorOf = (pods: Pod[]): Nominator => ({
  hasNominatedPods: () => pods.length > 0,
  nominatedPodsForNode: (node) => pods.filter((p) => p.status?.nominatedNodeName === node).map((p) => new PodInfo(p)),
});

describe('DefaultPreemption', () => {
  it('picks the node whose victims have the lowest priority', () => {
    const r = preempt({
      nodes: nodes(3),
      pods: [running('p10', 'n1', 10), running('p5', 'n2', 5), running('p200', 'n3', 200)],
      pod: { name: 'hi', cpu: '1', priority: 100 },
    });
    assert.equal(r.postFilterResult?.nominatedNodeName, 'n2');
    assert.deepEqual(victimNames(r), ['p5']);
    assert.equal(r.message, '0/3 nodes are available: 3 Insufficient cpu.', 'a successful preemption adds nothing to the message');
  });

  it('evicts as few pods as it must, reprieving the most important first', () => {
    const small = (name: string, priority: number) => running(name, 'n1', priority, { cpu: '500m' });
    const r = preempt({ nodes: nodes(1), pods: [small('p1', 1), small('p4', 4), small('p2', 2), small('p3', 3)], pod: { name: 'hi', cpu: '1', priority: 10 } });
    assert.deepEqual(victimNames(r), ['p2', 'p1']);
  });

  it('never evicts pods of higher or equal priority', () => {
    const r = preempt({ nodes: nodes(3), pods: [running('a', 'n1', 100), running('b', 'n2', 100), running('c', 'n3', 1000)], pod: { name: 'hi', cpu: '1', priority: 100 } });
    assert.equal(r.postFilterResult?.victims, undefined);
    assert.equal(r.message, '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.');
  });

  it('does not preempt for a pod with preemptionPolicy Never', () => {
    const r = preempt({ nodes: nodes(2), pods: [running('a', 'n1', 0), running('b', 'n2', 0)], pod: { name: 'hi', cpu: '1', priority: 100, preemptionPolicy: 'Never' } });
    assert.equal(r.postFilterResult, undefined);
    assert.equal(r.message, '0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.');
  });

  it('says preemption is not helpful when no node failed for a resolvable reason', () => {
    const r = preempt({
      nodes: [{ name: 'n1', cpu: '2', taints: [{ key: 'k', effect: 'NoSchedule' }] }, { name: 'n2', cpu: '2' }],
      pods: [running('low', 'n2', 0)],
      pod: { name: 'hi', cpu: '4', priority: 100 },
    });
    assert.equal(
      r.message,
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint(s). preemption: 0/2 nodes are available: 1 Insufficient cpu, 1 Preemption is not helpful for scheduling.',
    );
  });

  it('prefers a node whose victims break no PodDisruptionBudget', () => {
    const pods = [running('guarded', 'n1', 1, { labels: { app: 'a' } }), running('free', 'n2', 5, { labels: { app: 'b' } })];
    const pod = { name: 'hi', cpu: '1', priority: 100 };
    assert.deepEqual(victimNames(preempt({ nodes: nodes(2), pods, pod })), ['guarded'], 'without budgets: lowest priority');
    const r = preempt({ nodes: nodes(2), pods, pod, data: { pdbs: () => [pdb('a', 'a', 0)] } });
    assert.equal(r.postFilterResult?.nominatedNodeName, 'n2');
    // A budget with room, or a pod already counted as disrupted, is no violation.
    assert.deepEqual(victimNames(preempt({ nodes: nodes(2), pods, pod, data: { pdbs: () => [pdb('a', 'a', 1)] } })), ['guarded']);
    assert.deepEqual(victimNames(preempt({ nodes: nodes(2), pods, pod, data: { pdbs: () => [pdb('a', 'a', 0, { guarded: 'now' })] } })), ['guarded']);
  });

  it('reprieves budget-protected pods first on a node', () => {
    const pods = [
      running('protected', 'n1', 1, { cpu: '1', labels: { app: 'a' }, startTime: '2024-06-01T00:00:00Z' }),
      running('older', 'n1', 1, { cpu: '1', labels: { app: 'b' }, startTime: '2024-01-01T00:00:00Z' }),
    ];
    const pod = { name: 'hi', cpu: '1', priority: 100 };
    assert.deepEqual(victimNames(preempt({ nodes: nodes(1), pods, pod })), ['protected'], 'the pod running longer is more important');
    assert.deepEqual(victimNames(preempt({ nodes: nodes(1), pods, pod, data: { pdbs: () => [pdb('a', 'a', 0)] } })), ['older']);
  });

  it('breaks ties by the sum of priorities, then the latest start', () => {
    const bySum = preempt({
      nodes: nodes(2),
      pods: [running('a1', 'n1', 1, { cpu: '1' }), running('a2', 'n1', 1, { cpu: '1' }), running('b', 'n2', 1)],
      pod: { name: 'hi', cpu: '2', priority: 100 },
    });
    assert.equal(bySum.postFilterResult?.nominatedNodeName, 'n2');
    const byStart = preempt({
      nodes: nodes(2),
      pods: [running('old', 'n1', 1, { startTime: '2024-01-01T00:00:00Z' }), running('new', 'n2', 1, { startTime: '2024-06-01T00:00:00Z' })],
      pod: { name: 'hi', cpu: '1', priority: 100 },
    });
    assert.equal(byStart.postFilterResult?.nominatedNodeName, 'n2');
  });

  it('respects room held for nominated pods of higher priority, and lists lower-priority nominees to clear', () => {
    const pods = [running('low1', 'n1', 1), running('low2', 'n2', 2)];
    const held = makePod({ name: 'held', cpu: '2', priority: 500, nominatedNodeName: 'n1' });
    const r = preempt({ nodes: nodes(2), pods, nominator: nominatorOf([held]), pod: { name: 'hi', cpu: '1', priority: 100 } });
    assert.equal(r.postFilterResult?.nominatedNodeName, 'n2', 'n1 is held for a higher-priority nominee');
    const lesser = makePod({ name: 'lesser', cpu: '1', priority: 50, nominatedNodeName: 'n1' });
    const r2 = preempt({ nodes: nodes(2), pods, nominator: nominatorOf([lesser]), pod: { name: 'hi', cpu: '1', priority: 100 } });
    assert.equal(r2.postFilterResult?.nominatedNodeName, 'n1');
    assert.deepEqual(r2.postFilterResult?.lowerPriorityNominatedPods?.map((p) => p.metadata.name), ['lesser']);
  });

  it('waits for victims of an earlier round still terminating on the nominated node', () => {
    const leaving = makePod({ name: 'victim', nodeName: 'n1', cpu: '2', priority: 1, deletionTimestamp: '2024-01-01T00:00:00Z' });
    leaving.status!.conditions = [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }];
    const r = preempt({ nodes: nodes(2), pods: [leaving, running('other', 'n2', 1)], pod: { name: 'hi', cpu: '1', priority: 100, nominatedNodeName: 'n1' } });
    assert.equal(r.postFilterResult, undefined);
    assert.match(r.message, /preemption: not eligible due to a terminating pod on the nominated node\.$/);
  });

  it('bounds the dry run: 10% of the potential nodes, at least 100', () => {
    const handle = new Harness().fw;
    const p = new DefaultPreemption({ handle });
    assert.deepEqual([50, 1000, 5000].map((n) => p.numCandidates(n)), [50, 100, 500]);
    const q = new DefaultPreemption({ handle, args: { minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 3 } });
    assert.equal(q.numCandidates(1000), 3);
    assert.throws(() => new DefaultPreemption({ handle, args: { minCandidateNodesPercentage: 0, minCandidateNodesAbsolute: 0 } }));
  });

  it('finds a candidate in a large cluster without trying every node', () => {
    const n = 400;
    const h = new Harness({ nodes: nodes(n), pods: Array.from({ length: n }, (_, i) => running(`low${i}`, `n${i + 1}`, i % 7)) });
    const filter = h.fw.runFilterPluginsWithNominatedPods.bind(h.fw);
    let dryRuns = 0;
    h.fw.runFilterPluginsWithNominatedPods = (...args) => (dryRuns++, filter(...args));
    const r = h.schedule({ name: 'hi', cpu: '1', priority: 100 });
    // Each candidate costs two Filter runs (all victims gone, then the one victim reprieved): 100 candidates, not 400.
    assert.equal(dryRuns, 200);
    if (r.node !== undefined) return assert.fail('scheduled');
    const victim = r.postFilterResult?.victims?.[0];
    assert.equal(victim?.spec?.priority, 0, 'a lowest-priority victim among the sampled candidates');
  });

  it('orders candidates by upstream criteria', () => {
    const v = (name: string, priority: number, startTime?: string) => new PodInfo(makePod({ name, priority, startTime }));
    const now = Date.parse('2025-01-01T00:00:00Z');
    const c = (nodeName: string, pods: PodInfo[], numPdbViolations = 0) => ({ nodeName, pods, numPdbViolations });
    assert.equal(pickCandidate([c('a', [v('x', 1)], 1), c('b', [v('y', 9)])], now)?.nodeName, 'b');
    assert.equal(pickCandidate([c('a', [v('x', 5)]), c('b', [v('y', 3), v('z', 3)])], now)?.nodeName, 'b');
    assert.equal(pickCandidate([c('a', [v('x', 3), v('y', 1)]), c('b', [v('z', 3), v('w', 2)])], now)?.nodeName, 'a');
    assert.equal(pickCandidate([c('a', [v('x', -5), v('y', -5)]), c('b', [v('z', -5)])], now)?.nodeName, 'b', 'negative priorities still prefer fewer');
    assert.equal(pickCandidate([c('a', [v('x', 3, '2024-01-01T00:00:00Z')]), c('b', [v('y', 3)])], now)?.nodeName, 'b', 'not started yet counts as now');
  });
});
