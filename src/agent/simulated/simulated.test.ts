// Hollow nodes against a real API server in this process, over the real
// REST client: registration, heartbeats, pods started and deleted, restarts.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { startSimulatedNodes, type SimulatedNodes } from './index.ts';

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const podRef = (name: string) => ({ ...resources.pods, namespace: 'default', name });
const podBody = (name: string, nodeName: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, ...extra },
  spec: { nodeName, containers: [{ name: 'app', image: 'registry.example/app:1' }] },
});
const phaseOf = (pod: KubeObject) => (pod.status as { phase?: string }).phase;

describe('simulated nodes', () => {
  let server: InProcessServer;
  let client: ApiClient;
  let sim: SimulatedNodes | undefined;
  const warnings: string[] = [];
  const options = () => ({
    client, count: 3, capacity: { cpu: '8', memory: '32Gi', pods: '50' }, zones: 2,
    labels: { 'example.com/pool': 'sim' }, heartbeatIntervalMs: 150, statusIntervalMs: 300,
    warn: (message: string) => warnings.push(message),
  });

  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    sim = await startSimulatedNodes(options());
  });

  after(async () => {
    await sim?.stop();
    await client?.close();
    await server?.close();
  });

  it('registers nodes with capacity, labels, zones, conditions and addresses', async () => {
    assert.deepEqual(sim!.nodeNames, ['sim-0', 'sim-1', 'sim-2']);
    const nodes = await client.list(resources.nodes, { labelSelector: 'skiff.dev/simulated=true' });
    assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['sim-0', 'sim-1', 'sim-2']);
    const byName = new Map(nodes.items.map((n) => [n.metadata.name!, n as any]));
    const n1 = byName.get('sim-1');
    assert.deepEqual(n1.metadata.labels, {
      'example.com/pool': 'sim',
      'kubernetes.io/hostname': 'sim-1', 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux', 'beta.kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'simulated',
      'topology.kubernetes.io/zone': 'zone-b', 'topology.kubernetes.io/region': 'sim-region',
      'skiff.dev/simulated': 'true',
    });
    assert.deepEqual(['sim-0', 'sim-1', 'sim-2'].map((n) => byName.get(n).metadata.labels['topology.kubernetes.io/zone']), ['zone-a', 'zone-b', 'zone-a']);
    assert.equal(n1.spec.podCIDR, '10.42.1.0/24');
    assert.deepEqual(n1.spec.podCIDRs, ['10.42.1.0/24']);
    for (const field of ['capacity', 'allocatable']) {
      assert.equal(n1.status[field].cpu, '8');
      assert.equal(n1.status[field].memory, '32Gi');
      assert.equal(n1.status[field].pods, '50');
      assert.ok(n1.status[field]['ephemeral-storage']);
    }
    const conditions = Object.fromEntries(n1.status.conditions.map((c: any) => [c.type, c]));
    assert.equal(conditions.Ready.status, 'True');
    assert.equal(conditions.Ready.reason, 'KubeletReady');
    assert.equal(conditions.Ready.message, 'kubelet is posting ready status');
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(conditions[type].status, 'False', type);
    assert.deepEqual(n1.status.addresses, [{ type: 'InternalIP', address: '172.31.0.2' }, { type: 'Hostname', address: 'sim-1' }]);
    assert.equal(n1.status.nodeInfo.kubeletVersion, 'v1.36.0-skiff');
    assert.equal(n1.status.nodeInfo.containerRuntimeVersion, 'simulated://1.0');
    assert.equal(n1.status.nodeInfo.osImage, 'skiff simulated node');
    assert.equal(n1.status.nodeInfo.architecture, 'amd64');
    assert.equal(n1.status.daemonEndpoints.kubeletEndpoint.Port, 10250);
  });

  it('renews each node\'s lease and refreshes node heartbeats', async () => {
    const leaseRef = { ...resources.leases, namespace: 'kube-node-lease', name: 'sim-2' };
    const lease = await client.get(leaseRef) as any;
    assert.equal(lease.spec.holderIdentity, 'sim-2');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const node = await client.get({ ...resources.nodes, name: 'sim-2' });
    assert.deepEqual(lease.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'sim-2', uid: node.metadata.uid }]);
    await waitFor('a renewed lease', async () => ((await client.get(leaseRef)) as any).spec.renewTime !== lease.spec.renewTime);
    const readyHeartbeat = (n: any) => n.status.conditions.find((c: any) => c.type === 'Ready').lastHeartbeatTime;
    const first = readyHeartbeat(node);
    await waitFor('a node status refresh', async () => sim!.stats().heartbeats.statusUpdates >= 3);
    const refreshed = await client.get({ ...resources.nodes, name: 'sim-2' }) as any;
    // Whole seconds: the refresh happened, the time may not have moved by a second yet.
    assert.ok(readyHeartbeat(refreshed) >= first);
    assert.equal(refreshed.status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime,
      (node as any).status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime);
  });

  it('runs a pod bound to a simulated node, with an address from that node\'s range', async () => {
    await client.create(podRef(''), podBody('web', 'sim-1'));
    const pod = await waitFor('pod web Running', async () => {
      const p = await client.get(podRef('web'));
      return phaseOf(p) === 'Running' && p;
    }) as any;
    assert.match(pod.status.podIP, /^10\.42\.1\.\d+$/);
    assert.deepEqual(pod.status.podIPs, [{ ip: pod.status.podIP }]);
    assert.equal(pod.status.hostIP, '172.31.0.2');
    assert.equal(pod.status.qosClass, 'BestEffort', 'server-set fields survive');
    assert.ok(pod.status.startTime);
    for (const type of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled']) {
      assert.equal(pod.status.conditions.find((c: any) => c.type === type)?.status, 'True', type);
    }
    const [cs] = pod.status.containerStatuses;
    assert.equal(cs.name, 'app');
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state.running.startedAt);
    assert.equal(cs.containerID, `simulated://${pod.metadata.uid}-app`);
  });

  it('leaves pods on other nodes and unscheduled pods alone', async () => {
    await client.create({ ...resources.nodes }, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'real-0' } });
    await client.create(podRef(''), podBody('elsewhere', 'real-0'));
    await client.create(podRef(''), { ...podBody('unscheduled', ''), spec: { containers: [{ name: 'app', image: 'x' }] } });
    await client.create(podRef(''), podBody('marker', 'sim-0'));
    await waitFor('pod marker Running', async () => phaseOf(await client.get(podRef('marker'))) === 'Running');
    await sim!.idle();
    assert.equal(phaseOf(await client.get(podRef('elsewhere'))), 'Pending');
    assert.equal(phaseOf(await client.get(podRef('unscheduled'))), 'Pending');
  });

  it('keeps a pod that tests moved to Succeeded as it is', async () => {
    await client.create(podRef(''), podBody('job-pod', 'sim-0'));
    const running = await waitFor('job-pod Running', async () => {
      const p = await client.get(podRef('job-pod'));
      return phaseOf(p) === 'Running' && p;
    });
    await client.patch({ ...podRef('job-pod'), subresource: 'status' }, 'merge', { status: { phase: 'Succeeded' } });
    // Let the simulation see the change and a few more events pass.
    await client.create(podRef(''), podBody('after-job', 'sim-0'));
    await waitFor('after-job Running', async () => phaseOf(await client.get(podRef('after-job'))) === 'Running');
    await sim!.idle();
    const finished = await client.get(podRef('job-pod')) as any;
    assert.equal(finished.status.phase, 'Succeeded');
    assert.equal(finished.status.podIP, (running as any).status.podIP);
  });

  it('finishes deletions: a deleted pod goes, a marked one is deleted with grace 0', async () => {
    await client.create(podRef(''), podBody('doomed', 'sim-2'));
    await waitFor('doomed Running', async () => phaseOf(await client.get(podRef('doomed'))) === 'Running');
    await client.delete(podRef('doomed'));
    await waitFor('doomed gone', async () => client.get(podRef('doomed')).then(() => false, () => true));

    // A finalizer keeps the pod after deletion (marked with a deletionTimestamp): the
    // simulation must finish the termination without error, and the pod goes once the
    // finalizer is removed.
    await client.create(podRef(''), podBody('held', 'sim-2', { finalizers: ['example.com/hold'] }));
    await waitFor('held Running', async () => phaseOf(await client.get(podRef('held'))) === 'Running');
    await client.delete(podRef('held'));
    const marked = await client.get(podRef('held'));
    assert.ok(marked.metadata.deletionTimestamp);
    await waitFor('the final delete', async () => sim!.stats().pods.deleted >= 1);
    await client.patch(podRef('held'), 'merge', { metadata: { finalizers: null } });
    await waitFor('held gone', async () => client.get(podRef('held')).then(() => false, () => true));
    await sim!.idle();
    assert.deepEqual(warnings, []);
    assert.equal(sim!.stats().pods.failures, 0);
  });

  it('adopts its nodes and running pods again after a restart', async () => {
    const before = await client.list(resources.nodes, { labelSelector: 'skiff.dev/simulated=true' });
    const web = await client.get(podRef('web')) as any;
    // Someone cordons a node while the simulation is down: the restart must keep it.
    await sim!.stop();
    await client.patch({ ...resources.nodes, name: 'sim-0' }, 'merge', { spec: { unschedulable: true } });
    await client.create(podRef(''), podBody('while-down', 'sim-0'));
    sim = await startSimulatedNodes(options());
    await sim.synced();
    const nodes = await client.list(resources.nodes, { labelSelector: 'skiff.dev/simulated=true' });
    assert.deepEqual(
      nodes.items.map((n) => [n.metadata.name, n.metadata.uid]).sort(),
      before.items.map((n) => [n.metadata.name, n.metadata.uid]).sort(),
    );
    assert.equal((nodes.items.find((n) => n.metadata.name === 'sim-0') as any).spec.unschedulable, true);
    const again = await client.get(podRef('web')) as any;
    assert.equal(again.metadata.resourceVersion, web.metadata.resourceVersion, 'a running pod is not touched again');
    const late = await waitFor('while-down Running', async () => {
      const p = await client.get(podRef('while-down'));
      return phaseOf(p) === 'Running' && p;
    }) as any;
    // Addresses held by pods from before the restart are not handed out again.
    const running = (await client.list(resources.pods, { fieldSelector: 'spec.nodeName=sim-0' })).items
      .filter((p) => phaseOf(p) === 'Running').map((p) => (p.status as any).podIP);
    assert.equal(new Set(running).size, running.length, `duplicate pod IPs: ${running}`);
    assert.match(late.status.podIP, /^10\.42\.0\.\d+$/);
  });

  it('refuses bad options with clear messages', async () => {
    await assert.rejects(startSimulatedNodes({ client, count: 0 }), /count must be a whole number from 1/);
    await assert.rejects(startSimulatedNodes({ client, count: 1, capacity: { cpu: 'lots', memory: '1Gi', pods: '1' } }), /capacity cpu "lots" is not a positive quantity/);
    await assert.rejects(startSimulatedNodes({ client, count: 300, clusterCidr: '10.42.0.0/24' }), /use a larger --cluster-cidr/);
  });
});

describe('simulated nodes: small pod ranges', () => {
  it('makes pods wait for a free address, and says so', async () => {
    const server = await startInProcessServer();
    const client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    const warnings: string[] = [];
    const sim = await startSimulatedNodes({
      client, count: 1, capacity: { cpu: '4', memory: '4Gi', pods: '10' }, nodeCidrMaskSize: 29, warn: (m) => warnings.push(m),
    });
    try {
      assert.match(warnings.shift() ?? '', /each gets a \/29 with 5 pod addresses, fewer than its 10 pods; use a larger --cluster-cidr/);
      for (let i = 0; i < 6; i++) await client.create(podRef(''), podBody(`p${i}`, 'sim-0'));
      await waitFor('five pods Running', async () => sim.stats().pods.started === 5);
      await sim.idle();
      assert.equal(sim.stats().pods.waitingForIp, 1);
      assert.match(warnings.join('\n'), /pod default\/p\d waits: no free address in the pod range of node sim-0 \(5 addresses\)/);
      const running = (await client.list(resources.pods)).items.filter((p) => phaseOf(p) === 'Running');
      const waiting = (await client.list(resources.pods)).items.find((p) => phaseOf(p) !== 'Running')!;
      await client.delete(podRef(running[0]!.metadata.name!));
      await waitFor('the waiting pod Running', async () => phaseOf(await client.get(podRef(waiting.metadata.name!))) === 'Running');
      const ips = (await client.list(resources.pods)).items.map((p) => (p.status as any).podIP);
      assert.equal(new Set(ips).size, 5, `pod IPs: ${ips}`);
    } finally {
      await sim.stop();
      await client.close();
      await server.close();
    }
  });
});

describe('simulated nodes: one named node (skiff agent --simulated)', () => {
  it('registers under the given name, address and pod range', async () => {
    const server = await startInProcessServer();
    const client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    const sim = await startSimulatedNodes({ client, count: 1, single: { name: 'worker-7', internalIp: '192.0.2.10', podCidr: '10.42.200.0/24' } });
    try {
      assert.deepEqual(sim.nodeNames, ['worker-7']);
      const node = await client.get({ ...resources.nodes, name: 'worker-7' }) as any;
      assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'worker-7');
      assert.equal(node.status.addresses[0].address, '192.0.2.10');
      assert.equal(node.spec.podCIDR, '10.42.200.0/24');
      await client.create(podRef(''), podBody('w', 'worker-7'));
      const pod = await waitFor('w Running', async () => {
        const p = await client.get(podRef('w'));
        return phaseOf(p) === 'Running' && p;
      }) as any;
      assert.match(pod.status.podIP, /^10\.42\.200\.\d+$/);
      assert.equal(pod.status.hostIP, '192.0.2.10');
      await assert.rejects(startSimulatedNodes({ client, count: 2, single: { name: 'x' } }), /needs count 1/);
    } finally {
      await sim.stop();
      await client.close();
      await server.close();
    }
  });
});

describe('simulated nodes: stop()', () => {
  it('leaves no timers or streams behind', async () => {
    const server = await startInProcessServer();
    const client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    const sim = await startSimulatedNodes({ client, count: 2, heartbeatIntervalMs: 50 });
    await sim.synced();
    await new Promise((resolve) => setTimeout(resolve, 120));
    await sim.stop();
    await client.close();
    await server.close();
    // Let closed sockets and handles settle, then nothing of ours may remain.
    await new Promise((resolve) => setImmediate(resolve));
    const active = process.getActiveResourcesInfo().filter((r) => r === 'Timeout');
    assert.deepEqual(active, []);
  });
});
