// The taint eviction controller against a real API server: NoExecute taints
// evict pods that do not tolerate them at once, those with tolerationSeconds
// when the time is up, and nothing once the taint is gone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import type { Pod } from '../framework/types.ts';
import { HOLD_LABEL, sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { createNode } from '../nodelifecycle/test-support.ts';
import { matchingTolerations, minTolerationMs } from './tolerations.ts';

const TAINT = { key: 'example.com/broken', effect: 'NoExecute' };

async function setTaints(client: ApiClient, name: string, taints: unknown[] | null): Promise<void> {
  await client.patch({ ...resources.nodes, name }, 'merge', { spec: { taints } });
}

async function createPod(client: ApiClient, namespace: string, name: string, nodeName: string, extra: { tolerations?: unknown[]; finalizers?: string[] } = {}): Promise<Pod> {
  return client.create<Pod>({ ...resources.pods, namespace }, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { [HOLD_LABEL]: 'pending' }, ...(extra.finalizers ? { finalizers: extra.finalizers } : {}) },
    spec: { nodeName, containers: [{ name: 'app', image: 'registry.example/app:1' }], ...(extra.tolerations ? { tolerations: extra.tolerations } : {}) },
  });
}

const getPod = (client: ApiClient, namespace: string, name: string) => client.get<Pod>({ ...resources.pods, namespace, name }).catch(() => undefined);

async function messages(client: ApiClient, namespace: string, name: string): Promise<string[]> {
  const list = await client.list({ ...resources.events, namespace });
  return (list.items as unknown as (KubeObject & { involvedObject: { name: string }; reason: string; message: string })[])
    .filter((e) => e.involvedObject.name === name && e.reason === 'TaintManagerEviction').map((e) => e.message);
}

describe('toleration arithmetic', () => {
  it('matches each taint to a toleration and takes the shortest time', () => {
    const taints = [{ key: 'a', effect: 'NoExecute' }, { key: 'b', effect: 'NoExecute' }];
    assert.equal(matchingTolerations(taints, [{ key: 'a', operator: 'Exists' }]).allTolerated, false);
    const { allTolerated, used } = matchingTolerations(taints, [{ key: 'a', operator: 'Exists', tolerationSeconds: 30 }, { operator: 'Exists', tolerationSeconds: 10 }]);
    assert.equal(allTolerated, true);
    assert.equal(minTolerationMs(used), 10_000);
    assert.equal(minTolerationMs([{ operator: 'Exists' }]), -1, 'forever');
    assert.equal(minTolerationMs([{ operator: 'Exists', tolerationSeconds: 0 }, { operator: 'Exists' }]), 0);
    assert.equal(minTolerationMs([]), 0);
  });
});

describe('taint eviction controller', () => {
  let h: Harness;
  let ns: string;
  before(async () => {
    h = await startHarness({ controllers: 'taint-eviction' });
    ns = await h.namespace('evict');
    for (const name of ['t-1', 't-2', 't-3', 't-4']) await createNode(h.client, name);
  });
  after(async () => h?.stop());

  it('evicts a pod that does not tolerate the taint at once, with DisruptionTarget and an event', async () => {
    await createPod(h.client, ns, 'plain', 't-1', { finalizers: ['example.com/hold'] });
    await setTaints(h.client, 't-1', [TAINT]);
    const pod = await waitFor('pod marked for deletion', async () => {
      const p = await getPod(h.client, ns, 'plain');
      return p?.metadata.deletionTimestamp ? p : undefined;
    });
    const target = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    assert.deepEqual(
      { status: target?.status, reason: target?.reason, message: target?.message },
      { status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
    );
    await waitFor('event', async () => (await messages(h.client, ns, 'plain')).includes(`Marking for deletion Pod ${ns}/plain`));
    await h.client.patch({ ...resources.pods, namespace: ns, name: 'plain' }, 'merge', { metadata: { finalizers: null } });
  });

  it('evicts a pod tolerating the taint for N seconds after N seconds', async () => {
    await createPod(h.client, ns, 'timed', 't-2', { tolerations: [{ ...TAINT, operator: 'Exists', tolerationSeconds: 2 }] });
    await createPod(h.client, ns, 'forever', 't-2', { tolerations: [{ ...TAINT, operator: 'Exists' }] });
    const start = Date.now();
    await setTaints(h.client, 't-2', [TAINT]);
    await sleep(1000);
    assert.equal((await getPod(h.client, ns, 'timed'))?.metadata.deletionTimestamp, undefined, 'not before its time');
    await waitFor('timed pod evicted', async () => !(await getPod(h.client, ns, 'timed')) || undefined, 10_000);
    assert.ok(Date.now() - start >= 1900, `evicted after ${Date.now() - start} ms`);
    await sleep(300);
    assert.equal((await getPod(h.client, ns, 'forever'))?.metadata.deletionTimestamp, undefined, 'a pod tolerating forever stays');
  });

  it('cancels a pending eviction when the taint goes away', async () => {
    await createPod(h.client, ns, 'spared', 't-3', { tolerations: [{ ...TAINT, operator: 'Exists', tolerationSeconds: 2 }] });
    await setTaints(h.client, 't-3', [TAINT]);
    await sleep(500);
    await setTaints(h.client, 't-3', null);
    await waitFor('cancel event', async () => (await messages(h.client, ns, 'spared')).includes(`Cancelling deletion of Pod ${ns}/spared`));
    await sleep(2500);
    assert.equal((await getPod(h.client, ns, 'spared'))?.metadata.deletionTimestamp, undefined);
  });

  it('evicts a pod that lands on an already tainted node', async () => {
    await setTaints(h.client, 't-4', [TAINT]);
    await sleep(200);
    await createPod(h.client, ns, 'latecomer', 't-4');
    await waitFor('latecomer evicted', async () => !(await getPod(h.client, ns, 'latecomer')) || undefined);
  });

  it('leaves pods on nodes without NoExecute taints alone', async () => {
    await setTaints(h.client, 't-1', [{ key: 'example.com/soft', effect: 'NoSchedule' }]);
    await sleep(200);
    await createPod(h.client, ns, 'calm', 't-1');
    await sleep(500);
    assert.ok(await getPod(h.client, ns, 'calm'));
    assert.deepEqual(h.warnings, []);
  });
});
