import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeNode, makePod, seededRandom } from '../testing/harness.ts';
import { SchedulerCache } from './cache.ts';

const newCache = () => new SchedulerCache({ random: seededRandom(42) });

describe('SchedulerCache nodes', () => {
  it('keeps every node once, in a shuffled order, and finds them by name', () => {
    const c = newCache();
    for (let i = 0; i < 50; i++) c.addNode(makeNode({ name: `n${i}` }));
    assert.equal(c.nodes.length, 50);
    assert.deepEqual(new Set(c.nodes.map((n) => n.name)).size, 50);
    assert.notDeepEqual(c.nodes.map((n) => n.name), Array.from({ length: 50 }, (_, i) => `n${i}`));
    assert.equal(c.get('n7')?.name, 'n7');
    c.removeNode('n7');
    assert.equal(c.nodes.length, 49);
    assert.equal(c.get('n7'), undefined);
    assert.ok(!c.nodes.some((n) => n.name === 'n7'));
  });

  it('reuses slots and gives every NodeInfo a fresh generation', () => {
    const c = newCache();
    const a = c.addNode(makeNode({ name: 'a' }));
    const gen = a.generation;
    const slot = a.slot;
    c.removeNode('a');
    const b = c.addNode(makeNode({ name: 'b' }));
    assert.equal(b.slot, slot);
    assert.ok(b.generation > gen);
    assert.equal(c.slotCount, 1);
  });

  it('bumps the node generation only when something plugins read changes', () => {
    const c = newCache();
    const ni = c.addNode(makeNode({ name: 'a' }));
    const g0 = ni.generation;
    const heartbeat = makeNode({ name: 'a' });
    heartbeat.status!.conditions = [{ type: 'Ready', status: 'True' }];
    c.updateNode(heartbeat);
    assert.equal(ni.generation, g0);
    assert.equal(ni.node, heartbeat, 'the new object is kept');
    c.updateNode(makeNode({ name: 'a', labels: { zone: 'z1' } }));
    assert.ok(ni.generation > g0);
    assert.equal(ni.labels.zone, 'z1');
  });

  it('tracks image spread across nodes and the node-set generation', () => {
    const c = newCache();
    const img = { names: ['nginx:1'], sizeBytes: 100 };
    c.addNode(makeNode({ name: 'a', images: [img] }));
    const setGen = c.nodeSetGeneration;
    c.addNode(makeNode({ name: 'b', images: [img] }));
    assert.ok(c.nodeSetGeneration > setGen);
    assert.equal(c.get('a')!.imageStates.get('nginx:1')!.nodes.size, 2);
    const g = c.nodeSetGeneration;
    c.assumePod(makePod({ name: 'p' }), 'a');
    assert.equal(c.nodeSetGeneration, g, 'pods do not change the node set');
    c.removeNode('b');
    assert.equal(c.get('a')!.imageStates.get('nginx:1')!.nodes.size, 1);
  });
});

describe('SchedulerCache pods', () => {
  it('counts an assumed pod at once and drops it when forgotten', () => {
    const c = newCache();
    const ni = c.addNode(makeNode({ name: 'a' }));
    const pod = makePod({ name: 'p', cpu: '1', memory: '1Gi', ports: [{ containerPort: 80, hostPort: 8080 }] });
    c.assumePod(pod, 'a');
    assert.equal(ni.requested.milliCPU, 1000);
    assert.equal(ni.pods.length, 1);
    assert.ok(c.isAssumed(pod));
    assert.ok(ni.usedPorts.conflicts({ hostIP: '0.0.0.0', protocol: 'TCP', hostPort: 8080 }));
    assert.throws(() => c.assumePod(pod, 'a'), /already in the scheduler cache/);
    c.forgetPod(pod);
    assert.equal(ni.requested.milliCPU, 0);
    assert.equal(ni.usedPorts.size, 0);
    assert.equal(c.podCount, 0);
  });

  it('confirms an assumed pod when it is added, moving it if the API placed it elsewhere', () => {
    const c = newCache();
    const a = c.addNode(makeNode({ name: 'a' }));
    const b = c.addNode(makeNode({ name: 'b' }));
    const pod = makePod({ name: 'p', cpu: '1' });
    c.assumePod(pod, 'a');
    c.addPod({ ...pod, spec: { ...pod.spec, nodeName: 'b' } });
    assert.ok(!c.isAssumed(pod));
    assert.equal(a.pods.length, 0);
    assert.equal(b.requested.milliCPU, 1000);
  });

  it('keeps the generation on status-only pod updates', () => {
    const c = newCache();
    const ni = c.addNode(makeNode({ name: 'a' }));
    const pod = makePod({ name: 'p', cpu: '1', nodeName: 'a' });
    c.addPod(pod);
    const g = ni.generation;
    c.updatePod(pod, { ...pod, status: { phase: 'Running' } });
    assert.equal(ni.generation, g);
    assert.equal(ni.pods[0]!.pod.status?.phase, 'Running');
    c.updatePod(pod, { ...pod, metadata: { ...pod.metadata, labels: { app: 'x' } } });
    assert.ok(ni.generation > g);
    c.removePod(pod);
    assert.equal(ni.pods.length, 0);
  });

  it('keeps pods of a deleted node until they go, without listing the node', () => {
    const c = newCache();
    c.addNode(makeNode({ name: 'a' }));
    const pod = makePod({ name: 'p', nodeName: 'a' });
    c.addPod(pod);
    c.removeNode('a');
    assert.equal(c.nodes.length, 0);
    assert.equal(c.get('a')?.pods.length, 1);
    assert.equal(c.get('a')?.node, undefined);
    c.removePod(pod);
    assert.equal(c.get('a'), undefined);
  });

  it('accepts pods before their node', () => {
    const c = newCache();
    c.addPod(makePod({ name: 'p', cpu: '1', nodeName: 'late' }));
    assert.equal(c.nodes.length, 0);
    const ni = c.addNode(makeNode({ name: 'late' }));
    assert.equal(ni.requested.milliCPU, 1000);
    assert.equal(c.nodes.length, 1);
  });

  it('expires assumed pods whose binding finished, with a TTL', () => {
    const c = new SchedulerCache({ assumedPodTTLms: 1000 });
    c.addNode(makeNode({ name: 'a' }));
    const pod = makePod({ name: 'p' });
    c.assumePod(pod, 'a');
    assert.deepEqual(c.cleanupExpiredAssumedPods(5000), [], 'binding not finished yet');
    c.finishBinding(pod, 1000);
    assert.deepEqual(c.cleanupExpiredAssumedPods(1500), []);
    assert.equal(c.cleanupExpiredAssumedPods(2500).length, 1);
    assert.equal(c.podCount, 0);
  });

  it('lists nodes with affinity pods for InterPodAffinity', () => {
    const c = newCache();
    c.addNode(makeNode({ name: 'a' }));
    c.addNode(makeNode({ name: 'b' }));
    const anti = makePod({
      name: 'p', nodeName: 'b',
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'x' } } }] } },
    });
    c.addPod(anti);
    assert.deepEqual(c.nodesWithPodAffinity().map((n) => n.name), ['b']);
    assert.deepEqual(c.nodesWithRequiredAntiAffinity().map((n) => n.name), ['b']);
    c.removePod(anti);
    assert.deepEqual(c.nodesWithRequiredAntiAffinity(), []);
  });
});
