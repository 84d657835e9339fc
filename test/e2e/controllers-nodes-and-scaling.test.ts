// DaemonSets following nodes and StatefulSets scaling in order, in `skiff
// server` with simulated nodes, driven by kubectl. The StatefulSet's order is
// observed through a pod watch (`kubectl get --raw '...?watch=true'`), as a
// user would with `kubectl get pods -w`.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { KUBECTL, eventually, startServer, type ServerHandle } from './harness.ts';

interface Pod {
  metadata: { name: string; deletionTimestamp?: string; creationTimestamp: string };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface WatchEvent { type: string; object: Pod }

const isReady = (pod: Pod) => pod.status?.phase === 'Running' && !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

describe('controllers following nodes and scaling in order', () => {
  let server: ServerHandle;
  const watchers: ChildProcess[] = [];
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  /** Watch pods with `selector` through kubectl (bounded by timeoutSeconds); events are collected in order. */
  const watchPods = (selector: string, timeoutSeconds: number) => {
    const path = `/api/v1/namespaces/default/pods?watch=true&labelSelector=${encodeURIComponent(selector)}&timeoutSeconds=${timeoutSeconds}`;
    const child = spawn(KUBECTL, ['--kubeconfig', server.kubeconfig, '--cache-dir', join(server.dataDir, 'kube-cache'), 'get', '--raw', path], { stdio: ['ignore', 'pipe', 'pipe'] });
    watchers.push(child);
    const events: WatchEvent[] = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.trim()) events.push(JSON.parse(line));
    });
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    };
    return { events, stop };
  };
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2'] });
    await eventually(() => server.k(['get', 'nodes', '-o', 'name']).trim().split('\n').length === 2);
  });
  after(async () => {
    for (const child of watchers) if (child.exitCode === null && child.signalCode === null) child.kill();
    await server?.stop();
  });

  it('runs a DaemonSet pod on a Node that joins and removes it when the Node goes', async () => {
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'busybox' }] } } },
    }) });
    assert.match(server.k(['rollout', 'status', 'ds/agent', '--timeout=60s']), /successfully rolled out/);
    const nodesOfPods = () => (json(['get', 'pods', '-l', 'app=agent']).items as Pod[])
      .filter((p) => !p.metadata.deletionTimestamp).map((p) => p.spec.nodeName ?? '?').sort();
    assert.deepEqual(nodesOfPods(), ['sim-0', 'sim-1']);

    // A Node without a kubelet (no heartbeat; fine for a short test): its pod is created and bound, and stays Pending.
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Node', metadata: { name: 'joiner', labels: { 'kubernetes.io/hostname': 'joiner' } },
      status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
    }) });
    await eventually(() => nodesOfPods().join() === 'joiner,sim-0,sim-1', { timeoutMs: 20_000 });
    await eventually(() => json(['get', 'ds', 'agent']).status.desiredNumberScheduled === 3, { timeoutMs: 10_000 });
    const joinerPod = (json(['get', 'pods', '-l', 'app=agent']).items as Pod[]).find((p) => p.spec.nodeName === 'joiner')!;

    server.k(['delete', 'node', 'joiner']);
    await eventually(() => server.kubectl(['get', 'pod', joinerPod.metadata.name]).status !== 0, { timeoutMs: 20_000 });
    assert.deepEqual(nodesOfPods(), ['sim-0', 'sim-1']);
    await eventually(() => {
      const s = json(['get', 'ds', 'agent']).status;
      return s.desiredNumberScheduled === 2 && s.currentNumberScheduled === 2 && s.numberReady === 2;
    }, { timeoutMs: 10_000 });
    assert.match(server.k(['get', 'ds', 'agent']), /^agent\s+2\s+2\s+2\s+2\s+2\s/m);
  });

  it('scales a StatefulSet up in order and down in reverse order', async () => {
    const watch = watchPods('app=db', 90);
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' },
      spec: {
        serviceName: 'db', replicas: 3, selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres:17' }] } },
      },
    }) });
    assert.match(server.k(['rollout', 'status', 'sts/db', '--timeout=60s']), /complete|successfully rolled out/);
    await eventually(() => watch.events.filter((e) => e.object.metadata.name === 'db-2' && isReady(e.object)).length > 0, { timeoutMs: 10_000 });

    // Each pod is created only once the one before it is Running and Ready.
    const indexOf = (predicate: (e: WatchEvent) => boolean) => watch.events.findIndex(predicate);
    const added = (name: string) => indexOf((e) => e.type === 'ADDED' && e.object.metadata.name === name);
    const ready = (name: string) => indexOf((e) => e.object.metadata.name === name && isReady(e.object));
    for (const name of ['db-0', 'db-1', 'db-2']) {
      assert.ok(added(name) >= 0, `${name} was added`);
      assert.ok(ready(name) > added(name), `${name} became ready`);
    }
    assert.ok(added('db-1') > ready('db-0'), 'db-1 is created after db-0 is ready');
    assert.ok(added('db-2') > ready('db-1'), 'db-2 is created after db-1 is ready');
    const created = (json(['get', 'pods', '-l', 'app=db']).items as Pod[]).map((p) => [p.metadata.name, p.metadata.creationTimestamp]).sort();
    assert.ok(created[0][1] <= created[1][1] && created[1][1] <= created[2][1], `creationTimestamps in ordinal order: ${JSON.stringify(created)}`);

    // Scale down: db-2 goes (is deleted for good) before db-1 starts terminating.
    server.k(['scale', 'sts', 'db', '--replicas=1']);
    await eventually(() => {
      const names = (json(['get', 'pods', '-l', 'app=db']).items as Pod[]).map((p) => p.metadata.name);
      return names.join() === 'db-0';
    }, { timeoutMs: 30_000 });
    await eventually(() => watch.events.filter((e) => e.type === 'DELETED').length === 2, { timeoutMs: 10_000 });
    const terminating = (name: string) => indexOf((e) => e.object.metadata.name === name && !!e.object.metadata.deletionTimestamp);
    const deleted = (name: string) => indexOf((e) => e.type === 'DELETED' && e.object.metadata.name === name);
    assert.ok(terminating('db-2') >= 0 && deleted('db-2') >= terminating('db-2'), 'db-2 terminated');
    assert.ok(terminating('db-1') > deleted('db-2'), 'db-1 starts terminating only after db-2 is gone');
    assert.ok(deleted('db-1') > deleted('db-2'));
    assert.equal(deleted('db-0'), -1, 'db-0 stays');
    await watch.stop();
    assert.match(server.k(['get', 'sts', 'db']), /^db\s+1\/1\s/m);
  });
});
