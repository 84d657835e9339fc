import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodInfo } from '../../framework/pod-info.ts';
import type { TopologySpreadConstraint } from '../../framework/types.ts';
import { Harness, makePod, scheduleOne, seededRandom, type NodeSpec, type PodSpecLite } from '../../testing/harness.ts';
import { DomainCounts } from './filtering.ts';
import type { PodTopologySpread } from './pod-topology-spread.ts';

const ZONE = 'topology.kubernetes.io/zone';
const HOST = 'kubernetes.io/hostname';

/** Two nodes per zone: a1 a2 b1 b2 c1 c2. */
const zonedNodes = (zones = ['a', 'b', 'c'], extra: Partial<NodeSpec> = {}): NodeSpec[] =>
  zones.flatMap((z) => [1, 2].map((i) => ({ name: `${z}${i}`, labels: { [ZONE]: z }, ...extra })));

const spread = (over: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, ...over,
});

const web = (name: string, nodeName: string, more: Partial<PodSpecLite> = {}): PodSpecLite => ({ name, nodeName, labels: { app: 'web' }, ...more });

const zoneOf = (node: string | undefined) => node?.[0];

describe('PodTopologySpread: hard constraints', () => {
  it('puts the pod in the zone with fewest matching pods when the skew would be exceeded elsewhere', () => {
    const pods = [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1')];
    for (let seed = 1; seed <= 5; seed++) {
      const r = scheduleOne({ nodes: zonedNodes(), pods, seed, pod: { name: 'p', labels: { app: 'web' }, topologySpreadConstraints: [spread()] } });
      assert.equal(zoneOf(r.node), 'c', `seed ${seed}`);
    }
    // maxSkew 2 also allows zone b (1 + 1 - 0 = 2).
    const h = new Harness({ nodes: zonedNodes(), pods });
    const seen = new Set<string | undefined>();
    for (let i = 0; i < 20; i++) seen.add(zoneOf(h.schedule({ name: `q${i}`, labels: { app: 'web' }, topologySpreadConstraints: [spread({ maxSkew: 2 })] }).node));
    assert.ok(!seen.has('a') && seen.has('c'));
  });

  it('explains a skew violation and a missing topology label with upstream wording', () => {
    const nodes = [...zonedNodes(['a', 'b']), { name: 'bare' }];
    const r = scheduleOne({
      nodes, pods: [web('w1', 'a1'), web('w2', 'a2')],
      pod: { name: 'p', cpu: '3', labels: { app: 'web' }, topologySpreadConstraints: [spread()] },
      // b1 and b2 are full, so only zone a (skew) and "bare" (no zone) remain.
    });
    assert.ok(r.node === 'b1' || r.node === 'b2');
    const h = new Harness({ nodes, pods: [web('w1', 'a1'), web('w2', 'a2'), { name: 'big1', nodeName: 'b1', cpu: '3' }, { name: 'big2', nodeName: 'b2', cpu: '3' }] });
    const f = h.schedule({ name: 'p', cpu: '2', labels: { app: 'web' }, topologySpreadConstraints: [spread()] });
    if (f.node !== undefined) return assert.fail(`scheduled on ${f.node}`);
    assert.equal(
      f.message,
      "0/5 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), 2 Insufficient cpu, 2 node(s) didn't match pod topology spread constraints. "
        + 'preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod.',
    );
  });

  it('spreads a series of replicas evenly (maxSkew 1 over three zones)', () => {
    const h = new Harness({ nodes: zonedNodes(), seed: 3 });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 9; i++) {
      const r = h.scheduleAndAssume({ name: `w${i}`, labels: { app: 'web' }, topologySpreadConstraints: [spread()] });
      const z = zoneOf(r.node)!;
      counts[z] = (counts[z] ?? 0) + 1;
      const values = Object.values(counts);
      assert.ok(Math.max(...values) - (values.length < 3 ? 0 : Math.min(...values)) <= 1, JSON.stringify(counts));
    }
    assert.deepEqual(counts, { a: 3, b: 3, c: 3 });
  });

  it('gives the same decisions with and without the equivalence and score caches', () => {
    const run = (speed: { equivalenceCache: boolean; scoreCache: boolean }) => {
      const h = new Harness({ nodes: zonedNodes(['a', 'b', 'c', 'd']), speed, seed: 9 });
      const out: Array<string | undefined> = [];
      for (let i = 0; i < 30; i++) {
        const app = i % 3 === 0 ? 'db' : 'web';
        const c = spread({ labelSelector: { matchLabels: { app } }, whenUnsatisfiable: i % 2 ? 'ScheduleAnyway' : 'DoNotSchedule', topologyKey: i % 5 ? ZONE : HOST });
        out.push(h.scheduleAndAssume({ name: `p${i}`, cpu: '300m', labels: { app }, topologySpreadConstraints: [c] }).node);
      }
      return out;
    };
    assert.deepEqual(run({ equivalenceCache: true, scoreCache: true }), run({ equivalenceCache: false, scoreCache: false }));
  });

  it('counts only matching pods of the same namespace, and not terminating ones', () => {
    const pods = [
      web('other-ns', 'c1', { namespace: 'other' }),
      { name: 'other-app', nodeName: 'c2', labels: { app: 'db' } },
      web('leaving', 'c1', { deletionTimestamp: '2024-01-01T00:00:00Z' }),
      web('w1', 'a1'), web('w2', 'b1'),
    ];
    // Zone c counts 0, so a and b (1 each) are at skew 1+1-0 = 2.
    assert.equal(zoneOf(scheduleOne({ nodes: zonedNodes(), pods, pod: { name: 'p', labels: { app: 'web' }, topologySpreadConstraints: [spread()] } }).node), 'c');
  });

  it('treats the global minimum as 0 while fewer than minDomains domains exist', () => {
    const pods = [web('w1', 'a1'), web('w2', 'b1')];
    const pod = (minDomains?: number): PodSpecLite => ({ name: 'p', labels: { app: 'web' }, topologySpreadConstraints: [spread({ minDomains })] });
    assert.ok(scheduleOne({ nodes: zonedNodes(['a', 'b']), pods, pod: pod() }).node);
    const r = scheduleOne({ nodes: zonedNodes(['a', 'b']), pods, pod: pod(3) });
    assert.equal(r.node, undefined);
  });

  it('honours node affinity for domains by default and taints only when asked', () => {
    // Zone c's nodes are excluded by the pod's nodeSelector: by default zone c is no domain.
    const nodes = [...zonedNodes(['a', 'b'], { labels: {} }).map((n) => ({ ...n, labels: { [ZONE]: n.name[0]!, pool: 'main' } })), ...zonedNodes(['c'])];
    const pods = [web('w1', 'a1'), web('w2', 'b1')];
    const pod = (over: Partial<TopologySpreadConstraint>): PodSpecLite => ({
      name: 'p', labels: { app: 'web' }, nodeSelector: { pool: 'main' }, topologySpreadConstraints: [spread(over)],
    });
    assert.ok(scheduleOne({ nodes, pods, pod: pod({}) }).node, 'Honor: zone c does not count, min is 1');
    assert.equal(scheduleOne({ nodes, pods, pod: pod({ nodeAffinityPolicy: 'Ignore' }) }).node, undefined, 'Ignore: empty zone c makes min 0');

    const tainted = [...zonedNodes(['a', 'b']), ...zonedNodes(['c'], { taints: [{ key: 'k', effect: 'NoSchedule' }] })];
    const tol = (over: Partial<TopologySpreadConstraint>): PodSpecLite => ({ name: 'p', labels: { app: 'web' }, topologySpreadConstraints: [spread(over)] });
    assert.equal(scheduleOne({ nodes: tainted, pods, pod: tol({}) }).node, undefined, 'Ignore (default): tainted zone c counts as empty');
    assert.ok(scheduleOne({ nodes: tainted, pods, pod: tol({ nodeTaintsPolicy: 'Honor' }) }).node);
  });

  it('narrows the selector with matchLabelKeys', () => {
    // Zone b is full; zone a holds two pods of the previous revision.
    const nodes: NodeSpec[] = [{ name: 'a1', labels: { [ZONE]: 'a' } }, { name: 'b1', cpu: '1', labels: { [ZONE]: 'b' } }];
    const pods = [
      web('old1', 'a1', { labels: { app: 'web', rev: '1' } }), web('old2', 'a1', { labels: { app: 'web', rev: '1' } }),
      { name: 'hog', nodeName: 'b1', cpu: '1' },
    ];
    const pod = (keys?: string[]): PodSpecLite => ({ name: 'p', cpu: '1', labels: { app: 'web', rev: '2' }, topologySpreadConstraints: [spread({ matchLabelKeys: keys })] });
    assert.equal(scheduleOne({ nodes, pods, pod: pod(['rev']) }).node, 'a1', 'the old revision does not count');
    assert.equal(scheduleOne({ nodes, pods, pod: pod() }).node, undefined);
  });
});

describe('PodTopologySpread: soft constraints and defaults', () => {
  it('prefers the emptier zone with ScheduleAnyway', () => {
    // Zone c is emptiest of web pods but busiest overall, so resource scores alone would avoid it.
    const db = (name: string, nodeName: string): PodSpecLite => ({ name, nodeName, labels: { app: 'db' } });
    const pods = [web('w1', 'a1'), web('w2', 'a2'), web('w3', 'b1'), web('w4', 'b2'), db('d1', 'c1'), db('d2', 'c1'), db('d3', 'c2'), db('d4', 'c2')];
    for (let seed = 1; seed <= 5; seed++) {
      const r = scheduleOne({ nodes: zonedNodes(), pods, seed, pod: { name: 'p', labels: { app: 'web' }, topologySpreadConstraints: [spread({ whenUnsatisfiable: 'ScheduleAnyway' })] } });
      assert.equal(zoneOf(r.node), 'c', `seed ${seed}`);
    }
  });

  it("applies the default constraints with the selector of the pod's Service, and none without a provider", () => {
    const nodes = Array.from({ length: 4 }, (_, i) => ({ name: `n${i}` }));
    const db = (name: string): PodSpecLite => ({ name, nodeName: 'n3', labels: { app: 'db' } });
    const pods = [web('w1', 'n0'), web('w2', 'n0'), web('w3', 'n1'), web('w4', 'n2'), db('d1'), db('d2'), db('d3')];
    const services = (ns: string) => (ns === 'default' ? [{ metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' } } }] : []);
    const h = new Harness({ nodes, pods, data: { services } });
    for (let i = 0; i < 3; i++) assert.equal(h.schedule({ name: `p${i}`, labels: { app: 'web' } }).node, 'n3');
    const plugin = h.fw.plugins.get('PodTopologySpread') as PodTopologySpread;
    assert.equal(plugin.constraints(new PodInfo(makePod({ name: 'x', labels: { app: 'web' } })), 'ScheduleAnyway').length, 2);
    assert.equal(plugin.constraints(new PodInfo(makePod({ name: 'x', labels: { app: 'other' } })), 'ScheduleAnyway').length, 0);

    const r = new Harness({ nodes, pods }).schedule({ name: 'p', labels: { app: 'web' } });
    assert.ok(r.node !== undefined && r.node !== 'n3');
    assert.ok(r.state.skipScorePlugins.has('PodTopologySpread') && r.state.skipFilterPlugins.has('PodTopologySpread'));
  });

  it('takes the default selector from a ReplicaSet owner', () => {
    const nodes = Array.from({ length: 3 }, (_, i) => ({ name: `n${i}` }));
    const owner = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'rs', controller: true }];
    const pods = [
      web('w1', 'n0', { ownerReferences: owner }), web('w2', 'n1', { ownerReferences: owner }),
      { name: 'd1', nodeName: 'n2', labels: { app: 'db' } }, { name: 'd2', nodeName: 'n2', labels: { app: 'db' } },
    ];
    const replicaSet = (_ns: string, name: string) => (name === 'web-1' ? { metadata: { name }, spec: { selector: { matchLabels: { app: 'web' } } } } : undefined);
    assert.equal(new Harness({ nodes, pods, data: { replicaSet } }).schedule({ name: 'p', labels: { app: 'web' }, ownerReferences: owner }).node, 'n2');
    assert.notEqual(new Harness({ nodes, pods }).schedule({ name: 'p', labels: { app: 'web' }, ownerReferences: owner }).node, 'n2');
  });
});

describe('PodTopologySpread: counts for preemption', () => {
  it('keeps the minimum exact through random additions and removals, and clones independently', () => {
    const random = seededRandom(7);
    const truth = new Map<string, number>([['a', 2], ['b', 0], ['c', 5]]);
    const d = DomainCounts.from(new Map(truth));
    for (let i = 0; i < 500; i++) {
      const k = ['a', 'b', 'c', 'd'][Math.floor(random() * 4)]!;
      const delta = random() < 0.5 ? -1 : 1;
      truth.set(k, (truth.get(k) ?? 0) + delta);
      d.add(k, delta);
      assert.equal(d.min, Math.min(...truth.values()));
      assert.equal(d.size, truth.size);
    }
    const c = d.clone();
    c.add('a', 100);
    assert.equal(d.get('a'), truth.get('a'));
    assert.equal(c.get('a'), truth.get('a')! + 100);
  });

  it('keeps a node that hosts the only matching pods when they are preempted (RemovePod)', () => {
    // One zone holds two low-priority web pods and all the room; removing them lets the spread pod in.
    const nodes: NodeSpec[] = [{ name: 'a1', cpu: '2', labels: { [ZONE]: 'a' } }, { name: 'b1', cpu: '1', labels: { [ZONE]: 'b' } }];
    const pods = [
      web('w1', 'a1', { cpu: '1', priority: 0 }), web('w2', 'a1', { cpu: '1', priority: 0 }),
      { name: 'hog', nodeName: 'b1', cpu: '1', priority: 1000 },
    ];
    const h = new Harness({ nodes, pods });
    const r = h.schedule({ name: 'p', cpu: '1', priority: 100, labels: { app: 'web' }, topologySpreadConstraints: [spread()] });
    assert.equal(r.node, undefined);
    if (r.node !== undefined) return;
    assert.equal(r.postFilterResult?.nominatedNodeName, 'a1');
    // One victim frees the cpu; the spread check then sees zone a at 1, zone b at 0: skew 1+1-0 = 2 > 1, so both must go.
    assert.deepEqual(r.postFilterResult?.victims?.map((p) => p.metadata.name).sort(), ['w1', 'w2']);
  });
});
