import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { resources } from '../../client/interface.ts';
import { condition, startKubeletHarness, statusOfPod, waitFor, type KubeletHarness } from './testing/harness.ts';

describe('kubelet: probes and agent restarts', () => {
  let h: KubeletHarness;
  let healthy = true;
  let ready = false;
  before(async () => {
    h = await startKubeletHarness({
      runtime: {
        exec: (_c, options) => {
          const cmd = options.argv.join(' ');
          if (cmd.includes('ready')) return { exitCode: ready ? 0 : 1, stdout: ready ? '' : 'not yet' };
          if (cmd.includes('alive')) return { exitCode: healthy ? 0 : 1, stdout: healthy ? '' : 'dead' };
          return { exitCode: 0 };
        },
      },
    });
  });
  after(async () => { await h?.close(); });

  it('a readiness probe gates Ready, with Unhealthy events while it fails', async () => {
    await h.createPod({
      name: 'gated',
      spec: { containers: [{ name: 'app', image: 'busybox', command: ['serve'], readinessProbe: { exec: { command: ['check', 'ready'] }, periodSeconds: 1, failureThreshold: 1 } }] },
    });
    const pod = await waitFor('running, not ready', async () => { const p = await h.getPod('gated'); return statusOfPod(p).phase === 'Running' ? p : undefined; });
    assert.equal(condition(pod, 'Ready')?.status, 'False');
    const unhealthy = await waitFor('Unhealthy', async () => (await h.events('gated')).find((e) => e.reason === 'Unhealthy'));
    assert.equal(unhealthy.message, 'Readiness probe failed: not yet');
    ready = true;
    const now = await waitFor('ready', async () => { const p = await h.getPod('gated'); return condition(p, 'Ready')?.status === 'True' ? p : undefined; });
    assert.equal(statusOfPod(now).containerStatuses![0].ready, true);
    ready = false;
    await waitFor('not ready again', async () => condition(await h.getPod('gated'), 'ContainersReady')?.status === 'False');
  });

  it('a failing liveness probe restarts the container', async () => {
    await h.createPod({
      name: 'live',
      spec: { containers: [{ name: 'app', image: 'busybox', command: ['serve'], livenessProbe: { exec: { command: ['check', 'alive'] }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 3 } }] },
    });
    await waitFor('running', async () => statusOfPod(await h.getPod('live')).phase === 'Running');
    healthy = false;
    const pod = await waitFor('restarted', async () => {
      const p = await h.getPod('live');
      return statusOfPod(p).containerStatuses?.[0]?.restartCount >= 1 ? p : undefined;
    });
    healthy = true;
    const killing = (await h.events('live')).find((e) => e.reason === 'Killing');
    assert.equal(killing?.message, 'Container app failed liveness probe, will be restarted');
    assert.ok((await h.events('live')).some((e) => e.reason === 'Unhealthy' && e.message === 'Liveness probe failed: dead'));
    assert.ok(h.runtime.stops.some((s) => s.timeoutSeconds === 3), 'the probe\'s terminationGracePeriodSeconds');
    assert.equal(statusOfPod(pod).containerStatuses![0].lastState.terminated.exitCode, 143);
  });

  it('an agent restart adopts running containers and removes those of pods deleted meanwhile', async () => {
    const keep = await h.createPod({ name: 'keep', spec: { containers: [{ name: 'app', image: 'busybox', command: ['serve'] }] } });
    const drop = await h.createPod({ name: 'drop', spec: { containers: [{ name: 'app', image: 'busybox', command: ['serve'] }] } });
    await waitFor('both running', async () => statusOfPod(await h.getPod('keep')).phase === 'Running' && statusOfPod(await h.getPod('drop')).phase === 'Running');
    const ofPod = (uid: string | undefined) => [...h.runtime.containers.values()].filter((c) => c.config.labels?.['io.kubernetes.pod.uid'] === uid);
    const before = ofPod(keep.metadata.uid).map((c) => c.status.id);
    await h.kubelet.stop();
    assert.equal(ofPod(keep.metadata.uid)[0]?.status.state, 'running', 'stopping the agent leaves containers running');
    // Deleted while the agent is away: nobody finishes the deletion, so force it.
    await h.client.delete({ ...resources.pods, namespace: 'default', name: 'drop' }, { gracePeriodSeconds: 0 });
    const creates = h.runtime.calls.filter((c) => c.startsWith('createContainer')).length;
    await h.restart();
    await waitFor('drop cleaned up', () => ofPod(drop.metadata.uid).length === 0 && ![...h.runtime.sandboxes.values()].some((s) => s.podUid === drop.metadata.uid));
    await h.kubelet.idle();
    assert.deepEqual(ofPod(keep.metadata.uid).map((c) => c.status.id), before, 'the same container, not restarted');
    assert.equal(h.runtime.calls.filter((c) => c.startsWith('createContainer')).length, creates);
    const pod = await h.getPod('keep');
    assert.equal(condition(pod, 'Ready')?.status, 'True');
    assert.equal(statusOfPod(pod).podIP, h.network.pods.get(keep.metadata.uid!)?.ips[0]);
  });
});
