// The DaemonSet controller's pure parts: placement (selectors, affinity,
// taints and the daemon tolerations), the manage plan and one rolling
// update step, on hand-made nodes and pods.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTROLLER_REVISION_HASH_LABEL } from '../framework/history.ts';
import type { Pod } from '../framework/types.ts';
import { nodeShouldRunDaemonPod, pinToNode, targetNodeOf, withDaemonTolerations, type Node } from './nodes.ts';
import { calculateStatus, planManage, planRollingUpdate, type DaemonSet, type NodePods } from './plan.ts';

const node = (name: string, labels: Record<string, string> = {}, taints: Node['spec'] = {}): Node => ({ metadata: { name, labels }, spec: taints });
const now = new Date('2030-01-01T00:00:00Z');

function pod(name: string, nodeName: string, hash: string, ready = true, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: name, labels: { [CONTROLLER_REVISION_HASH_LABEL]: hash }, creationTimestamp: '2029-01-01T00:00:00Z', ...extra },
    spec: { nodeName },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: '2029-01-01T00:00:00Z' }] },
  };
}

function ds(strategy: DaemonSet['spec']['updateStrategy'] = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, podSpec: Record<string, unknown> = {}): DaemonSet {
  return {
    metadata: { name: 'd', namespace: 'ns', generation: 2 },
    spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [], ...podSpec } }, updateStrategy: strategy },
  };
}

const byNode = (pods: Pod[]): NodePods => {
  const map: NodePods = new Map();
  for (const p of pods) map.set(p.spec!.nodeName!, [...(map.get(p.spec!.nodeName!) ?? []), p]);
  return map;
};

describe('daemon placement', () => {
  it('matches nodeSelector, affinity terms (labels and metadata.name) and nodeName', () => {
    const spec = {
      nodeSelector: { disk: 'ssd' },
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['special'] }] },
      ] } } },
    };
    assert.equal(nodeShouldRunDaemonPod(node('n1', { disk: 'ssd', zone: 'a' }), spec).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('n2', { disk: 'ssd', zone: 'c' }), spec).shouldRun, false);
    assert.equal(nodeShouldRunDaemonPod(node('special', { disk: 'ssd' }), spec).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('n3', { zone: 'a' }), spec).shouldRun, false);
    assert.equal(nodeShouldRunDaemonPod(node('n4'), { nodeName: 'n5' }).shouldRun, false);
    const bad = { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'Near' }] }] } } } };
    assert.equal(nodeShouldRunDaemonPod(node('n6', { k: 'v' }), bad).shouldRun, false);
  });

  it('keeps off untolerated NoSchedule taints, evicts on untolerated NoExecute, tolerates the node condition taints', () => {
    assert.deepEqual(nodeShouldRunDaemonPod(node('n', {}, { taints: [{ key: 'gpu', effect: 'NoSchedule' }] }), {}), { shouldRun: false, shouldContinueRunning: true });
    assert.deepEqual(nodeShouldRunDaemonPod(node('n', {}, { taints: [{ key: 'gpu', effect: 'NoExecute' }] }), {}), { shouldRun: false, shouldContinueRunning: false });
    assert.equal(nodeShouldRunDaemonPod(node('n', {}, { taints: [{ key: 'gpu', effect: 'PreferNoSchedule' }] }), {}).shouldRun, true);
    assert.equal(nodeShouldRunDaemonPod(node('n', {}, { taints: [{ key: 'gpu', value: 'x', effect: 'NoSchedule' }] }), { tolerations: [{ key: 'gpu', value: 'x' }] }).shouldRun, true);
    for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
      assert.equal(nodeShouldRunDaemonPod(node('n', {}, { taints: [{ key, effect: 'NoExecute' }] }), {}).shouldRun, true, key);
    }
    for (const key of ['node.kubernetes.io/unschedulable', 'node.kubernetes.io/disk-pressure', 'node.kubernetes.io/memory-pressure', 'node.kubernetes.io/pid-pressure']) {
      assert.equal(nodeShouldRunDaemonPod(node('n', {}, { taints: [{ key, effect: 'NoSchedule' }] }), {}).shouldRun, true, key);
    }
    const network = node('n', {}, { taints: [{ key: 'node.kubernetes.io/network-unavailable', effect: 'NoSchedule' }] });
    assert.equal(nodeShouldRunDaemonPod(network, {}).shouldRun, false);
    assert.equal(nodeShouldRunDaemonPod(network, { hostNetwork: true }).shouldRun, true);
  });

  it('replaces a user toleration of the same taint instead of doubling it', () => {
    const tolerations = withDaemonTolerations({ tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }, { key: 'x', operator: 'Exists' }] });
    assert.equal(tolerations.length, 7);
    assert.deepEqual(tolerations[0], { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' });
  });

  it('pins a pod to its node, keeping preferred terms, and reads the pin back', () => {
    const affinity = pinToNode({ nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1 }], requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [] }] } } }, 'n7');
    assert.deepEqual(affinity.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution, [{ weight: 1 }]);
    assert.equal(targetNodeOf({ metadata: {}, spec: { affinity } }), 'n7');
    assert.equal(targetNodeOf({ metadata: {}, spec: { nodeName: 'n8', affinity } }), 'n8');
  });
});

describe('daemon plans', () => {
  it('creates where missing, keeps the oldest of duplicates, deletes from excluded and vanished nodes', () => {
    const nodes = [node('a'), node('b'), node('c'), node('d', {}, { taints: [{ key: 'x', effect: 'NoExecute' }] })];
    const older = pod('b-old', 'b', 'h', true, { creationTimestamp: '2028-01-01T00:00:00Z' });
    const pods = [older, pod('b-new', 'b', 'h'), pod('c1', 'c', 'h'), pod('d1', 'd', 'h'), pod('gone1', 'gone', 'h')];
    const plan = planManage({ ds: ds(), nodes, nodePods: byNode(pods), hash: 'h' });
    assert.deepEqual(plan.nodesNeedingPods, ['a']);
    assert.deepEqual(plan.podsToDelete.map((p) => p.metadata.name).sort(), ['b-new', 'd1']);
    assert.deepEqual(plan.orphanedPods.map((p) => p.metadata.name), ['gone1']);
    const failed = { ...pod('c2', 'c', 'h'), status: { phase: 'Failed' } };
    assert.deepEqual(planManage({ ds: ds(), nodes: [node('c')], nodePods: byNode([failed]), hash: 'h' }).failedPods.map((f) => f.pod.metadata.name), ['c2']);
  });

  it('without surge replaces unavailable old pods at once and at most maxUnavailable available ones', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((n) => node(n));
    const pods = [pod('a1', 'a', 'old'), pod('b1', 'b', 'old'), pod('c1', 'c', 'old', false), pod('d1', 'd', 'old')];
    const plan = planRollingUpdate({ ds: ds(), nodes, nodePods: byNode(pods), hash: 'new', now });
    assert.deepEqual(plan.podsToDelete.map((p) => p.metadata.name).sort(), ['a1', 'c1']);
    // A new pod still unavailable uses up the budget.
    const busy = planRollingUpdate({ ds: ds(), nodes, nodePods: byNode([pod('a2', 'a', 'new', false), ...pods.slice(1)]), hash: 'new', now });
    assert.deepEqual(busy.podsToDelete.map((p) => p.metadata.name), ['c1']);
    assert.deepEqual(planRollingUpdate({ ds: ds({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } }), nodes, nodePods: byNode(pods), hash: 'new', now })
      .podsToDelete.map((p) => p.metadata.name).sort(), ['a1', 'b1', 'c1']);
  });

  it('with surge starts new pods beside old ones and retires an old pod once its successor is available', () => {
    const surge = ds({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const nodes = ['a', 'b', 'c'].map((n) => node(n));
    const start = planRollingUpdate({ ds: surge, nodes, nodePods: byNode([pod('a1', 'a', 'old'), pod('b1', 'b', 'old'), pod('c1', 'c', 'old', false)]), hash: 'new', now });
    assert.deepEqual(start.nodesNeedingPods, ['c', 'a'], 'the node whose old pod is unavailable anyway, plus one surge candidate');
    assert.deepEqual(start.podsToDelete, []);
    const later = planRollingUpdate({ ds: surge, nodes, nodePods: byNode([pod('a1', 'a', 'old'), pod('a2', 'a', 'new'), pod('b1', 'b', 'old'), pod('c1', 'c', 'old', false), pod('c2', 'c', 'new', false)]), hash: 'new', now });
    assert.deepEqual(later.podsToDelete.map((p) => p.metadata.name), ['a1']);
    assert.deepEqual(later.nodesNeedingPods, [], 'c is still surging: b waits');
  });

  it('counts status per node from the oldest pod', () => {
    const nodes = [node('a'), node('b'), node('c', {}, { taints: [{ key: 'x', effect: 'NoSchedule' }] })];
    const status = calculateStatus({ ds: ds(), nodes, nodePods: byNode([pod('a1', 'a', 'h'), pod('c1', 'c', 'h')]), hash: 'h', now, observe: true });
    assert.deepEqual(status, {
      currentNumberScheduled: 1, numberMisscheduled: 1, desiredNumberScheduled: 2, numberReady: 1, observedGeneration: 2,
      updatedNumberScheduled: 1, numberAvailable: 1, numberUnavailable: 1,
    });
  });
});
