// Node failure end to end, on `skiff server --simulated-nodes`: a node whose
// heartbeats stop (skiff.dev/simulated-heartbeat=paused) goes Ready=Unknown,
// is tainted unreachable, and a Deployment's pods on it are evicted (after
// their shortened tolerationSeconds) and replaced on the other nodes; when
// the heartbeats resume the taints go. kubectl cordon/uncordon add and remove
// the unschedulable taint, and pod GC deletes pods of a deleted node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

interface Taint { key: string; effect: string; timeAdded?: string }
interface NodeJson { metadata: { name: string }; spec: { taints?: Taint[]; unschedulable?: boolean }; status: { conditions: { type: string; status: string; reason?: string; message?: string }[] } }
interface PodJson { metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string; conditions?: { type: string; status: string }[] } }

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 6
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: [{ name: web, image: nginx }]
      tolerations:
      - { key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2 }
      - { key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2 }
`;

describe('node lifecycle', () => {
  let server: ServerHandle;
  const node = (name: string): NodeJson => JSON.parse(server.k(['get', 'node', name, '-o', 'json']));
  const ready = (n: NodeJson) => n.status.conditions.find((c) => c.type === 'Ready');
  const taints = (n: NodeJson) => (n.spec.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
  const pods = (selector: string): PodJson[] => JSON.parse(server.k(['get', 'pods', '-l', selector, '-o', 'json'])).items;
  const isReady = (p: PodJson) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '4', '--node-monitor-grace-period', '5s', '--node-monitor-period', '1s'] });
    await eventually(() => (JSON.parse(server.k(['get', 'nodes', '-o', 'json'])).items as NodeJson[]).filter((n) => ready(n)?.status === 'True').length === 4, { timeoutMs: 30_000 });
  });
  after(async () => server?.stop());

  it('starts a pod GC case: a pod bound to a node that is then deleted', () => {
    server.k(['run', 'orphan', '--image=nginx', '--overrides', '{"spec":{"nodeName":"sim-3"}}']);
    server.k(['wait', '--for=condition=Ready', 'pod/orphan', '--timeout=30s']);
    server.k(['delete', 'node', 'sim-3']);
  });

  it('keeps healthy nodes Ready and untainted', async () => {
    await new Promise((resolve) => setTimeout(resolve, 7000)); // longer than the grace period
    for (const name of ['sim-0', 'sim-1', 'sim-2']) {
      const n = node(name);
      assert.equal(ready(n)?.status, 'True', name);
      assert.deepEqual(taints(n), [], name);
    }
  });

  it('evicts pods from a node that stopped heartbeating and replaces them elsewhere', async () => {
    server.k(['apply', '-f', '-'], { input: deployment });
    await eventually(() => pods('app=web').filter(isReady).length === 6, { timeoutMs: 60_000 });
    const counts = new Map<string, number>();
    for (const p of pods('app=web')) counts.set(p.spec.nodeName!, (counts.get(p.spec.nodeName!) ?? 0) + 1);
    const victim = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];

    server.k(['label', 'node', victim, 'skiff.dev/simulated-heartbeat=paused']);
    const unknown = (await eventually(() => {
      const n = node(victim);
      return ready(n)?.status === 'Unknown' ? n : undefined;
    }, { timeoutMs: 30_000 }))!;
    assert.equal(ready(unknown)?.reason, 'NodeStatusUnknown');
    assert.equal(ready(unknown)?.message, 'Kubelet stopped posting node status.');
    assert.match(server.k(['get', 'node', victim]), new RegExp(`^${victim}\\s+NotReady\\s`, 'm'));

    const tainted = (await eventually(() => {
      const n = node(victim);
      return taints(n).length === 2 ? n : undefined;
    }, { timeoutMs: 30_000 }))!;
    assert.deepEqual(taints(tainted), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);

    // Evicted after tolerationSeconds, replaced on the healthy nodes.
    await eventually(() => {
      const all = pods('app=web').filter((p) => !p.metadata.deletionTimestamp);
      return all.length === 6 && all.every((p) => p.spec.nodeName !== victim && isReady(p));
    }, { timeoutMs: 60_000 });
    const events = server.k(['get', 'events', '--field-selector', 'reason=TaintManagerEviction', '-o', 'json']);
    assert.match(events, /Marking for deletion Pod default\/web-/);

    // The kubelet comes back: Ready again, taints gone.
    server.k(['label', 'node', victim, 'skiff.dev/simulated-heartbeat-']);
    await eventually(() => {
      const n = node(victim);
      return ready(n)?.status === 'True' && taints(n).length === 0;
    }, { timeoutMs: 30_000 });
    assert.match(server.k(['get', 'node', victim]), new RegExp(`^${victim}\\s+Ready\\s`, 'm'));
  });

  it('taints a cordoned node unschedulable; uncordon removes it', async () => {
    assert.match(server.k(['cordon', 'sim-0']), /node\/sim-0 cordoned/);
    await eventually(() => taints(node('sim-0')).includes('node.kubernetes.io/unschedulable:NoSchedule'), { timeoutMs: 15_000 });
    assert.match(server.k(['get', 'node', 'sim-0']), /^sim-0\s+Ready,SchedulingDisabled\s/m);
    assert.match(server.k(['uncordon', 'sim-0']), /node\/sim-0 uncordoned/);
    await eventually(() => taints(node('sim-0')).length === 0 && !node('sim-0').spec.unschedulable, { timeoutMs: 15_000 });
  });

  it('gives new pods the default 300 s not-ready/unreachable tolerations', () => {
    server.k(['run', 'plain', '--image=nginx']);
    const spec = JSON.parse(server.k(['get', 'pod', 'plain', '-o', 'json'])).spec;
    assert.deepEqual(spec.tolerations, [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ]);
  });

  it('deletes the pod of the deleted node once its quarantine is over', async () => {
    // Upstream's fixed timings: 40 s quarantine, a pass every 20 s (counted from the first test).
    await eventually(() => server.kubectl(['get', 'pod', 'orphan']).status !== 0, { timeoutMs: 90_000, intervalMs: 1000 });
  });
});
