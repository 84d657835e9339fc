import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources, type KubeObject } from '../../client/interface.ts';
import type { EvictionStats, PodUsage } from './eviction/stats.ts';
import { condition, GiB, startKubeletHarness, statusOfPod, waitFor, type KubeletHarness } from './testing/harness.ts';

const MiB = 1024 * 1024;

describe('kubelet: eviction under memory pressure', () => {
  let h: KubeletHarness;
  // The node is short of memory while the hog's container runs: evicting it relieves the node.
  const hogRunning = () => h.runtime.byName('hog-app').some((c) => c.status.state === 'running');
  const usage = (name: string, bytes: number): PodUsage => ({ memoryBytes: bytes, storageBytes: 0, processes: 1, containers: [{ name, memoryBytes: bytes, storageBytes: 0 }] });
  let pressureOn = false;
  const stats: EvictionStats = {
    async node() {
      const available = pressureOn && hogRunning() ? 50 * MiB : 4 * GiB;
      return { 'memory.available': { available, capacity: 8 * GiB }, 'nodefs.available': { available: 80 * GiB, capacity: 100 * GiB } };
    },
    async pods(pods: readonly KubeObject[]) {
      const out = new Map<string, PodUsage>();
      for (const p of pods) out.set(p.metadata.uid!, p.metadata.name === 'hog' ? usage('hog-app', 700 * MiB) : usage('calm-app', 100 * MiB));
      return out;
    },
  };

  before(async () => {
    h = await startKubeletHarness({
      kubelet: { statusCheckMs: 200, eviction: { stats, monitoringIntervalMs: 200, pressureTransitionMs: 60_000 } },
    });
  });
  after(async () => { await h?.close(); });

  it('fails the pod above its request with reason Evicted, a DisruptionTarget condition and an Evicted event, and keeps the other', async () => {
    await h.createPod({ name: 'hog', spec: { containers: [{ name: 'hog-app', image: 'busybox', command: ['sleep', '3600'] }] } });
    await h.createPod({ name: 'calm', spec: { containers: [{ name: 'calm-app', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { memory: '256Mi' } } }] } });
    for (const name of ['hog', 'calm']) await waitFor(`${name} running`, async () => statusOfPod(await h.getPod(name)).phase === 'Running');
    pressureOn = true;

    const message = 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container hog-app was using 700Mi, request is 0, has larger consumption of memory. ';
    const hog = await waitFor('hog evicted', async () => {
      const p = await h.getPod('hog');
      return statusOfPod(p).phase === 'Failed' ? p : undefined;
    });
    const status = statusOfPod(hog);
    assert.equal(status.reason, 'Evicted');
    assert.equal(status.message, message);
    const disruption = condition(hog, 'DisruptionTarget') as Record<string, unknown> | undefined;
    assert.equal(disruption?.status, 'True');
    assert.equal(disruption?.reason, 'TerminationByKubelet');
    assert.equal(disruption?.message, message);
    assert.equal(condition(hog, 'Ready')?.status, 'False');
    assert.ok(status.containerStatuses![0].state.terminated, 'the container is reported terminated');
    assert.ok(h.runtime.stops.some((s) => s.name === 'hog-app' && s.timeoutSeconds === 1), 'hard threshold: killed with a 1 s grace period');

    const event = await waitFor('Evicted event', async () => (await h.events('hog')).find((e) => e.reason === 'Evicted'));
    assert.equal(event.type, 'Warning');
    assert.equal(event.message, message);

    const node = await waitFor('MemoryPressure', async () => {
      const n = await h.client.get({ ...resources.nodes, name: 'node-1' });
      const c = ((n.status as any).conditions as any[]).find((x) => x.type === 'MemoryPressure');
      return c?.status === 'True' ? c : undefined;
    });
    assert.equal(node.reason, 'KubeletHasInsufficientMemory');
    assert.equal(node.message, 'kubelet has insufficient memory available');

    // The node recovered with the hog gone; the condition holds for the transition period, so BestEffort pods are still refused.
    await h.createPod({ name: 'late', spec: { containers: [{ name: 'late-app', image: 'busybox', command: ['sleep', '3600'] }] } });
    const late = await waitFor('late rejected', async () => {
      const p = await h.getPod('late');
      return statusOfPod(p).phase === 'Failed' ? p : undefined;
    });
    assert.equal(statusOfPod(late).reason, 'Evicted');
    assert.equal(statusOfPod(late).message, 'Pod was rejected: The node had condition: [MemoryPressure]. ');

    const calm = await h.getPod('calm');
    assert.equal(statusOfPod(calm).phase, 'Running', 'one pod per round, and only while the threshold is met');
    assert.ok(h.runtime.byName('calm-app').some((c) => c.status.state === 'running'));
  });
});
