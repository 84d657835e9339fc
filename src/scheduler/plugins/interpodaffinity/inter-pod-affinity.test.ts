import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Affinity, PodAffinityTerm } from '../../framework/types.ts';
import { Harness, scheduleOne, type NodeSpec, type PodSpecLite } from '../../testing/harness.ts';
import { TopologyCounts } from './common.ts';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

const zonedNodes = (zones = ['a', 'b', 'c']): NodeSpec[] =>
  zones.flatMap((z) => [1, 2].map((i) => ({ name: `${z}${i}`, labels: { [ZONE]: z } })));

const term = (app: string, topologyKey: string, more: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({
  labelSelector: { matchLabels: { app } }, topologyKey, ...more,
});
const required = (kind: 'podAffinity' | 'podAntiAffinity', ...terms: PodAffinityTerm[]): Affinity => ({
  [kind]: { requiredDuringSchedulingIgnoredDuringExecution: terms },
});
const preferred = (kind: 'podAffinity' | 'podAntiAffinity', weight: number, t: PodAffinityTerm): Affinity => ({
  [kind]: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight, podAffinityTerm: t }] },
});
const pod = (name: string, app: string, more: Partial<PodSpecLite> = {}): PodSpecLite => ({ name, labels: { app }, ...more });
const zoneOf = (node: string | undefined) => node?.[0];

describe('InterPodAffinity: required terms', () => {
  it('keeps pods with hostname anti-affinity apart', () => {
    const nodes = [{ name: 'n1' }, { name: 'n2' }, { name: 'n3' }];
    const pods = [pod('db1', 'db', { nodeName: 'n1' }), pod('db2', 'db', { nodeName: 'n2' })];
    const anti = required('podAntiAffinity', term('db', HOST));
    for (let seed = 1; seed <= 5; seed++) assert.equal(scheduleOne({ nodes, pods, seed, pod: pod('db3', 'db', { affinity: anti }) }).node, 'n3');
    const r = scheduleOne({ nodes, pods: [...pods, pod('db0', 'db', { nodeName: 'n3' })], pod: pod('db4', 'db', { affinity: anti }) });
    if (r.node !== undefined) return assert.fail(`scheduled on ${r.node}`);
    assert.equal(
      r.message,
      "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.",
    );
  });

  it("honours existing pods' anti-affinity towards the incoming pod", () => {
    const pods = [pod('loner', 'batch', { nodeName: 'a1', affinity: required('podAntiAffinity', term('web', ZONE)) })];
    const zones = new Set<string | undefined>();
    for (let seed = 1; seed <= 8; seed++) zones.add(zoneOf(scheduleOne({ nodes: zonedNodes(), pods, seed, pod: pod('w', 'web') }).node));
    assert.ok(!zones.has('a'));
    const r = scheduleOne({ nodes: zonedNodes(['a']), pods, pod: pod('w', 'web') });
    if (r.node !== undefined) return assert.fail(`scheduled on ${r.node}`);
    assert.match(r.message, /^0\/2 nodes are available: 2 node\(s\) didn't satisfy existing pods anti-affinity rules\./);
    // Pods the term does not select are unaffected.
    assert.ok(scheduleOne({ nodes: zonedNodes(['a']), pods, pod: pod('x', 'other') }).node);
  });

  it("goes to the zone of a labelled pod it has affinity to", () => {
    const pods = [pod('cache', 'cache', { nodeName: 'b2' })];
    const aff = required('podAffinity', term('cache', ZONE));
    for (let seed = 1; seed <= 8; seed++) assert.equal(zoneOf(scheduleOne({ nodes: zonedNodes(), pods, seed, pod: pod('app', 'web', { affinity: aff }) }).node), 'b');
    const r = scheduleOne({ nodes: zonedNodes(), pod: pod('app', 'web', { affinity: aff }) });
    if (r.node !== undefined) return assert.fail(`scheduled on ${r.node}`);
    assert.match(r.message, /^0\/6 nodes are available: 6 node\(s\) didn't match pod affinity rules\. preemption: 0\/6 nodes are available: 6 Preemption is not helpful for scheduling\.$/);
  });

  it('lets the first pod of a self-affine group start anywhere, then keeps the group together', () => {
    const h = new Harness({ nodes: zonedNodes(), seed: 4 });
    const aff = required('podAffinity', term('group', ZONE));
    const first = h.scheduleAndAssume(pod('g0', 'group', { affinity: aff })).node;
    assert.ok(first);
    for (let i = 1; i < 6; i++) assert.equal(zoneOf(h.scheduleAndAssume(pod(`g${i}`, 'group', { affinity: aff })).node), zoneOf(first));
    // A node lacking the topology key never qualifies, even for the first pod.
    assert.equal(scheduleOne({ nodes: [{ name: 'plain' }], pod: pod('g', 'group', { affinity: aff }) }).node, undefined);
  });

  it('looks in the namespaces a term names or selects', () => {
    const nodes = zonedNodes(['a', 'b']);
    const pods = [pod('cache', 'cache', { nodeName: 'a1', namespace: 'infra' })];
    const base = { nodes, pods };
    assert.equal(scheduleOne({ ...base, pod: pod('p', 'web', { affinity: required('podAffinity', term('cache', ZONE)) }) }).node, undefined, 'own namespace by default');
    const named = required('podAffinity', term('cache', ZONE, { namespaces: ['infra'] }));
    assert.equal(zoneOf(scheduleOne({ ...base, pod: pod('p', 'web', { affinity: named }) }).node), 'a');
    const selected = required('podAffinity', term('cache', ZONE, { namespaceSelector: { matchLabels: { team: 'platform' } } }));
    const h = new Harness(base);
    assert.equal(h.schedule(pod('p', 'web', { affinity: selected })).node, undefined, 'no namespace labels known yet');
    h.cache.setNamespace('infra', { team: 'platform' });
    assert.equal(zoneOf(h.schedule(pod('p2', 'web', { affinity: selected })).node), 'a');
    const all = required('podAffinity', term('cache', ZONE, { namespaceSelector: {} }));
    assert.equal(zoneOf(scheduleOne({ ...base, pod: pod('p', 'web', { affinity: all }) }).node), 'a', 'an empty namespaceSelector selects every namespace');
  });

  it('skips PreFilter and PreScore when no pod has affinity terms, keeping the class cache', () => {
    const h = new Harness({ nodes: zonedNodes() });
    const r = h.schedule(pod('p', 'web'));
    assert.ok(r.state.skipFilterPlugins.has('InterPodAffinity') && r.state.skipScorePlugins.has('InterPodAffinity'));
    h.schedule(pod('q', 'web'));
    assert.equal(h.fw.equivalenceCache.stats.filterHits, 6);
  });
});

describe('InterPodAffinity: preferred terms', () => {
  it('prefers the zone of pods it likes and avoids the zone of pods it dislikes', () => {
    const pods = [pod('cache', 'cache', { nodeName: 'c1' }), pod('noisy', 'noisy', { nodeName: 'a1' })];
    for (let seed = 1; seed <= 5; seed++) {
      assert.equal(zoneOf(scheduleOne({ nodes: zonedNodes(), pods, seed, pod: pod('p', 'web', { affinity: preferred('podAffinity', 100, term('cache', ZONE)) }) }).node), 'c');
    }
    const zones = new Set<string | undefined>();
    for (let seed = 1; seed <= 8; seed++) {
      zones.add(zoneOf(scheduleOne({ nodes: zonedNodes(['a', 'b']), pods: [pods[1]!], seed, pod: pod('p', 'web', { affinity: preferred('podAntiAffinity', 100, term('noisy', ZONE)) }) }).node));
    }
    assert.deepEqual([...zones], ['b']);
  });

  it("counts existing pods' required affinity (hardPodAffinityWeight) and preferred terms towards the incoming pod", () => {
    // A pod that must be near "web" draws web pods to its zone.
    const follower = [pod('f', 'follower', { nodeName: 'b1', affinity: required('podAffinity', term('web', ZONE)) })];
    for (let seed = 1; seed <= 5; seed++) assert.equal(zoneOf(scheduleOne({ nodes: zonedNodes(), pods: follower, seed, pod: pod('w', 'web') }).node), 'b');
    const profile = {
      schedulerName: 'default-scheduler', plugins: {}, pluginConfig: { InterPodAffinity: { hardPodAffinityWeight: 0 } },
    };
    const h = new Harness({ nodes: zonedNodes(), pods: follower, profile });
    assert.ok(h.schedule(pod('w', 'web')).state.skipScorePlugins.has('InterPodAffinity'), 'weight 0: nothing to score');
    // An existing pod's preferred anti-affinity pushes matching pods away.
    const shy = [pod('s', 'shy', { nodeName: 'a1', affinity: preferred('podAntiAffinity', 100, term('web', ZONE)) })];
    for (let seed = 1; seed <= 5; seed++) assert.notEqual(zoneOf(scheduleOne({ nodes: zonedNodes(), pods: shy, seed, pod: pod('w', 'web') }).node), 'a');
  });
});

describe('InterPodAffinity: caches and what-ifs', () => {
  it('keeps the equivalence cache correct: anti-affine replicas land on different nodes', () => {
    for (const speed of [{}, { equivalenceCache: false, scoreCache: false }]) {
      const h = new Harness({ nodes: Array.from({ length: 5 }, (_, i) => ({ name: `n${i}` })), speed });
      const anti = required('podAntiAffinity', term('db', HOST));
      const placed = Array.from({ length: 5 }, (_, i) => h.scheduleAndAssume(pod(`db${i}`, 'db', { affinity: anti })).node);
      assert.equal(new Set(placed).size, 5, JSON.stringify(placed));
      assert.equal(h.schedule(pod('db5', 'db', { affinity: anti })).node, undefined);
      // A pod without terms but selected by the replicas' anti-affinity is kept away too; one not selected is not.
      assert.equal(h.schedule(pod('plain-db', 'db')).node, undefined);
      assert.ok(h.schedule(pod('web', 'web')).node);
    }
  });

  it('does not reuse verdicts cached before an anti-affine pod arrived on another node of the zone', () => {
    const h = new Harness({ nodes: zonedNodes(['a']) });
    assert.ok(h.schedule(pod('db1', 'db')).node);
    assert.ok(h.schedule(pod('db2', 'db')).node);
    h.cache.assumePod(h.schedule(pod('loner', 'batch', { affinity: required('podAntiAffinity', term('db', ZONE)) })).podInfo, 'a1');
    // a2 did not change, but the loner's zone-wide anti-affinity now keeps db pods off it.
    assert.equal(h.schedule(pod('db3', 'db')).node, undefined);
  });

  it('gives the same decisions with and without the caches', () => {
    const run = (speed: { equivalenceCache: boolean; scoreCache: boolean }) => {
      const h = new Harness({ nodes: zonedNodes(['a', 'b', 'c', 'd']), speed, seed: 11 });
      const out: Array<string | undefined> = [];
      for (let i = 0; i < 24; i++) {
        const app = ['web', 'db', 'cache'][i % 3]!;
        const affinity = app === 'db' ? required('podAntiAffinity', term('db', ZONE)) : app === 'cache' ? preferred('podAffinity', 50, term('web', ZONE)) : undefined;
        out.push(h.scheduleAndAssume(pod(`p${i}`, app, { affinity, cpu: '500m' })).node);
      }
      return out;
    };
    assert.deepEqual(run({ equivalenceCache: true, scoreCache: true }), run({ equivalenceCache: false, scoreCache: false }));
  });

  it('counts topology pairs with copy-on-write clones', () => {
    const a = new TopologyCounts();
    a.add(ZONE, 'a', 2);
    const b = a.clone();
    b.add(ZONE, 'a', -2);
    b.add(ZONE, 'b', 1);
    assert.equal(a.get(ZONE, 'a'), 2);
    assert.equal(a.pairs, 1);
    assert.equal(b.get(ZONE, 'a'), 0);
    assert.equal(b.pairs, 1);
    assert.ok(b.anyPositive({ [ZONE]: 'b' }) && !b.anyPositive({ [ZONE]: 'a' }));
  });

  it('lets preemption remove the pods an anti-affinity term objects to (RemovePod)', () => {
    const nodes = [{ name: 'n1' }];
    const pods = [pod('low', 'db', { nodeName: 'n1', priority: 1 }), pod('keep', 'web', { nodeName: 'n1', priority: 1 })];
    const r = new Harness({ nodes, pods }).schedule(pod('p', 'db', { priority: 10, affinity: required('podAntiAffinity', term('db', HOST)) }));
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.postFilterResult?.nominatedNodeName, 'n1');
    assert.deepEqual(r.postFilterResult?.victims?.map((p) => p.metadata.name), ['low']);
  });
});
