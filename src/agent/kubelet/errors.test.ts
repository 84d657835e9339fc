import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { condition, startKubeletHarness, statusOfPod, waitFor, type KubeletHarness } from './testing/harness.ts';

const waitingOf = (pod: any) => statusOfPod(pod).containerStatuses?.[0]?.state?.waiting;

describe('kubelet: waiting reasons and admission', () => {
  let h: KubeletHarness;
  before(async () => { h = await startKubeletHarness(); });
  after(async () => { await h?.close(); });

  it('ErrImagePull, then ImagePullBackOff, then runs once the image exists', async () => {
    await h.createPod({ name: 'pull', spec: { containers: [{ name: 'app', image: 'example.com/missing:1', command: ['sleep', '1'] }] } });
    const first = await waitFor('ErrImagePull', async () => { const p = await h.getPod('pull'); return waitingOf(p)?.reason === 'ErrImagePull' ? p : undefined; });
    assert.match(waitingOf(first).message, /^failed to pull and unpack image "example.com\/missing:1"/);
    await waitFor('ImagePullBackOff', async () => waitingOf(await h.getPod('pull'))?.reason === 'ImagePullBackOff');
    assert.match(waitingOf(await h.getPod('pull')).message, /^Back-off pulling image "example\.com\/missing:1": ErrImagePull: failed to pull and unpack image "example\.com\/missing:1": /);
    const events = await h.events('pull');
    assert.ok(events.some((e) => e.reason === 'Failed' && String(e.message).startsWith('Failed to pull image "example.com/missing:1": ')));
    assert.ok(events.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'));
    await h.images.add('example.com/missing:1');
    await waitFor('running after the image appeared', async () => statusOfPod(await h.getPod('pull')).phase === 'Running');
  });

  it('CreateContainerConfigError for a missing ConfigMap key, then runs with the env once it exists', async () => {
    await h.createPod({
      name: 'cfg',
      spec: { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo $(MODE)'], env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } }] }] },
    });
    const pod = await waitFor('config error', async () => { const p = await h.getPod('cfg'); return waitingOf(p)?.reason === 'CreateContainerConfigError' ? p : undefined; });
    assert.equal(waitingOf(pod).message, 'configmap "settings" not found');
    assert.ok((await h.events('cfg')).some((e) => e.reason === 'Failed' && e.message === 'Error: configmap "settings" not found'));
    await h.client.create({ group: '', version: 'v1', resource: 'configmaps', namespace: 'default' }, { metadata: { name: 'settings' }, data: { mode: 'fast' } });
    await waitFor('running', async () => statusOfPod(await h.getPod('cfg')).phase === 'Running', 20_000);
    const container = h.runtime.byName('app').find((c) => c.config.env.includes('MODE=fast'));
    assert.ok(container, 'env from the ConfigMap');
    assert.deepEqual(container.config.argv, ['sh', '-c', 'echo fast']);
  });

  it('runAsNonRoot with an image that runs as root is refused', async () => {
    await h.createPod({ name: 'nonroot', spec: { securityContext: { runAsNonRoot: true }, containers: [{ name: 'app', image: 'busybox' }] } });
    const pod = await waitFor('refused', async () => { const p = await h.getPod('nonroot'); return waitingOf(p)?.reason === 'CreateContainerConfigError' ? p : undefined; });
    assert.equal(waitingOf(pod).message, `container has runAsNonRoot and image will run as root (pod: "nonroot_default(${pod.metadata.uid})", container: app)`);
  });

  it('a pod that does not fit is rejected with OutOfcpu', async () => {
    await h.createPod({ name: 'huge', spec: { containers: [{ name: 'app', image: 'busybox', resources: { requests: { cpu: '64' } } }] } });
    const pod = await waitFor('rejected', async () => { const p = await h.getPod('huge'); return statusOfPod(p).phase === 'Failed' ? p : undefined; });
    assert.equal(statusOfPod(pod).reason, 'OutOfcpu');
    assert.match(String(statusOfPod(pod).message), /^Pod was rejected: Node didn't have enough resource: cpu, requested: 64000, used: \d+, capacity: 4000$/);
    assert.equal(h.runtime.byName('app').filter((c) => c.config.labels?.['io.kubernetes.pod.uid'] === pod.metadata.uid).length, 0);
  });

  it('FailedMount is reported and retried until the volume can be set up', async () => {
    h.volumes.failing.add('data');
    await h.createPod({
      name: 'mount',
      spec: { volumes: [{ name: 'data', emptyDir: {} }], containers: [{ name: 'app', image: 'busybox', command: ['sleep', '1'], volumeMounts: [{ name: 'data', mountPath: '/data', subPath: 'sub/dir' }] }] },
    });
    const event = await waitFor('FailedMount', async () => (await h.events('mount')).find((e) => e.reason === 'FailedMount'));
    assert.match(String(event.message), /^MountVolume.SetUp failed for volume "data"/);
    assert.equal(waitingOf(await h.getPod('mount'))?.reason, 'ContainerCreating');
    h.volumes.failing.delete('data');
    const pod = await waitFor('running', async () => { const p = await h.getPod('mount'); return condition(p, 'Ready')?.status === 'True' ? p : undefined; });
    const container = h.runtime.byName('app').find((c) => c.config.labels?.['io.kubernetes.pod.uid'] === pod.metadata.uid)!;
    const mount = container.config.mounts.find((m) => m.containerPath === '/data')!;
    assert.ok(mount.hostPath.endsWith('/data/sub/dir'), mount.hostPath);
  });
});
