// The scheduler inside `skiff server`, driven with kubectl against simulated
// nodes: requests, nodeSelector, taints and tolerations, explanations for
// unschedulable pods, a fitting node appearing, other schedulers' pods.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

const podYaml = (name: string, extra: { cpu?: string; nodeSelector?: Record<string, string>; tolerations?: unknown[]; schedulerName?: string; labels?: Record<string, string>; affinity?: unknown; topologySpreadConstraints?: unknown[]; priorityClassName?: string } = {}) => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: extra.labels ?? { app: name } },
  spec: {
    containers: [{ name: 'c', image: 'registry.local/app:1', ...(extra.cpu ? { resources: { requests: { cpu: extra.cpu } } } : {}) }],
    ...(extra.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}),
    ...(extra.tolerations ? { tolerations: extra.tolerations } : {}),
    ...(extra.schedulerName ? { schedulerName: extra.schedulerName } : {}),
    ...(extra.affinity ? { affinity: extra.affinity } : {}),
    ...(extra.topologySpreadConstraints ? { topologySpreadConstraints: extra.topologySpreadConstraints } : {}),
    ...(extra.priorityClassName ? { priorityClassName: extra.priorityClassName } : {}),
  },
});

describe('scheduling with simulated nodes', () => {
  let server: ServerHandle;
  const nodeOf = (pod: string) => JSON.parse(server.k(['get', 'pod', pod, '-o', 'json'])).spec.nodeName as string | undefined;
  const scheduled = (pod: string) => eventually(() => nodeOf(pod), { timeoutMs: 15_000 });
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '3:2,8Gi,110'] });
    await eventually(() => server.k(['get', 'nodes', '-o', 'name']).trim().split('\n').length === 3);
  });
  after(async () => server?.stop());

  it('places pods by their requests and runs them', async () => {
    for (const name of ['r1', 'r2', 'r3']) server.k(['apply', '-f', '-'], { input: podYaml(name, { cpu: '1500m' }) });
    const nodes = await Promise.all(['r1', 'r2', 'r3'].map(scheduled));
    assert.equal(new Set(nodes).size, 3, `each 1.5-cpu pod needs its own 2-cpu node: ${nodes}`);
    await eventually(() => JSON.parse(server.k(['get', 'pod', 'r1', '-o', 'json'])).status.phase === 'Running');
    assert.match(server.k(['describe', 'pod', 'r1']), /Normal\s+Scheduled\s+.*default-scheduler\s+Successfully assigned default\/r1 to sim-\d/);
  });

  it('explains an unschedulable pod and schedules it when a fitting node appears', async () => {
    server.k(['apply', '-f', '-'], { input: podYaml('wide', { cpu: '1' }) });
    await eventually(() => /FailedScheduling/.test(server.k(['describe', 'pod', 'wide'])), { timeoutMs: 15_000 });
    const described = server.k(['describe', 'pod', 'wide']);
    assert.match(described, /0\/3 nodes are available: 3 Insufficient cpu\./);
    const pod = JSON.parse(server.k(['get', 'pod', 'wide', '-o', 'json']));
    const condition = pod.status.conditions.find((c: { type: string }) => c.type === 'PodScheduled');
    assert.equal(condition.status, 'False');
    assert.equal(condition.reason, 'Unschedulable');
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Node', metadata: { name: 'late', labels: { 'kubernetes.io/hostname': 'late' } },
      status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
    }) });
    assert.equal(await scheduled('wide'), 'late');
    server.k(['delete', 'node', 'late']);
  });

  it('follows nodeSelector and keeps untolerated pods off tainted nodes', async () => {
    server.k(['label', 'node', 'sim-2', 'disk=ssd']);
    server.k(['apply', '-f', '-'], { input: podYaml('ssd', { nodeSelector: { disk: 'ssd' } }) });
    assert.equal(await scheduled('ssd'), 'sim-2');
    server.k(['apply', '-f', '-'], { input: podYaml('nowhere', { nodeSelector: { disk: 'tape' } }) });
    await eventually(() => /didn't match Pod's node affinity\/selector/.test(server.k(['describe', 'pod', 'nowhere'])), { timeoutMs: 15_000 });

    server.k(['taint', 'node', 'sim-0', 'dedicated=infra:NoSchedule']);
    server.k(['taint', 'node', 'sim-1', 'dedicated=infra:NoSchedule']);
    server.k(['apply', '-f', '-'], { input: podYaml('plain') });
    assert.equal(await scheduled('plain'), 'sim-2');
    server.k(['apply', '-f', '-'], { input: podYaml('tolerant', { nodeSelector: { 'kubernetes.io/hostname': 'sim-0' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] }) });
    assert.equal(await scheduled('tolerant'), 'sim-0');
    server.k(['taint', 'node', 'sim-0', 'dedicated-']);
    server.k(['taint', 'node', 'sim-1', 'dedicated-']);
  });

  it('spreads anti-affine replicas and follows topology spread across zones', async () => {
    for (const [i, node] of ['sim-0', 'sim-1', 'sim-2'].entries()) server.k(['label', 'node', node, `topology.kubernetes.io/zone=zone-${i % 2}`, '--overwrite']);
    const antiAffinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'solo' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    for (const name of ['solo-1', 'solo-2', 'solo-3', 'solo-4']) server.k(['apply', '-f', '-'], { input: podYaml(name, { labels: { app: 'solo' }, affinity: antiAffinity }) });
    const placed = await Promise.all(['solo-1', 'solo-2', 'solo-3'].map(scheduled));
    assert.equal(new Set(placed).size, 3, `one per node: ${placed}`);
    await eventually(() => /node\(s\) didn't match pod anti-affinity rules/.test(server.k(['describe', 'pod', 'solo-4'])), { timeoutMs: 15_000 });

    const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }];
    const names = ['s1', 's2', 's3', 's4'];
    for (const name of names) {
      server.k(['apply', '-f', '-'], { input: podYaml(name, { labels: { app: 'spread' }, topologySpreadConstraints: spread }) });
      await scheduled(name);
    }
    const zones = names.map((n) => (nodeOf(n) === 'sim-1' ? 'zone-1' : 'zone-0'));
    assert.equal(zones.filter((z) => z === 'zone-0').length, 2, `two per zone: ${zones}`);
  });

  it('preempts lower-priority pods for a higher-priority one', async () => {
    server.k(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'urgent' }, value: 1000 }) });
    // Fill what is left on every node with low-priority pods.
    server.k(['delete', 'pods', '--all', '--grace-period=0', '--force', '--wait=true']);
    for (const name of ['low-0', 'low-1', 'low-2']) server.k(['apply', '-f', '-'], { input: podYaml(name, { cpu: '1800m' }) });
    await Promise.all(['low-0', 'low-1', 'low-2'].map(scheduled));
    server.k(['apply', '-f', '-'], { input: podYaml('vip', { cpu: '1500m', priorityClassName: 'urgent' }) });
    const node = await scheduled('vip');
    const remaining = server.k(['get', 'pods', '-o', 'name']).trim().split('\n');
    assert.equal(remaining.filter((n) => n.startsWith('pod/low-')).length, 2, `one victim: ${remaining}`);
    assert.match(server.k(['get', 'events', '--field-selector', 'reason=Preempted', '-o', 'name']), /event/);
    assert.ok(node?.startsWith('sim-'));
  });

  it('leaves pods of other schedulers alone', async () => {
    server.k(['apply', '-f', '-'], { input: podYaml('foreign', { schedulerName: 'someone-else' }) });
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(nodeOf('foreign'), undefined);
    assert.doesNotMatch(server.k(['describe', 'pod', 'foreign']), /FailedScheduling|Scheduled/);
  });
});
