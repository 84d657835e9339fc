// ResourceQuota, LimitRange and the default StorageClass through the real
// kubectl on a `skiff server --simulated-nodes 1`: the resourcequota
// controller filling Used/Hard, admission refusing beyond hard with
// upstream's 403 text, deletions giving usage back, a Deployment stopped by
// quota, LimitRange defaults and maxima, and class-less claims.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

describe('quotas and limits (kubectl)', () => {
  let server: ServerHandle;
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '1'] });
  });
  after(async () => server?.stop());

  const podYaml = (name: string, resources: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: app
    image: nginx
${resources}`;
  const cpuRequest = '    resources:\n      requests:\n        cpu: 400m\n';
  /** The Used and Hard columns of `kubectl describe quota` for one resource. */
  const describedUsage = (ns: string, resource: string) => {
    const text = server.k(['describe', 'quota', 'q', '-n', ns]);
    const line = text.split('\n').find((l) => l.trim().split(/\s+/)[0] === resource);
    return line?.trim().split(/\s+/).slice(1).join(' ');
  };
  const waitUsage = (ns: string, resource: string, usedHard: string) =>
    eventually(() => describedUsage(ns, resource) === usedHard, { timeoutMs: 20_000 });

  it('fills Used/Hard, refuses the pod beyond hard, and gives usage back on deletion', async () => {
    server.k(['create', 'namespace', 'quota-pods']);
    server.k(['create', 'quota', 'q', '--hard=pods=2,requests.cpu=1', '-n', 'quota-pods']);
    await waitUsage('quota-pods', 'pods', '0 2');
    assert.equal(describedUsage('quota-pods', 'requests.cpu'), '0 1');

    server.k(['create', '-n', 'quota-pods', '-f', '-'], { input: podYaml('a', cpuRequest) });
    server.k(['create', '-n', 'quota-pods', '-f', '-'], { input: podYaml('b', cpuRequest) });
    assert.equal(describedUsage('quota-pods', 'pods'), '2 2');
    assert.equal(describedUsage('quota-pods', 'requests.cpu'), '800m 1');

    const third = server.kubectl(['create', '-n', 'quota-pods', '-f', '-'], { input: podYaml('c', cpuRequest) });
    assert.notEqual(third.status, 0);
    assert.match(third.stderr, /Error from server \(Forbidden\): .*pods "c" is forbidden: exceeded quota: q, requested: pods=1,requests\.cpu=400m, used: pods=2,requests\.cpu=800m, limited: pods=2,requests\.cpu=1/);

    const bare = server.kubectl(['run', 'bare', '--image=nginx', '-n', 'quota-pods']);
    assert.match(bare.stderr, /pods "bare" is forbidden: failed quota: q: must specify requests\.cpu for: bare/);

    // The pod runs on the simulated node: its graceful deletion finishes there, then the controller releases it.
    await eventually(() => JSON.parse(server.k(['get', 'pod', 'a', '-n', 'quota-pods', '-o', 'json'])).status.phase === 'Running', { timeoutMs: 20_000 });
    server.k(['delete', 'pod', 'a', '-n', 'quota-pods', '--timeout=30s']);
    await waitUsage('quota-pods', 'pods', '1 2');
    assert.equal(describedUsage('quota-pods', 'requests.cpu'), '400m 1');
    server.k(['create', '-n', 'quota-pods', '-f', '-'], { input: podYaml('c', cpuRequest) });
  });

  it('a Deployment beyond the quota reports ReplicaFailure and FailedCreate', async () => {
    server.k(['create', 'namespace', 'quota-deploy']);
    server.k(['create', 'quota', 'q', '--hard=pods=2', '-n', 'quota-deploy']);
    await waitUsage('quota-deploy', 'pods', '0 2');
    server.k(['create', 'deployment', 'web', '--image=nginx', '--replicas=3', '-n', 'quota-deploy']);
    const condition = await eventually(() => {
      const sets = JSON.parse(server.k(['get', 'rs', '-n', 'quota-deploy', '-o', 'json'])).items;
      return sets[0]?.status?.conditions?.find((c: { type: string }) => c.type === 'ReplicaFailure');
    }, { timeoutMs: 30_000 });
    assert.equal(condition.reason, 'FailedCreate');
    assert.match(condition.message, /is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2/);
    const events = await eventually(() => {
      const out = server.k(['get', 'events', '-n', 'quota-deploy', '--field-selector', 'reason=FailedCreate', '-o', 'json']);
      return JSON.parse(out).items[0];
    }, { timeoutMs: 20_000 });
    assert.match(events.message, /Error creating: pods "web-[a-z0-9]+-[a-z0-9]+" is forbidden: exceeded quota: q/);
    assert.equal(JSON.parse(server.k(['get', 'pods', '-n', 'quota-deploy', '-o', 'json'])).items.length, 2);
  });

  it('LimitRange defaults a pod without resources and refuses one beyond max', async () => {
    server.k(['create', 'namespace', 'limits']);
    server.k(['apply', '-n', 'limits', '-f', '-'], {
      input: `apiVersion: v1
kind: LimitRange
metadata:
  name: lr
spec:
  limits:
  - type: Container
    default:
      cpu: 500m
      memory: 256Mi
    defaultRequest:
      cpu: 100m
      memory: 128Mi
    max:
      memory: 1Gi
`,
    });
    server.k(['run', 'plain', '--image=nginx', '-n', 'limits']);
    const pod = JSON.parse(server.k(['get', 'pod', 'plain', '-n', 'limits', '-o', 'json']));
    assert.deepEqual(pod.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    assert.equal(pod.metadata.annotations['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain');

    const big = server.kubectl(['create', '-n', 'limits', '-f', '-'], { input: podYaml('big', '    resources:\n      limits:\n        memory: 2Gi\n') });
    assert.notEqual(big.status, 0);
    assert.match(big.stderr, /pods "big" is forbidden: maximum memory usage per Container is 1Gi, but limit is 2Gi/);
  });

  it('a claim without a class gets the default StorageClass', async () => {
    server.k(['apply', '-f', '-'], {
      input: `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: example.com/disk
volumeBindingMode: WaitForFirstConsumer
`,
    });
    server.k(['apply', '-n', 'default', '-f', '-'], {
      input: `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
`,
    });
    const claim = JSON.parse(server.k(['get', 'pvc', 'data', '-n', 'default', '-o', 'json']));
    assert.equal(claim.spec.storageClassName, 'standard');
  });
});
