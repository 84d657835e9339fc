// Namespace deletion through the namespace controller, seen through kubectl:
// a populated namespace (a deployment's pods on simulated nodes, config
// maps, secrets, services, an object held by a custom finalizer) deleted
// with `kubectl delete ns`, which waits until the namespace is gone; while it
// terminates, its status conditions say what remains and new content is
// refused.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { eventually, KUBECTL, startServer, type ServerHandle } from './harness.ts';

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

describe('namespace deletion', () => {
  let server: ServerHandle;
  let deleting: ChildProcess | undefined;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2'] });
  });
  after(async () => {
    if (deleting && deleting.exitCode === null) deleting.kill('SIGKILL');
    await server?.stop();
  });

  /** `kubectl delete ns NAME` in the background: it returns only when the namespace is gone. */
  const deleteInBackground = (name: string) => {
    const child = spawn(KUBECTL, ['--kubeconfig', server.kubeconfig, 'delete', 'ns', name, '--timeout=90s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => { output += String(d); });
    child.stderr!.on('data', (d) => { output += String(d); });
    const exited = new Promise<{ code: number | null; output: string }>((resolve) => child.once('exit', (code) => resolve({ code, output })));
    return { child, exited };
  };

  it('empties a populated namespace, reports what remains while terminating, and removes it', async () => {
    server.k(['create', 'namespace', 'x']);
    assert.deepEqual(JSON.parse(server.k(['get', 'ns', 'x', '-o', 'json'])).spec.finalizers, ['kubernetes']);
    server.k(['create', 'deployment', 'web', '--image=nginx', '--replicas=2', '-n', 'x']);
    for (const n of ['a', 'b', 'c']) server.k(['create', 'configmap', `conf-${n}`, '--from-literal=k=v', '-n', 'x']);
    server.k(['create', 'secret', 'generic', 'creds', '--from-literal=password=p', '-n', 'x']);
    server.k(['create', 'service', 'clusterip', 'web', '--tcp=80:80', '-n', 'x']);
    server.k(['apply', '-f', '-'], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  namespace: x\n  finalizers: [example.com/x]\ndata:\n  k: v\n',
    });
    await eventually(() => {
      const pods = JSON.parse(server.k(['get', 'pods', '-n', 'x', '-o', 'json'])).items as { spec: { nodeName?: string }; status: { phase: string } }[];
      return pods.length === 2 && pods.every((p) => p.status.phase === 'Running' && p.spec.nodeName?.startsWith('sim-'));
    }, { timeoutMs: 30_000 });

    const run = deleteInBackground('x');
    deleting = run.child;
    // Held by the finalizer: Terminating, with upstream's conditions in `kubectl get -o yaml`.
    const namespace = await eventually(() => {
      const ns = parse(server.k(['get', 'ns', 'x', '-o', 'yaml']));
      const finalizers = (ns.status.conditions ?? []).find((c: Condition) => c.type === 'NamespaceFinalizersRemaining');
      return finalizers?.status === 'True' ? ns : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(namespace.status.phase, 'Terminating');
    assert.ok(namespace.metadata.deletionTimestamp);
    const conditions = Object.fromEntries((namespace.status.conditions as Condition[]).map((c) => [c.type, c]));
    assert.deepEqual(Object.keys(conditions).sort(), [
      'NamespaceContentRemaining', 'NamespaceDeletionContentFailure', 'NamespaceDeletionDiscoveryFailure',
      'NamespaceDeletionGroupVersionParsingFailure', 'NamespaceFinalizersRemaining',
    ]);
    assert.equal(conditions.NamespaceFinalizersRemaining.reason, 'SomeFinalizersRemain');
    assert.equal(conditions.NamespaceFinalizersRemaining.message, 'Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances');
    assert.equal(conditions.NamespaceContentRemaining.reason, 'SomeResourcesRemain');
    assert.match(conditions.NamespaceContentRemaining.message, /^Some resources are remaining: .*configmaps\. has 1 resource instances/);
    assert.equal(conditions.NamespaceDeletionDiscoveryFailure.status, 'False');
    assert.equal(conditions.NamespaceDeletionDiscoveryFailure.reason, 'ResourcesDiscovered');
    // Everything without a finalizer is gone (pods included, after their graceful termination).
    await eventually(() => server.k(['get', 'pods,deployments,replicasets,services,secrets', '-n', 'x', '-o', 'name']).trim() === '', { timeoutMs: 30_000 });
    assert.equal(server.k(['get', 'configmaps', '-n', 'x', '-o', 'name']).trim(), 'configmap/held');
    assert.equal(run.child.exitCode, null, 'kubectl delete still waits');

    const refused = server.kubectl(['create', 'configmap', 'late', '--from-literal=k=v', '-n', 'x']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /configmaps "late" is forbidden: unable to create new content in namespace x because it is being terminated/);
    const applied = server.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: late\n  namespace: x\n' });
    assert.match(applied.stderr, /Error from server \(Forbidden\).*secrets "late" is forbidden: unable to create new content in namespace x because it is being terminated/);

    server.k(['patch', 'configmap', 'held', '-n', 'x', '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    const { code, output } = await run.exited;
    assert.equal(code, 0, output);
    assert.match(output, /namespace "x" deleted/);
    const missing = server.kubectl(['get', 'ns', 'x']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /namespaces "x" not found/);
  });

  it('deletes an empty namespace at once', () => {
    server.k(['create', 'namespace', 'empty']);
    const started = Date.now();
    server.k(['delete', 'namespace', 'empty', '--timeout=30s']);
    assert.ok(Date.now() - started < 20_000);
    assert.notEqual(server.kubectl(['get', 'ns', 'empty']).status, 0);
  });
});
