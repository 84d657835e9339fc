// PodDisruptionBudgets, the eviction subresource and `kubectl drain`, end to
// end: a real `skiff server` with three simulated nodes, the real kubectl.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';
import { RawClient } from './raw-client.ts';

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
}

const isReady = (pod: PodJson) => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('disruption budgets and kubectl drain', () => {
  let server: ServerHandle;
  let raw: RawClient;

  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '3'] });
    raw = new RawClient({ port: server.port, dataDir: server.dataDir });
  });

  after(async () => {
    await raw?.close();
    await server?.stop();
  });

  const pods = (): PodJson[] => JSON.parse(server.k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items;
  const livePods = () => pods().filter((p) => !p.metadata.deletionTimestamp);
  const allowedDisruptions = () => /^web\s+\S+\s+\S+\s+(\d+)\s/m.exec(server.k(['get', 'pdb', 'web']))?.[1];

  it('shows the budget, refuses an eviction beyond it, and drains a node while respecting it', async () => {
    await eventually(() => JSON.parse(server.k(['get', 'nodes', '-o', 'json'])).items.length === 3, { timeoutMs: 20_000 });
    // With sim-2 cordoned, three replicas land 2 + 1 on sim-0 and sim-1: one node holds two of them.
    server.k(['cordon', 'sim-2']);
    server.k(['create', 'deployment', 'web', '--image=nginx', '--replicas=3']);
    const running: PodJson[] = (await eventually(() => {
      const list = livePods();
      return list.length === 3 && list.every((p) => p.status.phase === 'Running' && isReady(p)) ? list : undefined;
    }, { timeoutMs: 30_000 }))!;
    server.k(['uncordon', 'sim-2']);
    const perNode = new Map<string, number>();
    for (const p of running) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
    const crowded = [...perNode].find(([, count]) => count === 2)?.[0];
    assert.ok(crowded, `a node holds two pods: ${JSON.stringify([...perNode])}`);

    server.k(['create', 'pdb', 'web', '--selector=app=web', '--min-available=2']);
    await eventually(() => allowedDisruptions() === '1', { timeoutMs: 20_000 });
    const table = server.k(['get', 'pdb', 'web']);
    assert.match(table, /^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE$/m);
    assert.match(table, /^web\s+2\s+N\/A\s+1\s+\d+s$/m);
    const status = JSON.parse(server.k(['get', 'pdb', 'web', '-o', 'json'])).status;
    assert.equal(status.currentHealthy, 3);
    assert.equal(status.desiredHealthy, 2);
    assert.equal(status.expectedPods, 3);

    // Tighten the budget to every pod: an eviction is now beyond it.
    server.k(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":3}}']);
    await eventually(() => allowedDisruptions() === '0' && JSON.parse(server.k(['get', 'pdb', 'web', '-o', 'json'])).status.observedGeneration === 2, { timeoutMs: 20_000 });
    const victim = running[0].metadata.name;
    const refused = await raw.request({
      method: 'POST', path: `/api/v1/namespaces/default/pods/${victim}/eviction`,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim, namespace: 'default' } },
    });
    assert.equal(refused.status, 429);
    assert.equal(refused.json.reason, 'TooManyRequests');
    assert.equal(refused.json.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.deepEqual(refused.json.details.causes, [{ reason: 'DisruptionBudget', message: 'The disruption budget web needs 3 healthy pods and has 3 currently' }]);
    // kubectl sees the same refusal through `create --raw`.
    const viaKubectl = server.kubectl(['create', '--raw', `/api/v1/namespaces/default/pods/${victim}/eviction`, '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: victim, namespace: 'default' } }),
    });
    assert.notEqual(viaKubectl.status, 0);
    assert.match(viaKubectl.stderr, /TooManyRequests.*Cannot evict pod as it would violate the pod's disruption budget/);
    assert.equal(livePods().length, 3, 'nothing was evicted');

    server.k(['patch', 'pdb', 'web', '--type=merge', '-p', '{"spec":{"minAvailable":2}}']);
    await eventually(() => allowedDisruptions() === '1', { timeoutMs: 20_000 });

    // Drain the node holding two pods, watching the pods meanwhile: one may go at once, the second only
    // once a replacement is ready elsewhere, so fewer than minAvailable ready pods must never be seen.
    const listed = (await raw.request({ path: '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb' })).json;
    const state = new Map<string, PodJson>(listed.items.map((p: PodJson) => [p.metadata.uid, p]));
    const watch = await raw.watch(`/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&watch=1&resourceVersion=${listed.metadata.resourceVersion}`);
    const doomed = running.filter((p) => p.spec.nodeName === crowded);
    const drain = server.kubectl(['drain', crowded, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s']);
    assert.equal(drain.status, 0, `drain failed:\n${drain.stdout}\n${drain.stderr}`);
    assert.match(drain.stdout, new RegExp(`node/${crowded} cordoned`));
    assert.match(drain.stdout, new RegExp(`node/${crowded} drained`));
    for (const p of doomed) assert.match(drain.stdout, new RegExp(`pod/${p.metadata.name} evicted`));
    // drain returns only once the evicted pods are gone.
    for (const p of doomed) assert.notEqual(server.kubectl(['get', 'pod', p.metadata.name]).status, 0, `${p.metadata.name} still exists`);

    const readyCount = () => [...state.values()].filter((p) => !p.metadata.deletionTimestamp && isReady(p)).length;
    const settled = () => readyCount() === 3 && [...state.values()].every((p) => p.spec.nodeName !== crowded);
    let fewestReady = readyCount();
    try {
      while (!settled()) {
        const event = await watch.next(30_000);
        if (!event) break;
        if (event.type === 'DELETED') state.delete(event.object.metadata.uid);
        else if (event.type === 'ADDED' || event.type === 'MODIFIED') state.set(event.object.metadata.uid, event.object);
        fewestReady = Math.min(fewestReady, readyCount());
      }
    } finally {
      watch.close();
    }
    assert.ok(settled(), `three ready pods off ${crowded}: ${JSON.stringify([...state.values()].map((p) => [p.metadata.name, p.spec.nodeName, isReady(p)]))}`);
    assert.equal(fewestReady, 2, 'the budget (minAvailable 2) held throughout the drain, and pods did go');
    const after = livePods();
    assert.equal(after.length, 3);
    for (const p of after) {
      assert.notEqual(p.spec.nodeName, crowded, `${p.metadata.name} is still on the drained node`);
      assert.ok(!doomed.some((d) => d.metadata.uid === p.metadata.uid));
    }
    const node = JSON.parse(server.k(['get', 'node', crowded, '-o', 'json']));
    assert.equal(node.spec.unschedulable, true);
    assert.match(server.k(['get', 'nodes']), new RegExp(`^${crowded}\\s+Ready,SchedulingDisabled\\s`, 'm'));
    await eventually(() => allowedDisruptions() === '1', { timeoutMs: 20_000 });
  });
});
