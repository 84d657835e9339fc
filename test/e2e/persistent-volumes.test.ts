// Dynamic provisioning end to end in `skiff server` with one simulated node:
// the default local-path StorageClass, a WaitForFirstConsumer claim that binds
// when the scheduler places its first pod (selected-node → provisioner → PV
// pinned to the node → binder), `kubectl get pvc,pv,sc` columns, and reclaim
// policy Delete removing the PV with the claim. No containers are run.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startServer, type ServerHandle } from './harness.ts';

describe('persistent volumes with the local-path provisioner', () => {
  let server: ServerHandle;
  const json = (args: string[]) => JSON.parse(server.k([...args, '-o', 'json']));
  before(async () => {
    server = await startServer({ extraArgs: ['--simulated-nodes', '1'] });
  });
  after(async () => server?.stop());

  it('has local-path as the default StorageClass', () => {
    const out = server.k(['get', 'sc']);
    assert.match(out, /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$/m);
    assert.match(out, /^local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\S+$/m);
  });

  it('binds a claim when its first pod is scheduled, and deletes the volume with the claim', async () => {
    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } },
    }) });
    await eventually(() => /WaitForFirstConsumer\s+.*waiting for first consumer to be created before binding/.test(server.k(['describe', 'pvc', 'data'])), { timeoutMs: 30_000 });
    assert.match(server.k(['get', 'pvc', 'data']), /^data\s+Pending\s+local-path\s/m);

    server.k(['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'user' },
      spec: { containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
    }) });
    const claim = await eventually(() => { const c = json(['get', 'pvc', 'data']); return c.status.phase === 'Bound' && c; }, { timeoutMs: 60_000 });
    const pvName = `pvc-${claim.metadata.uid}`;
    assert.equal(claim.spec.volumeName, pvName);
    assert.equal(claim.metadata.annotations['volume.kubernetes.io/selected-node'], 'sim-0');
    const pv = json(['get', 'pv', pvName]);
    assert.equal(pv.status.phase, 'Bound');
    assert.equal(pv.spec.hostPath.path, `/var/lib/skiff/storage/${pvName}`);
    assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0], { key: 'kubernetes.io/hostname', operator: 'In', values: ['sim-0'] });
    assert.equal(json(['get', 'pod', 'user']).spec.nodeName, 'sim-0');

    const out = server.k(['get', 'pvc,pv,sc']);
    assert.match(out, new RegExp(`^persistentvolumeclaim/data\\s+Bound\\s+${pvName}\\s+2Gi\\s+RWO\\s+local-path\\s`, 'm'));
    assert.match(out, new RegExp(`^persistentvolume/${pvName}\\s+2Gi\\s+RWO\\s+Delete\\s+Bound\\s+default/data\\s+local-path\\s`, 'm'));
    assert.match(out, /^storageclass\.storage\.k8s\.io\/local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer\s/m);
    assert.match(server.k(['describe', 'pvc', 'data']), /ProvisioningSucceeded\s+.*Successfully provisioned volume pvc-/);

    server.k(['delete', 'pod', 'user', '--wait=true', '--timeout=60s']);
    server.k(['delete', 'pvc', 'data', '--wait=true', '--timeout=60s']);
    await eventually(() => /No resources found/.test(server.kubectl(['get', 'pv']).stderr), { timeoutMs: 60_000 });
  });
});
