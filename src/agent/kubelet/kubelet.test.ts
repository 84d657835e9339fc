import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources } from '../../client/interface.ts';
import { condition, startKubeletHarness, statusOfPod, waitFor, type KubeletHarness } from './testing/harness.ts';

describe('kubelet: node and a running pod', () => {
  let h: KubeletHarness;
  before(async () => { h = await startKubeletHarness(); });
  after(async () => { await h?.close(); });

  it('registers the node with capacity, allocatable, conditions, nodeInfo and a lease', async () => {
    const node = await h.client.get({ ...resources.nodes, name: 'node-1' });
    const status = node.status as any;
    assert.equal(status.capacity.cpu, '4');
    assert.equal(status.capacity.memory, '8Gi');
    assert.equal(status.allocatable.memory, `${8 * 1024 - 100}Mi`);
    assert.equal(status.capacity.pods, '110');
    assert.deepEqual(status.conditions.map((c: any) => `${c.type}=${c.status}:${c.reason}`), [
      'MemoryPressure=False:KubeletHasSufficientMemory', 'DiskPressure=False:KubeletHasNoDiskPressure',
      'PIDPressure=False:KubeletHasSufficientPID', 'Ready=True:KubeletReady',
    ]);
    assert.deepEqual(status.addresses, [{ type: 'InternalIP', address: '192.0.2.10' }, { type: 'Hostname', address: 'node-1' }]);
    assert.equal(status.nodeInfo.kubeletVersion, 'v1.36.0-skiff');
    assert.equal(status.nodeInfo.osImage, 'Debian GNU/Linux 12 (bookworm)');
    assert.equal((node.spec as any).podCIDR, '10.42.0.0/24');
    assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], 'node-1');
    const lease = await h.client.get({ ...resources.leases, namespace: 'kube-node-lease', name: 'node-1' });
    assert.equal((lease.spec as any).holderIdentity, 'node-1');
  });

  it('runs a pod: Running, Ready, IPs, container status, events', async () => {
    await h.createPod({ name: 'web', spec: { containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'] }] } });
    const pod = await waitFor('web ready', async () => {
      const p = await h.getPod('web');
      return condition(p, 'Ready')?.status === 'True' ? p : undefined;
    });
    const status = statusOfPod(pod);
    assert.equal(status.phase, 'Running');
    assert.equal(status.podIP, '10.42.0.2');
    assert.deepEqual(status.podIPs, [{ ip: '10.42.0.2' }]);
    assert.equal(status.hostIP, '192.0.2.10');
    assert.equal(status.qosClass, 'BestEffort');
    const cs = status.containerStatuses![0];
    assert.equal(cs.name, 'app');
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.equal(cs.image, 'docker.io/library/busybox:latest');
    assert.match(cs.imageID, /^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/);
    assert.match(cs.containerID, /^runc:\/\/[0-9a-f]+$/);
    assert.ok(cs.state.running.startedAt);
    for (const type of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'PodScheduled']) {
      assert.equal(condition(pod, type)?.status, 'True', type);
    }
    const [container] = h.runtime.byName('app');
    assert.deepEqual(container!.config.argv, ['sleep', '3600']);
    assert.ok(container!.config.env.includes('HOSTNAME=web'));
    assert.ok(container!.config.logPath.endsWith(`/pods/default_web_${pod.metadata.uid}/app/0.log`));
    assert.ok(container!.config.mounts.some((m) => m.containerPath === '/dev/termination-log'));
    const sandbox = [...h.runtime.sandboxes.values()][0]!;
    assert.equal(sandbox.config.hostname, 'web');
    assert.match(sandbox.config.netnsPath ?? '', /fake/);
    const reasons = await waitFor('events', async () => {
      const r = (await h.events('web')).map((e) => e.reason);
      return ['Pulling', 'Pulled', 'Created', 'Started'].every((x) => r.includes(x)) ? r : undefined;
    });
    assert.ok(reasons);
    const events = await h.events('web');
    assert.equal(events.find((e) => e.reason === 'Created')?.message, 'Created container: app');
    assert.equal(events.find((e) => e.reason === 'Started')?.message, 'Started container app');
    assert.equal(events.find((e) => e.reason === 'Pulling')?.message, 'Pulling image "busybox"');
    assert.equal((events.find((e) => e.reason === 'Started')?.involvedObject as any).fieldPath, 'spec.containers{app}');
  });
});
