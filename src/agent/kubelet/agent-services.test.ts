// What the kubelet offers around pod syncs: the periodic resync (volume
// refresh), pruning of old container attempts, the streaming backend that
// serves logs/exec, the user a runAsUser container gets, and housekeeping.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../client/interface.ts';
import type { ContainerStatus } from '../runtime/types.ts';
import { StreamingError } from '../streaming/types.ts';
import { startHousekeeping } from './housekeeping.ts';
import { attemptsToPrune } from './prune.ts';
import { createStreamingBackend } from './streaming-backend.ts';
import { startKubeletHarness, statusOfPod, waitFor, type KubeletHarness } from './testing/harness.ts';

const container = (name: string, attempt: number, state: ContainerStatus['state']): ContainerStatus => ({
  id: `${name}-${attempt}`, sandboxId: 's', name, attempt, state, createdAt: attempt, startedAt: attempt, finishedAt: 0,
  imageId: 'sha256:x', logPath: `/logs/${name}/${attempt}.log`, labels: { 'io.kubernetes.container.name': name },
});

describe('attemptsToPrune', () => {
  it('keeps the two newest attempts of each container and never a running one', () => {
    const list = [
      container('a', 0, 'exited'), container('a', 1, 'exited'), container('a', 2, 'exited'), container('a', 3, 'running'),
      container('b', 0, 'exited'), container('b', 1, 'exited'),
      container('c', 0, 'running'), container('c', 1, 'exited'), container('c', 2, 'exited'),
    ];
    assert.deepEqual(attemptsToPrune(list).map((c) => c.id).sort(), ['a-0', 'a-1']);
  });
});

describe('housekeeping', () => {
  it('collects images not used by any container and sweeps local-path volumes', async () => {
    const calls: string[] = [];
    const runtime = { listContainers: async () => [container('a', 0, 'running')] } as never;
    const housekeeping = startHousekeeping({
      runtime,
      warn: (m) => calls.push(`warn ${m}`),
      images: {
        garbageCollect: async ({ inUse }) => {
          calls.push(`gc used=${inUse({ imageId: 'sha256:x' } as never)} unused=${inUse({ imageId: 'sha256:y' } as never)}`);
          return { freedBytes: 0, removed: [] };
        },
      },
      reclaimVolumes: async () => {
        calls.push('sweep');
        return [];
      },
    });
    await housekeeping.runOnce();
    await housekeeping.stop();
    assert.deepEqual(calls.sort(), ['gc used=true unused=false', 'sweep']);
  });
});

describe('kubelet services on the fake runtime', () => {
  let h: KubeletHarness;
  let setUps = 0;
  before(async () => {
    h = await startKubeletHarness({
      kubelet: { resyncMs: 300, crashBackoff: { initialMs: 100, maxMs: 200 } },
      runtime: { behaviour: (config) => (config.argv.join(' ').includes('crash') ? { exitAfterMs: 20, exitCode: 1, log: ['boom'] } : {}) },
    });
    const setUp = h.volumes.setUpPodVolumes.bind(h.volumes);
    h.volumes.setUpPodVolumes = (pod: KubeObject) => {
      if (pod.metadata.name === 'steady') setUps++;
      return setUp(pod);
    };
    await h.images.add('users', {}, 'root:x:0:0::/root:/bin/sh\napp:x:1000:1500::/home/app:/bin/sh\n');
  });
  after(async () => { await h?.close(); });

  it('syncs running pods again every resync period (volume contents are refreshed then)', async () => {
    await h.createPod({ name: 'steady', spec: { containers: [{ name: 'steady', image: 'busybox', command: ['sleep'] }] } });
    await waitFor('steady running', async () => statusOfPod(await h.getPod('steady')).phase === 'Running');
    await h.kubelet.idle();
    const before = setUps;
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(setUps >= before + 2, `volumes set up ${setUps - before} times in 1 s with a 300 ms resync`);
  });

  it('keeps only the current and the previous attempt of a crash-looping container', async () => {
    await h.createPod({ name: 'looper', spec: { containers: [{ name: 'looper', image: 'busybox', command: ['crash'] }] } });
    await waitFor('five restarts', async () => statusOfPod(await h.getPod('looper')).containerStatuses?.[0]?.restartCount >= 5, 20_000);
    await h.kubelet.idle();
    const attempts = h.runtime.byName('looper').map((c) => c.config.attempt);
    assert.ok(attempts.length <= 3, `attempts left: ${attempts.join(',')}`);
    assert.ok(Math.min(...attempts) >= 3, `old attempts pruned: ${attempts.join(',')}`);
  });

  it('serves logs of the current and previous attempt and refuses exec where nothing runs', async () => {
    const backend = createStreamingBackend({ runtime: h.runtime, podUid: (namespace, name) => h.kubelet.podUid(namespace, name) });
    const pod = await h.getPod('looper');
    const target = { namespace: 'default', pod: 'looper', container: 'looper' };
    const [newest, older] = h.runtime.byName('looper').reverse();
    const current = await backend.containerLog(target, { previous: false });
    const previous = await backend.containerLog(target, { previous: true });
    // The newest attempt may be replaced while we look: accept the two newest as "current".
    assert.ok([newest!.status.logPath, older!.status.logPath].includes(current.path));
    assert.notEqual(previous.path, current.path);
    assert.equal(await previous.isRunning(), false);
    await assert.rejects(backend.containerLog({ ...target, pod: 'nope' }, { previous: false }), (e: unknown) => e instanceof StreamingError && e.code === 404);
    await assert.rejects(backend.containerLog({ ...target, podUid: 'other-uid' }, { previous: false }), (e: unknown) => e instanceof StreamingError && e.code === 404);
    await assert.rejects(backend.exec({ ...target, container: 'nope' }, { argv: ['true'] }), (e: unknown) => e instanceof StreamingError && e.code === 404);
    assert.equal(h.kubelet.podUid('default', 'looper'), pod.metadata.uid);
  });

  it('dials a port-forward in the pod sandbox\'s network namespace', async () => {
    const dials: Array<{ netnsPath?: string; port: number }> = [];
    const backend = createStreamingBackend({
      runtime: h.runtime, podUid: (namespace, name) => h.kubelet.podUid(namespace, name),
      dial: async (options) => {
        dials.push(options);
        return new PassThrough();
      },
    });
    const pod = await h.getPod('looper');
    const [sandbox] = (await h.runtime.listPodSandboxes()).filter((s) => s.podUid === pod.metadata.uid && s.state === 'ready');
    await backend.portForward({ namespace: 'default', pod: 'looper' }, 8080);
    assert.match(sandbox!.netnsPath ?? '', /^\/var\/run\/netns\/fake-/);
    assert.deepEqual(dials, [{ netnsPath: sandbox!.netnsPath, port: 8080 }]);
    await assert.rejects(backend.portForward({ namespace: 'default', pod: 'nope' }, 80), (e: unknown) => e instanceof StreamingError && e.code === 404);
    await assert.rejects(backend.portForward({ namespace: 'default', pod: 'looper', podUid: 'other-uid' }, 80), (e: unknown) => e instanceof StreamingError && e.code === 404);
  });

  it('gives a runAsUser container the group of that uid in the image (as containerd)', async () => {
    await h.createPod({
      name: 'user', spec: {
        securityContext: { runAsUser: 1000 },
        containers: [{ name: 'as-app', image: 'users', command: ['sleep'] }, { name: 'as-unknown', image: 'users', command: ['sleep'], securityContext: { runAsUser: 1234 } }],
      },
    });
    await waitFor('both started', () => h.runtime.byName('as-app').length === 1 && h.runtime.byName('as-unknown').length === 1);
    assert.deepEqual([h.runtime.byName('as-app')[0]!.config.security?.runAsUser, h.runtime.byName('as-app')[0]!.config.security?.runAsGroup], [1000, 1500]);
    assert.deepEqual([h.runtime.byName('as-unknown')[0]!.config.security?.runAsUser, h.runtime.byName('as-unknown')[0]!.config.security?.runAsGroup], [1234, 0]);
  });
});
