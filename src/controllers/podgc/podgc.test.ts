// The pod garbage collector against a real API server: terminated pods
// beyond the threshold (oldest first), orphans of deleted nodes after the
// quarantine, terminating pods never scheduled, and terminating pods on an
// out-of-service node.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type ApiClient } from '../../client/interface.ts';
import type { Pod } from '../framework/types.ts';
import { HOLD_LABEL, sleep, startHarness, waitFor, type Harness } from '../testing/harness.ts';
import { createNode, kubeletConditions } from '../nodelifecycle/test-support.ts';
import { rfc3339 } from '../framework/types.ts';
import { gcOrder } from './controller.ts';

const HOLD_FINALIZER = 'example.com/hold';

async function createPod(client: ApiClient, namespace: string, name: string, options: { nodeName?: string; hold?: string; finalizer?: boolean } = {}): Promise<Pod> {
  return client.create<Pod>({ ...resources.pods, namespace }, {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { [HOLD_LABEL]: options.hold ?? 'pending' }, ...(options.finalizer ? { finalizers: [HOLD_FINALIZER] } : {}) },
    spec: { ...(options.nodeName ? { nodeName: options.nodeName } : {}), containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  });
}
const getPod = (client: ApiClient, namespace: string, name: string) => client.get<Pod>({ ...resources.pods, namespace, name }).catch(() => undefined);
const release = (client: ApiClient, namespace: string, name: string) =>
  client.patch({ ...resources.pods, namespace, name }, 'merge', { metadata: { finalizers: null } }).catch(() => {});

describe('gcOrder', () => {
  it('puts evicted pods first, then the oldest, then by name', () => {
    const pod = (name: string, created: string, evicted = false): Pod => ({
      metadata: { name, creationTimestamp: created }, status: evicted ? { phase: 'Failed', reason: 'Evicted' } : { phase: 'Succeeded' },
    });
    const sorted = [pod('c', '2030-01-01T00:00:02Z'), pod('b', '2030-01-01T00:00:01Z'), pod('a', '2030-01-01T00:00:01Z'), pod('z', '2030-01-01T00:00:09Z', true)].sort(gcOrder);
    assert.deepEqual(sorted.map((p) => p.metadata.name), ['z', 'a', 'b', 'c']);
  });
});

describe('pod GC controller', () => {
  let h: Harness;
  let ns: string;
  before(async () => {
    h = await startHarness({ controllers: 'podgc', tuning: { podGcPeriodMs: 100, podGcQuarantineMs: 1000, terminatedPodGcThreshold: 2 } });
    ns = await h.namespace('gc');
    await createNode(h.client, 'gc-node');
  });
  after(async () => h?.stop());

  it('deletes the oldest terminated pods beyond the threshold', async () => {
    for (const name of ['done-1', 'done-2', 'done-3', 'done-4']) {
      await createPod(h.client, ns, name, { nodeName: 'gc-node' });
      await h.client.patch({ ...resources.pods, namespace: ns, name, subresource: 'status' }, 'merge', { status: { phase: 'Succeeded' } });
      await sleep(1100); // distinct creation seconds
    }
    await waitFor('two oldest gone', async () => !(await getPod(h.client, ns, 'done-1')) && !(await getPod(h.client, ns, 'done-2')));
    assert.ok(await getPod(h.client, ns, 'done-3'));
    assert.ok(await getPod(h.client, ns, 'done-4'));
  });

  it('deletes pods of a deleted node after the quarantine, marked Failed with DisruptionTarget', async () => {
    await createNode(h.client, 'doomed');
    await createPod(h.client, ns, 'orphan', { nodeName: 'doomed', finalizer: true });
    await h.client.delete({ ...resources.nodes, name: 'doomed' });
    await sleep(400);
    assert.equal((await getPod(h.client, ns, 'orphan'))?.metadata.deletionTimestamp, undefined, 'quarantined, not deleted yet');
    const pod = await waitFor('orphan deleted', async () => {
      const p = await getPod(h.client, ns, 'orphan');
      return p?.metadata.deletionTimestamp ? p : undefined;
    }, 10_000);
    assert.equal(pod.status?.phase, 'Failed');
    const target = pod.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
    assert.deepEqual({ reason: target?.reason, message: target?.message }, { reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' });
    await release(h.client, ns, 'orphan');
    await waitFor('orphan gone', async () => !(await getPod(h.client, ns, 'orphan')));
  });

  it('force-deletes a terminating pod that was never scheduled', async () => {
    await createPod(h.client, ns, 'unbound', { hold: 'unbound', finalizer: true });
    await h.client.delete({ ...resources.pods, namespace: ns, name: 'unbound' });
    const pod = await waitFor('marked Failed', async () => {
      const p = await getPod(h.client, ns, 'unbound');
      return p?.status?.phase === 'Failed' ? p : undefined;
    });
    assert.equal(pod.metadata.deletionGracePeriodSeconds, 0, 'deleted with grace 0');
    await release(h.client, ns, 'unbound');
  });

  it('force-deletes terminating pods on a not-ready out-of-service node', async () => {
    await createNode(h.client, 'down');
    await h.client.patch({ ...resources.nodes, name: 'down', subresource: 'status' }, 'merge', { status: { conditions: kubeletConditions(rfc3339(new Date()), 'False') } });
    await createPod(h.client, ns, 'stuck', { nodeName: 'down', finalizer: true });
    await h.client.delete({ ...resources.pods, namespace: ns, name: 'stuck' });
    await sleep(400);
    assert.notEqual((await getPod(h.client, ns, 'stuck'))?.status?.phase, 'Failed', 'not without the out-of-service taint');
    await h.client.patch({ ...resources.nodes, name: 'down' }, 'merge', { spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] } });
    await waitFor('marked Failed', async () => (await getPod(h.client, ns, 'stuck'))?.status?.phase === 'Failed');
    await release(h.client, ns, 'stuck');
    assert.deepEqual(h.warnings, []);
  });
});
