// Garbage collection end to end: `skiff server` with simulated nodes and the
// real kubectl's `delete --cascade=background|foreground|orphan`, plus owners
// and dependents of kinds no controller manages.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

interface Meta {
  name: string;
  uid: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: { kind: string; name: string; uid: string }[];
}
interface Item {
  metadata: Meta;
}

const TIMEOUT = 60_000;

describe('garbage collection on simulated nodes', () => {
  let server: ServerHandle;
  const items = (args: string[]): Item[] => JSON.parse(server.k(['get', ...args, '-o', 'json'])).items;
  const get = (args: string[]): Item | undefined => {
    const result = server.kubectl(['get', ...args, '-o', 'json']);
    if (result.status !== 0) {
      if (/NotFound|not found/.test(result.stderr)) return undefined;
      throw new Error(`kubectl get ${args.join(' ')}: ${result.stderr}`);
    }
    return JSON.parse(result.stdout);
  };
  const deployAndWait = (name: string, replicas: number) => {
    server.k(['create', 'deployment', name, '--image=nginx:1.27', `--replicas=${replicas}`]);
    assert.match(server.k(['rollout', 'status', `deploy/${name}`, '--timeout=60s']), /successfully rolled out/);
    assert.equal(items(['pods', '-l', `app=${name}`]).length, replicas);
    assert.equal(items(['rs', '-l', `app=${name}`]).length, 1);
  };
  const allGone = (name: string) => items(['rs', '-l', `app=${name}`]).length === 0 && items(['pods', '-l', `app=${name}`]).length === 0;

  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '2'] });
  });
  after(async () => server?.stop());

  it('--cascade=background: the Deployment goes at once, its ReplicaSets and pods after it', async () => {
    deployAndWait('bg', 3);
    server.k(['delete', 'deployment', 'bg', '--cascade=background']);
    assert.equal(get(['deployment', 'bg']), undefined);
    await eventually(() => allGone('bg'), { timeoutMs: TIMEOUT });
  });

  it('--cascade=foreground: the Deployment stays marked until its ReplicaSet and pods are gone', async () => {
    deployAndWait('fg', 2);
    // One pod held by a finalizer holds the ReplicaSet, which holds the Deployment.
    const held = items(['pods', '-l', 'app=fg'])[0].metadata.name;
    server.k(['patch', 'pod', held, '--type=merge', '-p', '{"metadata":{"finalizers":["test.skiff.dev/hold"]}}']);
    server.k(['delete', 'deployment', 'fg', '--cascade=foreground', '--wait=false']);
    const rsName = await eventually(() => {
      const sets = items(['rs', '-l', 'app=fg']);
      return sets.length === 1 && sets[0].metadata.deletionTimestamp ? sets[0].metadata.name : undefined;
    }, { timeoutMs: TIMEOUT });
    await eventually(() => items(['pods', '-l', 'app=fg']).length === 1, { timeoutMs: TIMEOUT });
    const deployment = get(['deployment', 'fg'])!;
    assert.ok(deployment.metadata.deletionTimestamp);
    assert.deepEqual(deployment.metadata.finalizers, ['foregroundDeletion']);
    assert.deepEqual(get(['rs', rsName!])!.metadata.finalizers, ['foregroundDeletion']);

    server.k(['patch', 'pod', held, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    await eventually(() => !get(['deployment', 'fg']), { timeoutMs: TIMEOUT });
    assert.ok(allGone('fg'), 'the ReplicaSet and the pods went before the Deployment');
  });

  it('--cascade=foreground with waiting: kubectl delete returns when all is gone', () => {
    deployAndWait('fgw', 3);
    server.k(['delete', 'deployment', 'fgw', '--cascade=foreground', '--timeout=60s']);
    assert.equal(get(['deployment', 'fgw']), undefined);
    assert.ok(allGone('fgw'));
  });

  it('--cascade=orphan: the ReplicaSet and pods stay, without a reference to the Deployment', async () => {
    deployAndWait('orph', 2);
    const rs = items(['rs', '-l', 'app=orph'])[0];
    const pods = items(['pods', '-l', 'app=orph']).map((p) => p.metadata.name).sort();
    server.k(['delete', 'deployment', 'orph', '--cascade=orphan']);
    assert.equal(get(['deployment', 'orph']), undefined);
    const kept = get(['rs', rs.metadata.name])!;
    assert.equal(kept.metadata.uid, rs.metadata.uid);
    assert.equal(kept.metadata.ownerReferences, undefined);
    const stayed = items(['pods', '-l', 'app=orph']);
    assert.deepEqual(stayed.map((p) => p.metadata.name).sort(), pods);
    for (const pod of stayed) assert.equal(pod.metadata.ownerReferences?.[0].uid, rs.metadata.uid);
    // The orphaned ReplicaSet is a plain one now: deleting it takes its pods.
    server.k(['delete', 'rs', rs.metadata.name]);
    await eventually(() => items(['pods', '-l', 'app=orph']).length === 0, { timeoutMs: TIMEOUT });
  });

  it('collects across kinds: a Secret owned by a Job, a ConfigMap owned by a ConfigMap', async () => {
    server.k(['create', 'job', 'owner-job', '--image=busybox', '--', 'true']);
    const job = get(['job', 'owner-job'])!;
    server.k(['create', 'configmap', 'owner-cm']);
    const cm = get(['configmap', 'owner-cm'])!;
    const dependents = [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'job-secret', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'owner-job', uid: job.metadata.uid }] } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm-child', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner-cm', uid: cm.metadata.uid }] } },
    ];
    for (const dependent of dependents) server.k(['create', '-f', '-'], { input: JSON.stringify(dependent) });
    server.k(['delete', 'job', 'owner-job']);
    server.k(['delete', 'configmap', 'owner-cm']);
    await eventually(() => !get(['secret', 'job-secret']) && !get(['configmap', 'cm-child']), { timeoutMs: TIMEOUT });
  });
});
