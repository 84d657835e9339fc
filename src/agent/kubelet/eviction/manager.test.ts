import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../client/interface.ts';
import { EvictionManager, type EvictionRequest } from './manager.ts';
import { evictionMessage, rankForEviction } from './ranking.ts';
import type { EvictionStats, Observations, PodUsage } from './stats.ts';
import { parseThresholds } from './thresholds.ts';

const Mi = 1024 * 1024;
const Gi = 1024 * Mi;

function pod(name: string, options: { memoryRequest?: string; priority?: number; storageRequest?: string; critical?: boolean } = {}): KubeObject {
  const requests: Record<string, string> = {};
  if (options.memoryRequest) requests.memory = options.memoryRequest;
  if (options.storageRequest) requests['ephemeral-storage'] = options.storageRequest;
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { priority: options.critical ? 2_000_001_000 : options.priority, containers: [{ name: 'app', image: 'busybox', resources: Object.keys(requests).length ? { requests } : {} }] },
  };
}

const usage = (memoryBytes: number, storageBytes = 0, processes = 0): PodUsage => ({ memoryBytes, storageBytes, processes, containers: [{ name: 'app', memoryBytes, storageBytes }] });

/** A node whose numbers the test sets; time the test moves. */
function fakeNode() {
  const state = {
    now: 0,
    memoryAvailable: 4 * Gi,
    diskAvailable: 50 * Gi,
    pods: [] as KubeObject[],
    usage: new Map<string, PodUsage>(),
    evicted: [] as { name: string; request: EvictionRequest }[],
    reclaimed: 0,
    reclaimFrees: 0,
  };
  const stats: EvictionStats = {
    async node(): Promise<Observations> {
      return {
        'memory.available': { available: state.memoryAvailable, capacity: 8 * Gi },
        'nodefs.available': { available: state.diskAvailable, capacity: 100 * Gi },
        'pid.available': { available: 30_000, capacity: 32_768 },
      };
    },
    async pods() { return state.usage; },
  };
  const manager = (options: { hard?: string; soft?: string; softGracePeriod?: string; pressureTransitionMs?: number } = {}) => new EvictionManager({
    thresholds: parseThresholds(options), stats, pressureTransitionMs: options.pressureTransitionMs,
    now: () => new Date(state.now),
    activePods: () => state.pods.filter((p) => !state.evicted.some((e) => e.name === p.metadata.name)),
    evict: async (p, request) => { state.evicted.push({ name: p.metadata.name!, request }); return true; },
    reclaim: { unusedImages: async () => { state.reclaimed++; state.diskAvailable += state.reclaimFrees; } },
  });
  return { state, manager };
}

describe('eviction manager', () => {
  it('memory below the hard threshold: MemoryPressure, one pod evicted per round with upstream\'s message, grace 1 s', async () => {
    const { state, manager } = fakeNode();
    const m = manager();
    state.pods = [pod('guaranteed', { memoryRequest: '1Gi' }), pod('hog'), pod('small')];
    state.usage = new Map([['uid-guaranteed', usage(512 * Mi)], ['uid-hog', usage(700 * Mi)], ['uid-small', usage(10 * Mi)]]);
    assert.equal(await m.synchronize(), undefined);
    assert.deepEqual(m.pressure(), { memory: false, disk: false, pid: false });

    state.memoryAvailable = 50 * Mi;
    state.now += 10_000;
    const first = await m.synchronize();
    assert.equal(first?.metadata.name, 'hog');
    assert.deepEqual(m.pressure(), { memory: true, disk: false, pid: false });
    assert.equal(state.evicted[0]!.request.gracePeriodSeconds, 1);
    assert.equal(state.evicted[0]!.request.message,
      'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container app was using 700Mi, request is 0, has larger consumption of memory. ');
    state.now += 10_000;
    assert.equal((await m.synchronize())?.metadata.name, 'small');
    assert.equal(state.evicted.length, 2);
  });

  it('conditions stay True for the transition period after the signal recovers', async () => {
    const { state, manager } = fakeNode();
    const m = manager({ pressureTransitionMs: 60_000 });
    state.memoryAvailable = 10 * Mi;
    await m.synchronize();
    assert.equal(m.pressure().memory, true);
    state.memoryAvailable = 4 * Gi;
    state.now += 30_000;
    await m.synchronize();
    assert.equal(m.pressure().memory, true, 'still within the transition period');
    state.now += 31_000;
    await m.synchronize();
    assert.equal(m.pressure().memory, false);
  });

  it('soft thresholds: the condition at once, eviction only after the grace period', async () => {
    const { state, manager } = fakeNode();
    const m = manager({ hard: 'memory.available<10Mi', soft: 'memory.available<1Gi', softGracePeriod: 'memory.available=1m' });
    state.pods = [pod('a')];
    state.usage = new Map([['uid-a', usage(Gi)]]);
    state.memoryAvailable = 512 * Mi;
    assert.equal(await m.synchronize(), undefined);
    assert.equal(m.pressure().memory, true);
    state.now += 30_000;
    assert.equal(await m.synchronize(), undefined);
    state.now += 30_000;
    assert.equal((await m.synchronize())?.metadata.name, 'a');
    assert.equal(state.evicted[0]!.request.gracePeriodSeconds, 0, 'soft: min(--eviction-max-pod-grace-period, the pod\'s)');
    assert.match(state.evicted[0]!.request.message, /Threshold quantity: 1Gi, available: 512Mi\. /);
  });

  it('disk pressure reclaims images first and evicts only when that was not enough', async () => {
    const { state, manager } = fakeNode();
    const m = manager();
    state.pods = [pod('writer'), pod('quiet')];
    state.usage = new Map([['uid-writer', usage(0, 3 * Gi)], ['uid-quiet', usage(0, Mi)]]);
    state.diskAvailable = 5 * Gi;
    state.reclaimFrees = 20 * Gi;
    assert.equal(await m.synchronize(), undefined);
    assert.equal(state.reclaimed, 1);
    assert.equal(m.pressure().disk, true);
    assert.equal(state.evicted.length, 0);

    state.diskAvailable = 5 * Gi;
    state.reclaimFrees = 0;
    state.now += 10_000;
    assert.equal((await m.synchronize())?.metadata.name, 'writer');
    assert.equal(state.evicted[0]!.request.message,
      'The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. Container app was using 3Gi, request is 0, has larger consumption of ephemeral-storage. ');
  });

  it('never evicts critical pods', async () => {
    const { state, manager } = fakeNode();
    const m = manager();
    state.pods = [pod('system', { critical: true })];
    state.usage = new Map([['uid-system', usage(4 * Gi)]]);
    state.memoryAvailable = 0;
    assert.equal(await m.synchronize(), undefined);
    assert.equal(state.evicted.length, 0);
  });

  it('admission under pressure: BestEffort pods refused under memory pressure alone, every pod under disk pressure', async () => {
    const { state, manager } = fakeNode();
    const m = manager();
    assert.equal(m.admit(pod('x')), undefined);
    state.memoryAvailable = 0;
    await m.synchronize();
    assert.deepEqual(m.admit(pod('besteffort')), { reason: 'Evicted', message: 'The node had condition: [MemoryPressure]. ' });
    assert.equal(m.admit(pod('burstable', { memoryRequest: '10Mi' })), undefined);
    assert.equal(m.admit(pod('critical', { critical: true })), undefined);
    const tolerant = pod('tolerant');
    (tolerant.spec as any).tolerations = [{ key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' }];
    assert.equal(m.admit(tolerant), undefined);
    state.diskAvailable = 0;
    state.now += 10_000;
    await m.synchronize();
    assert.equal(m.admit(pod('burstable', { memoryRequest: '10Mi' }))?.message, 'The node had condition: [MemoryPressure DiskPressure]. ');
  });
});

describe('eviction ranking', () => {
  it('memory: pods above their requests first, then lower priority, then the larger excess', () => {
    const pods = [
      pod('within-request', { memoryRequest: '1Gi' }),
      pod('high-priority-over', { priority: 1000 }),
      pod('low-priority-small-over', { priority: -5 }),
      pod('big-over'),
      pod('small-over'),
      pod('critical', { critical: true }),
    ];
    const u = new Map([
      ['uid-within-request', usage(900 * Mi)], ['uid-high-priority-over', usage(2 * Gi)], ['uid-low-priority-small-over', usage(Mi)],
      ['uid-big-over', usage(500 * Mi)], ['uid-small-over', usage(100 * Mi)], ['uid-critical', usage(8 * Gi)],
    ]);
    assert.deepEqual(rankForEviction('memory.available', { pods, usage: u }).map((p) => p.metadata.name),
      ['low-priority-small-over', 'big-over', 'small-over', 'high-priority-over', 'within-request']);
  });

  it('pids: lower priority, then more processes', () => {
    const pods = [pod('few'), pod('many'), pod('low', { priority: -1 })];
    const u = new Map([['uid-few', usage(0, 0, 2)], ['uid-many', usage(0, 0, 200)], ['uid-low', usage(0, 0, 1)]]);
    assert.deepEqual(rankForEviction('pid.available', { pods, usage: u }).map((p) => p.metadata.name), ['low', 'many', 'few']);
  });

  it('messages name only containers above their request, with the request as written; percentages print bytes', () => {
    const p = pod('web', { memoryRequest: '128M' });
    const [threshold] = parseThresholds({ hard: 'memory.available<10%' });
    const message = evictionMessage({
      threshold: threshold!, pod: p, usage: usage(788244 * 1024),
      observations: { 'memory.available': { available: 12536420 * 1024, capacity: 8 * Gi + 3 } },
    });
    assert.equal(message, 'The node was low on resource: memory. Threshold quantity: 858993459, available: 12536420Ki. Container app was using 788244Ki, request is 128M, has larger consumption of memory. ');
    const within = evictionMessage({ threshold: threshold!, pod: p, usage: usage(Mi), observations: {} });
    assert.equal(within, 'The node was low on resource: memory. ');
  });
});
