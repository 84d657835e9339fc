import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchedulerCache } from '../cache/cache.ts';
import { Harness, makeNode, makePod, seededRandom } from '../testing/harness.ts';
import { equivalenceKey } from './equivalence.ts';
import type { FilterPlugin, Reads, ScorePlugin } from './interface.ts';
import type { NodeInfo } from './node-info.ts';
import type { PodInfo } from './pod-info.ts';
import { Framework } from './runtime.ts';
import { Status } from './status.ts';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `n${i}`, cpu: '4', memory: '8Gi' }));

describe('equivalence classes', () => {
  it('puts replicas in one class and different requirements in different classes', () => {
    const a = makePod({ name: 'a', cpu: '1', labels: { 'pod-template-hash': 'x' } });
    const b = makePod({ name: 'b', cpu: '1', labels: { 'pod-template-hash': 'y' } });
    const c = makePod({ name: 'c', cpu: '2' });
    const d = makePod({ name: 'd', cpu: '1', tolerations: [{ key: 'k', operator: 'Exists' }] });
    assert.equal(equivalenceKey(a), equivalenceKey(b));
    assert.notEqual(equivalenceKey(a), equivalenceKey(c));
    assert.notEqual(equivalenceKey(a), equivalenceKey(d));
  });

  it('shares filter verdicts between pods of a class until a node changes', () => {
    const h = new Harness({ nodes: nodes(10) });
    const stats = h.fw.equivalenceCache.stats;
    h.schedule({ name: 'p1', cpu: '1' });
    assert.equal(stats.filterMisses, 10);
    assert.equal(stats.filterHits, 0);
    h.schedule({ name: 'p2', cpu: '1' });
    assert.equal(stats.filterMisses, 10);
    assert.equal(stats.filterHits, 10);
    // Binding a pod changes one node: only that node is filtered again.
    h.cache.assumePod(makePod({ name: 'p3', cpu: '1' }), 'n4');
    h.schedule({ name: 'p4', cpu: '1' });
    assert.equal(stats.filterMisses, 11);
    assert.equal(stats.filterHits, 19);
    // A different class starts cold.
    h.schedule({ name: 'q', cpu: '3' });
    assert.equal(stats.filterMisses, 21);
  });

  it('sees a node change: a full node stops passing, a tainted node is rejected with the taint', () => {
    const h = new Harness({ nodes: nodes(3) });
    assert.ok(h.schedule({ name: 'p1', cpu: '3' }).node);
    h.cache.assumePod(makePod({ name: 'fill0', cpu: '2' }), 'n0');
    h.cache.assumePod(makePod({ name: 'fill1', cpu: '2' }), 'n1');
    h.cache.updateNode(makeNode({ name: 'n2', cpu: '4', memory: '8Gi', taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }));
    const r = h.schedule({ name: 'p2', cpu: '3' });
    if (r.node !== undefined) return assert.fail(`scheduled on ${r.node}`);
    assert.equal(r.message, '0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.');
  });

  it('keeps cached verdicts when a node update changes nothing plugins read', () => {
    const h = new Harness({ nodes: nodes(3) });
    h.schedule({ name: 'p1', cpu: '1' });
    const heartbeat = makeNode({ name: 'n1', cpu: '4', memory: '8Gi' });
    heartbeat.status!.conditions = [{ type: 'Ready', status: 'True', lastHeartbeatTime: 'now' }];
    h.cache.updateNode(heartbeat);
    h.schedule({ name: 'p2', cpu: '1' });
    assert.equal(h.fw.equivalenceCache.stats.filterMisses, 3);
  });

  it('reuses raw scores per class and node generation', () => {
    const h = new Harness({ nodes: nodes(10) });
    const stats = h.fw.equivalenceCache.stats;
    h.scheduleAndAssume({ name: 'p1', cpu: '1' });
    assert.equal(stats.scoreMisses, 10);
    h.scheduleAndAssume({ name: 'p2', cpu: '1' });
    assert.equal(stats.scoreHits, 9, 'only the node that got p1 is scored again');
    assert.equal(stats.scoreMisses, 11);
  });

  it('gives the same decisions with and without the caches', () => {
    const run = (speed: { equivalenceCache: boolean; scoreCache: boolean }) => {
      const h = new Harness({ nodes: Array.from({ length: 40 }, (_, i) => ({ name: `n${i}`, cpu: String(2 + (i % 5)), memory: '8Gi' })), speed, seed: 5 });
      const out: string[] = [];
      for (let i = 0; i < 120; i++) {
        const r = h.scheduleAndAssume({ name: `p${i}`, cpu: i % 3 === 0 ? '1500m' : '500m', memory: '256Mi' });
        out.push(r.node ?? (r.node === undefined ? r.message : ''));
      }
      return out;
    };
    assert.deepEqual(run({ equivalenceCache: true, scoreCache: true }), run({ equivalenceCache: false, scoreCache: false }));
  });

  it('ties filter entries to the whole snapshot for plugins that read other nodes', () => {
    // A toy "no two pods with the same app label in the cluster" filter.
    let calls = 0;
    const reads: Reads = { otherNodes: true, podLabels: true };
    const unique: FilterPlugin = {
      name: 'Unique',
      filterReads: reads,
      filter(_s, pod: PodInfo, _ni: NodeInfo) {
        calls++;
        const taken = cache.nodes.some((n) => n.pods.some((p) => p.labels.app === pod.labels.app));
        return taken ? new Status('Unschedulable', ['app already running']) : undefined;
      },
    };
    const cache = new SchedulerCache({ random: seededRandom(1) });
    for (let i = 0; i < 4; i++) cache.addNode(makeNode({ name: `n${i}` }));
    const fw = new Framework({ factories: { Unique: () => unique }, extensionPoints: { filter: ['Unique'] } });
    assert.ok(fw.schedule(makePod({ name: 'a', labels: { app: 'x' } }), cache).node);
    assert.ok(fw.schedule(makePod({ name: 'b', labels: { app: 'y' } }), cache).node, 'labels are part of the key');
    assert.equal(calls, 8);
    fw.schedule(makePod({ name: 'a2', labels: { app: 'x' } }), cache);
    assert.equal(calls, 8, 'nothing changed: cached');
    cache.assumePod(makePod({ name: 'a', labels: { app: 'x' } }), 'n3');
    const r = fw.schedule(makePod({ name: 'a3', labels: { app: 'x' } }), cache);
    assert.equal(r.node, undefined, 'a pod on another node changes every verdict');
    assert.equal(calls, 12);
  });

  it('never caches scores of plugins that read other nodes', () => {
    let calls = 0;
    const spread: ScorePlugin = { name: 'Spread', scoreReads: { otherNodes: true }, score: () => (calls++, 0) };
    const cache = new SchedulerCache({ random: seededRandom(1) });
    for (let i = 0; i < 3; i++) cache.addNode(makeNode({ name: `n${i}` }));
    const fw = new Framework({ factories: { Spread: () => spread }, extensionPoints: { score: [{ name: 'Spread', weight: 1 }] } });
    fw.schedule(makePod({ name: 'a' }), cache);
    fw.schedule(makePod({ name: 'b' }), cache);
    assert.equal(calls, 6);
  });
});
