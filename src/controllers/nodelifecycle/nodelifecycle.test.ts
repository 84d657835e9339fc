// The node lifecycle controller (with taint eviction) against a real API
// server: a node whose Lease stops being renewed goes Unknown, is tainted
// unreachable, its pods go not ready and those with short tolerations are
// evicted; when it comes back the taints go. Cordons become taints, and a
// cluster whose every node went silent evicts nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import type { Pod } from '../framework/types.ts';
import { HOLD_LABEL, sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { createNode, heartbeat, postReady } from './test-support.ts';
import type { NodeObject } from './types.ts';

// Leases are renewed every 100 ms: a 2 s grace period leaves room for a slow, shared machine.
const tuning = { nodeMonitorPeriodMs: 100, nodeMonitorGracePeriodMs: 2000, nodeEvictionRate: 10 };
const getNode = (client: ApiClient, name: string) => client.get<NodeObject>({ ...resources.nodes, name });
const taintsOf = (node: NodeObject) => (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
const condition = (node: NodeObject, type: string) => node.status?.conditions?.find((c) => c.type === type);

async function createPod(client: ApiClient, namespace: string, name: string, nodeName: string, spec: Record<string, unknown> = {}): Promise<Pod> {
  return client.create<Pod>({ ...resources.pods, namespace }, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { nodeName, containers: [{ name: 'app', image: 'registry.example/app:1' }], ...spec },
  });
}

async function eventsFor(client: ApiClient, namespace: string, name: string): Promise<{ reason: string; message: string; type: string }[]> {
  const list = await client.list({ ...resources.events, namespace });
  return (list.items as unknown as (KubeObject & { involvedObject: { name: string }; reason: string; message: string; type: string })[])
    .filter((e) => e.involvedObject.name === name);
}

describe('node lifecycle controller', () => {
  let h: Harness;
  let beats: ReturnType<typeof heartbeat>;
  const names = ['alpha', 'beta', 'gamma'];

  before(async () => {
    h = await startHarness({ controllers: 'nodelifecycle,taint-eviction', tuning });
    for (const name of names) await createNode(h.client, name);
    beats = heartbeat(h.client, names);
  });
  after(async () => {
    beats?.stop();
    await h?.stop();
  });

  it('keeps nodes that renew their Lease Ready, without taints', async () => {
    await sleep(3000);
    for (const name of names) {
      const node = await getNode(h.client, name);
      assert.equal(condition(node, 'Ready')?.status, 'True', name);
      assert.deepEqual(taintsOf(node), [], name);
    }
  });

  it('marks a silent node Unknown, taints it unreachable, and evicts pods as their tolerations say', async () => {
    const ns = await h.namespace('silent');
    await createPod(h.client, ns, 'patient', 'beta');
    await createPod(h.client, ns, 'hasty', 'beta', {
      tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }],
    });
    await waitFor('pods running ready', async () => {
      const pods = (await h.client.list<Pod>({ ...resources.pods, namespace: ns })).items;
      return pods.length === 2 && pods.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    });
    // From now on the stand-in kubelet leaves them alone (it would report them Ready again at once).
    for (const name of ['patient', 'hasty']) {
      await h.client.patch({ ...resources.pods, namespace: ns, name }, 'merge', { metadata: { labels: { [HOLD_LABEL]: 'pending' } } });
    }

    beats.pause('beta');
    const node = await waitFor('beta Unknown', async () => {
      const n = await getNode(h.client, 'beta');
      return condition(n, 'Ready')?.status === 'Unknown' ? n : undefined;
    });
    assert.equal(condition(node, 'Ready')?.reason, 'NodeStatusUnknown');
    assert.equal(condition(node, 'Ready')?.message, 'Kubelet stopped posting node status.');
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(condition(node, type)?.status, 'Unknown', type);

    const tainted = await waitFor('unreachable taints', async () => {
      const n = await getNode(h.client, 'beta');
      return taintsOf(n).length === 2 ? n : undefined;
    });
    assert.deepEqual(taintsOf(tainted), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    assert.ok(tainted.spec!.taints!.every((t) => typeof t.timeAdded === 'string'), 'timeAdded is set');

    const patient = await waitFor('patient pod not ready', async () => {
      const p = await h.client.get<Pod>({ ...resources.pods, namespace: ns, name: 'patient' });
      return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'False' ? p : undefined;
    });
    assert.ok(patient.spec?.tolerations, 'DefaultTolerationSeconds gave it 300 s');
    await waitFor('hasty pod evicted', async () => {
      const pods = (await h.client.list<Pod>({ ...resources.pods, namespace: ns })).items;
      return !pods.some((p) => p.metadata.name === 'hasty' && !p.metadata.deletionTimestamp);
    }, 15_000);
    await waitFor('eviction event', async () => (await eventsFor(h.client, ns, 'hasty')).some((e) => e.reason === 'TaintManagerEviction' && e.message === `Marking for deletion Pod ${ns}/hasty`));
    await waitFor('pod NodeNotReady event', async () => (await eventsFor(h.client, ns, 'patient')).some((e) => e.reason === 'NodeNotReady' && e.type === 'Warning'));
    await waitFor('node NodeNotReady event', async () => (await eventsFor(h.client, 'default', 'beta')).some((e) => e.reason === 'NodeNotReady' && e.message === 'Node beta status is now: NodeNotReady'));
    assert.equal(condition(await getNode(h.client, 'alpha'), 'Ready')?.status, 'True', 'the other nodes are untouched');

    // The kubelet comes back.
    beats.resume('beta');
    await postReady(h.client, 'beta');
    await waitFor('taints removed', async () => taintsOf(await getNode(h.client, 'beta')).length === 0, 15_000);
    const back = await getNode(h.client, 'beta');
    assert.equal(condition(back, 'Ready')?.status, 'True');
    await sleep(500);
    assert.deepEqual(taintsOf(await getNode(h.client, 'beta')), [], 'and they stay away');
    const stillThere = await h.client.get<Pod>({ ...resources.pods, namespace: ns, name: 'patient' });
    assert.equal(stillThere.metadata.deletionTimestamp, undefined, 'a pod tolerating 300 s was not evicted');
  });

  it('taints a cordoned node unschedulable and untaints it on uncordon', async () => {
    await h.client.patch({ ...resources.nodes, name: 'gamma' }, 'strategic', { spec: { unschedulable: true } });
    await waitFor('unschedulable taint', async () => taintsOf(await getNode(h.client, 'gamma')).includes('node.kubernetes.io/unschedulable:NoSchedule'));
    await h.client.patch({ ...resources.nodes, name: 'gamma' }, 'strategic', { spec: { unschedulable: null } });
    await waitFor('taint removed', async () => taintsOf(await getNode(h.client, 'gamma')).length === 0);
  });

  it('taints pressure conditions NoSchedule', async () => {
    const node = await getNode(h.client, 'alpha');
    const conditions = node.status!.conditions!.map((c) => (c.type === 'DiskPressure' ? { ...c, status: 'True' } : c));
    await h.client.patch({ ...resources.nodes, name: 'alpha', subresource: 'status' }, 'merge', { status: { conditions } });
    await waitFor('disk-pressure taint', async () => taintsOf(await getNode(h.client, 'alpha')).includes('node.kubernetes.io/disk-pressure:NoSchedule'));
    await postReady(h.client, 'alpha');
    await waitFor('taint removed', async () => !taintsOf(await getNode(h.client, 'alpha')).includes('node.kubernetes.io/disk-pressure:NoSchedule'));
  });

  it('logged no warnings', () => {
    assert.deepEqual(h.warnings, []);
  });
});

describe('node lifecycle controller when every node is silent', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ controllers: 'nodelifecycle', tuning });
    await createNode(h.client, 'solo');
  });
  after(async () => h?.stop());

  it('marks the node Unknown but evicts nothing (full disruption)', async () => {
    await waitFor('solo Unknown', async () => condition(await getNode(h.client, 'solo'), 'Ready')?.status === 'Unknown', 10_000);
    await waitFor('NoSchedule taint', async () => taintsOf(await getNode(h.client, 'solo')).includes('node.kubernetes.io/unreachable:NoSchedule'));
    // Many monitor passes and tainting passes later, still no NoExecute taint.
    await sleep(1500);
    assert.deepEqual(taintsOf(await getNode(h.client, 'solo')), ['node.kubernetes.io/unreachable:NoSchedule']);
    assert.ok(h.warnings.some((w) => /entering master disruption mode/.test(w)), h.warnings.join('\n'));
  });
});
