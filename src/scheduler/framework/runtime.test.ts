import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchedulerCache } from '../cache/cache.ts';
import { makeNode, makePod, seededRandom } from '../testing/harness.ts';
import type { CycleState } from './cycle-state.ts';
import type { FilterPlugin, Plugin, PluginFactory, PostFilterPlugin, PreFilterPlugin, ScorePlugin } from './interface.ts';
import type { NodeInfo } from './node-info.ts';
import { PodInfo } from './pod-info.ts';
import { Framework, type ExtensionPoints } from './runtime.ts';
import { SKIP, Status } from './status.ts';

function cacheWith(n: number): SchedulerCache {
  const cache = new SchedulerCache({ random: seededRandom(7) });
  for (let i = 0; i < n; i++) cache.addNode(makeNode({ name: `n${i}` }));
  return cache;
}

function fw(plugins: Record<string, Plugin>, points: Partial<ExtensionPoints>, extra: Partial<ConstructorParameters<typeof Framework>[0]> = {}) {
  const factories: Record<string, PluginFactory> = {};
  for (const [name, p] of Object.entries(plugins)) factories[name] = () => p;
  return new Framework({ factories, extensionPoints: points, random: seededRandom(3), ...extra });
}

/** Rejects the nodes it is told to, counting calls. */
function rejecter(name: string, reject: (ni: NodeInfo) => Status | undefined): FilterPlugin & { calls: number } {
  return {
    name,
    calls: 0,
    filter(_s: CycleState, _p: PodInfo, ni: NodeInfo) {
      this.calls++;
      return reject(ni);
    },
  };
}

const pod = makePod({ name: 'p' });

describe('Framework filter', () => {
  it('stops at the first rejecting filter and blames it', () => {
    const a = rejecter('A', (ni) => (ni.name === 'n0' ? new Status('Unschedulable', ['a says no']) : undefined));
    const b = rejecter('B', () => new Status('UnschedulableAndUnresolvable', ['b says no']));
    const f = fw({ A: a, B: b }, { filter: ['A', 'B'] });
    const r = f.schedule(pod, cacheWith(3));
    assert.equal(r.node, undefined);
    if (r.node !== undefined) return;
    assert.equal(r.message, '0/3 nodes are available: 1 a says no, 2 b says no.');
    assert.equal(r.diagnosis.nodeToStatus.get('n0')?.plugin, 'A');
    assert.deepEqual([...r.diagnosis.unschedulablePlugins].sort(), ['A', 'B']);
    assert.equal(b.calls, 2);
  });

  it('skips the Filter of a plugin whose PreFilter returned Skip', () => {
    const p: PreFilterPlugin & FilterPlugin = {
      name: 'P',
      preFilter: () => SKIP,
      filter: () => new Status('Unschedulable', ['never']),
    };
    const r = fw({ P: p }, { preFilter: ['P'], filter: ['P'] }).schedule(pod, cacheWith(2));
    assert.ok(r.node);
  });

  it('turns a throwing plugin into an Error status', () => {
    const p: FilterPlugin = { name: 'T', filter: () => { throw new Error('boom'); } };
    const r = fw({ T: p }, { filter: ['T'] }).schedule(pod, cacheWith(2));
    assert.equal(r.node, undefined);
    if (r.node !== undefined) return;
    assert.equal(r.status.code, 'Error');
    assert.match(r.message, /boom/);
  });

  it('filters only the nodes PreFilter results leave, counting the others as absent', () => {
    const one: PreFilterPlugin = { name: 'One', preFilter: () => ({ nodeNames: new Set(['n1', 'n2']) }) };
    const two: PreFilterPlugin = { name: 'Two', preFilter: () => ({ nodeNames: new Set(['n2', 'n3']) }) };
    const seen: string[] = [];
    const f = rejecter('F', (ni) => (seen.push(ni.name), new Status('Unschedulable', ['no'])));
    const r = fw({ One: one, Two: two, F: f }, { preFilter: ['One', 'Two'], filter: ['F'] }).schedule(pod, cacheWith(4));
    assert.deepEqual(seen, ['n2']);
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, "0/4 nodes are available: 1 no, 3 node(s) didn't satisfy plugin(s) [One Two].");
  });

  it('rejects when PreFilter results do not intersect', () => {
    const one: PreFilterPlugin = { name: 'One', preFilter: () => ({ nodeNames: new Set(['n1']) }) };
    const two: PreFilterPlugin = { name: 'Two', preFilter: () => ({ nodeNames: new Set(['n2']) }) };
    const r = fw({ One: one, Two: two }, { preFilter: ['One', 'Two'] }).schedule(pod, cacheWith(3));
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, "0/3 nodes are available: node(s) didn't satisfy plugin(s) [One Two] simultaneously.");
  });

  it('says there are no nodes', () => {
    const r = fw({}, {}).schedule(pod, new SchedulerCache());
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, 'no nodes available to schedule pods');
    assert.equal(r.status.code, 'UnschedulableAndUnresolvable');
  });

  it('runs PostFilter after a failure and appends its message', () => {
    const f = rejecter('F', () => new Status('Unschedulable', ['Insufficient cpu']));
    const post: PostFilterPlugin = {
      name: 'Preempt',
      postFilter: (_s, _p, filtered) => {
        assert.equal(filtered.get('n0')?.reasons[0], 'Insufficient cpu');
        return { status: new Status('Unschedulable', ['preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.']) };
      },
    };
    const r = fw({ F: f, Preempt: post }, { filter: ['F'], postFilter: ['Preempt'] }).schedule(pod, cacheWith(2));
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.equal(r.message, '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
  });

  it('tries the nominated node first', () => {
    const f = rejecter('F', () => undefined);
    const r = fw({ F: f }, { filter: ['F'] }).schedule(makePod({ name: 'p', nominatedNodeName: 'n4' }), cacheWith(6));
    assert.equal(r.node, 'n4');
    assert.equal(f.calls, 1);
  });

  it('holds room for nominated pods of higher or equal priority', () => {
    const cache = cacheWith(1);
    const nominee = new PodInfo(makePod({ name: 'big', cpu: '3', priority: 10 }));
    const nominator = { hasNominatedPods: () => true, nominatedPodsForNode: (n: string) => (n === 'n0' ? [nominee] : []) };
    const fits = rejecter('Fit', (ni) => (ni.requested.milliCPU + 2000 > ni.allocatable.milliCPU ? new Status('Unschedulable', ['Insufficient cpu']) : undefined));
    const f = fw({ Fit: fits }, { filter: ['Fit'] }, { nominator });
    assert.equal(f.schedule(makePod({ name: 'low', cpu: '2', priority: 5 }), cache).node, undefined);
    assert.equal(f.schedule(makePod({ name: 'high', cpu: '2', priority: 20 }), cache).node, 'n0');
  });
});

describe('Framework sampling', () => {
  it('stops after numFeasibleNodesToFind and starts the next cycle where it stopped', () => {
    const seen: string[][] = [[], []];
    let cycle = 0;
    const f = rejecter('F', (ni) => (seen[cycle]!.push(ni.name), undefined));
    const framework = fw({ F: f }, { filter: ['F'] });
    const cache = cacheWith(1000);
    framework.schedule(pod, cache);
    cycle = 1;
    framework.schedule(pod, cache);
    assert.equal(seen[0]!.length, 420);
    assert.equal(seen[1]!.length, 420);
    assert.equal(new Set([...seen[0]!, ...seen[1]!]).size, 840, 'the second cycle looks at other nodes');
    assert.equal(framework.nextStartNodeIndex, 840);
  });

  it('examines all nodes with adaptive sampling off', () => {
    const f = rejecter('F', () => undefined);
    fw({ F: f }, { filter: ['F'] }, { speed: { adaptiveSampling: false } }).schedule(pod, cacheWith(1000));
    assert.equal(f.calls, 1000);
  });

  it('uses the profile percentage', () => {
    const f = rejecter('F', () => undefined);
    fw({ F: f }, { filter: ['F'] }, { percentageOfNodesToScore: 20 }).schedule(pod, cacheWith(1000));
    assert.equal(f.calls, 200);
  });
});

describe('Framework score', () => {
  const byName = (name: string, scores: Record<string, number>, normalize?: (s: Float64Array) => void): ScorePlugin => ({
    name,
    score: (_s, _p, ni) => scores[ni.name] ?? 0,
    ...(normalize ? { normalizeScore: (_s: CycleState, _p: PodInfo, s: Float64Array) => (normalize(s), undefined) } : {}),
  });

  it('weights normalized scores and picks the best', () => {
    const a = byName('A', { n0: 10, n1: 0, n2: 5 });
    const b = byName('B', { n0: 0, n1: 25, n2: 0 });
    const r = fw({ A: a, B: b }, { score: [{ name: 'A', weight: 3 }, { name: 'B', weight: 1 }] }).schedule(pod, cacheWith(3));
    assert.equal(r.node, 'n0');
    const r2 = fw({ A: a, B: b }, { score: [{ name: 'A', weight: 1 }, { name: 'B', weight: 1 }] }).schedule(pod, cacheWith(3));
    assert.equal(r2.node, 'n1');
  });

  it('applies NormalizeScore before weights', () => {
    const inverse = byName('Inv', { n0: 1, n1: 4, n2: 2 }, (s) => s.forEach((v, i) => (s[i] = 100 - v * 25)));
    assert.equal(fw({ Inv: inverse }, { score: [{ name: 'Inv', weight: 1 }] }).schedule(pod, cacheWith(3)).node, 'n0');
  });

  it('rejects scores outside 0..100 after normalizing', () => {
    const bad = byName('Bad', { n0: 500 });
    const r = fw({ Bad: bad }, { score: [{ name: 'Bad', weight: 1 }] }).schedule(pod, cacheWith(2));
    if (r.node !== undefined) return assert.fail('scheduled');
    assert.match(r.message, /invalid score 500/);
  });

  it('breaks ties at random among the best', () => {
    const flat = byName('Flat', {});
    const picked = new Set<string>();
    const f = fw({ Flat: flat }, { score: [{ name: 'Flat', weight: 1 }] }, { speed: { adaptiveSampling: false } });
    const cache = cacheWith(5);
    for (let i = 0; i < 200; i++) picked.add(f.schedule(pod, cache).node!);
    assert.equal(picked.size, 5);
  });
});

describe('Framework reserve, permit, bind', () => {
  it('unreserves in reverse order after a failed reserve', () => {
    const log: string[] = [];
    const mk = (name: string, ok: boolean) => ({
      name,
      reserve: () => (log.push(`reserve ${name}`), ok ? undefined : new Status('Unschedulable', ['full'])),
      unreserve: () => void log.push(`unreserve ${name}`),
    });
    const f = fw({ R1: mk('R1', true), R2: mk('R2', false) }, { reserve: ['R1', 'R2'] });
    const pi = new PodInfo(pod);
    const s = f.runReservePluginsReserve({} as CycleState, pi, 'n0');
    assert.equal(s?.plugin, 'R2');
    f.runReservePluginsUnreserve({} as CycleState, pi, 'n0');
    assert.deepEqual(log, ['reserve R1', 'reserve R2', 'unreserve R2', 'unreserve R1']);
  });

  it('waits at Permit until allowed, and binds with the first non-skipping binder', async () => {
    const bound: string[] = [];
    const f = fw({
      Gate: { name: 'Gate', permit: () => ({ status: new Status('Wait'), timeoutMs: 10_000 }) } as Plugin,
      Skipper: { name: 'Skipper', bind: () => SKIP } as Plugin,
      Binder: { name: 'Binder', bind: async (_s: CycleState, p: PodInfo, node: string) => void bound.push(`${p.name}@${node}`) } as Plugin,
    }, { permit: ['Gate'], bind: ['Skipper', 'Binder'] });
    const pi = new PodInfo(pod);
    const state = {} as CycleState;
    assert.equal(f.runPermitPlugins(state, pi, 'n1')?.code, 'Wait');
    const done = f.bindingCycle(state, pi, 'n1');
    assert.deepEqual(f.getWaitingPod(pi.uid)?.pendingPlugins(), ['Gate']);
    f.getWaitingPod(pi.uid)!.allow('Gate');
    assert.equal(await done, undefined);
    assert.deepEqual(bound, ['p@n1']);
  });

  it('rejects a waiting pod on timeout and unreserves', async () => {
    const log: string[] = [];
    const f = fw({
      Gate: { name: 'Gate', permit: () => ({ status: new Status('Wait'), timeoutMs: 5 }) } as Plugin,
      R: { name: 'R', reserve: () => undefined, unreserve: () => void log.push('unreserve') } as Plugin,
    }, { permit: ['Gate'], reserve: ['R'] });
    const pi = new PodInfo(pod);
    f.runPermitPlugins({} as CycleState, pi, 'n0');
    const s = await f.bindingCycle({} as CycleState, pi, 'n0');
    assert.equal(s?.code, 'Unschedulable');
    assert.match(s!.message(), /rejected due to timeout after waiting 0.005s at plugin Gate/);
    assert.deepEqual(log, ['unreserve']);
  });

  it('checks that plugins implement the points they are configured for', () => {
    assert.throws(() => fw({ X: { name: 'X' } }, { filter: ['X'] }), /plugin "X" does not extend filter plugin/);
    assert.throws(() => fw({}, { filter: ['Nope'] }), /plugin "Nope" does not exist/);
  });
});
