// The real node agent end to end (issue 6): `skiff server` with its local
// agent inside a test host (node-harness.ts), images from a real registry
// in it, the real kubectl. This file: a Deployment of real containers whose
// pods reach each other by IP, `kubectl logs` (-f, --tail, --timestamps),
// `kubectl exec` (exit codes, stdin, -it through a pty), volumes (configMap,
// secret, downwardAPI, emptyDir, a local-path PVC) with init containers in
// order, and an agent restart that leaves running containers untouched.
// The lifecycle cases (crash loops, OOM, probes, preStop) are in
// node-agent-lifecycle.test.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { busyboxPod, condition, containerStatus, isReady, isRoot, useNodeCluster, type Json } from './node-harness.ts';

/** Runs `argv` (kubectl …) under `script`, so kubectl gets a pty; lines are typed as the output asks for them. */
function shellQuote(argv: string[]): string {
  return argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

describe('the node agent runs real pods', { skip: isRoot ? false : 'needs root (netns, runc, mounts)' }, () => {
  const cluster = useNodeCluster();

  describe('workloads', { concurrency: true }, () => {
    it('runs `kubectl create deployment` in real containers whose pods reach each other by IP, with logs', async () => {
      const c = cluster();
      await c.k(['create', 'deployment', 'web', `--image=${c.image}`, '--replicas=2', '--port=8080', '--',
        'sh', '-c', 'echo "hello from $(hostname)" > /tmp/index.html; echo "serving $(hostname)"; exec httpd -f -p 8080 -h /tmp']);
      await c.k(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
      const pods: Json[] = (await c.get(['pods', '-l', 'app=web'])).items;
      assert.equal(pods.length, 2);
      for (const pod of pods) {
        assert.equal(pod.status.phase, 'Running');
        assert.ok(isReady(pod));
        assert.equal(pod.status.hostIP, c.host.nodeIp);
        assert.match(pod.status.podIP, /^10\.42\.\d+\.\d+$/);
        const main = containerStatus(pod, 'busybox');
        assert.match(main.containerID, /^runc:\/\/[0-9a-f]+/);
        assert.match(main.imageID, /^127\.0\.0\.1:5000\/busybox@sha256:[0-9a-f]{64}$/);
        assert.equal(main.restartCount, 0);
        assert.ok(main.state.running.startedAt);
      }
      const [a, b] = pods;
      assert.notEqual(a.status.podIP, b.status.podIP);
      // Each pod fetches the other's page by IP over the node's bridge.
      for (const [from, to] of [[a, b], [b, a]]) {
        const page = await c.k(['exec', from.metadata.name, '--', 'timeout', '10', 'wget', '-qO-', `http://${to.status.podIP}:8080/`]);
        assert.equal(page, `hello from ${to.metadata.name}\n`);
      }
      assert.equal(await c.k(['logs', a.metadata.name]), `serving ${a.metadata.name}\n`);
      assert.match(await c.k(['logs', 'deployment/web']), /^serving web-/);
    });

    it('follows a container\'s log with `kubectl logs -f` until it exits; --tail and --timestamps', async () => {
      const c = cluster();
      await c.apply(busyboxPod({
        name: 'counter', image: c.image,
        command: ['sh', '-c', 'for i in 1 2 3 4 5 6; do echo "line $i"; sleep 1; done'],
        spec: { restartPolicy: 'Never' },
      }));
      await c.waitForPod('counter', 'running', (p) => !!containerStatus(p, 'main')?.state?.running);
      const follower = c.spawnKubectl(['logs', '-f', 'counter']);
      let out = '';
      const chunks: number[] = [];
      follower.stdout!.on('data', (d) => {
        out += d;
        chunks.push(Date.now());
      });
      const timer = setTimeout(() => follower.kill('SIGKILL'), 40_000);
      const code = await new Promise<number | null>((resolve) => follower.once('close', (exit) => resolve(exit)));
      clearTimeout(timer);
      assert.equal(code, 0, 'kubectl logs -f ends by itself when the container exits');
      assert.equal(out, ['1', '2', '3', '4', '5', '6'].map((i) => `line ${i}\n`).join(''));
      assert.ok(chunks.length >= 2 && chunks.at(-1)! - chunks[0]! >= 1000, 'lines arrived while the container ran');
      await c.waitForPod('counter', 'Succeeded', (p) => p.status.phase === 'Succeeded');
      assert.equal(await c.k(['logs', 'counter', '--tail=2']), 'line 5\nline 6\n');
      assert.match(await c.k(['logs', 'counter', '--tail=1', '--timestamps']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 6\n$/);
    });

    it('runs `kubectl exec` with exit codes and stdin, and `exec -it … -- sh` through a pty', async () => {
      const c = cluster();
      await c.apply(busyboxPod({ name: 'shell', image: c.image, command: ['sleep', '3600'] }));
      await c.waitForPod('shell', 'Ready', isReady);
      const failed = await c.kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.equal(failed.code, 3);
      assert.equal(failed.stdout, 'out\n');
      assert.match(failed.stderr, /^err\n/);
      assert.match(failed.stderr, /command terminated with exit code 3/);
      assert.equal(await c.k(['exec', 'shell', '--', 'cat', '/etc/hostname']), 'shell\n');
      assert.equal(await c.k(['exec', '-i', 'shell', '--', 'tr', 'a-z', 'A-Z'], { input: 'hello stdin\n' }), 'HELLO STDIN\n');

      // An interactive shell: `script` gives kubectl a terminal; we type and read.
      const session = c.host.spawn(['script', '-qefc', shellQuote(c.kubectlArgv(['exec', '-it', 'shell', '--', 'sh'])), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let screen = '';
      session.stdout!.on('data', (d) => (screen += d));
      session.stderr!.on('data', (d) => (screen += d));
      const exited = new Promise<number | null>((resolve) => session.once('close', (code) => resolve(code)));
      const timer = setTimeout(() => session.kill('SIGKILL'), 40_000);
      try {
        await c.waitFor('the shell prompt', async () => screen.includes('/ # '), { timeoutMs: 20_000, intervalMs: 100 }).catch((error: Error) => {
          throw new Error(`${error.message}\n--- screen ---\n${JSON.stringify(screen)}`);
        });
        session.stdin!.write('tty; echo "$((6 * 7))-marker"\n');
        await c.waitFor('the command\'s output', async () => screen.includes('42-marker'), { timeoutMs: 20_000, intervalMs: 100 });
        assert.match(screen, /\/dev\/pts\/\d+\r?\n/);
        session.stdin!.write('exit 5\n');
        assert.equal(await exited, 5, `the shell's exit code comes back through kubectl:\n${screen}`);
      } finally {
        clearTimeout(timer);
        session.kill('SIGKILL');
      }
    });

    it('mounts configMap, secret, downwardAPI, emptyDir and local-path PVC volumes, after init containers ran in order', async () => {
      const c = cluster();
      const storageRoot = join(c.host.tempDir, 'storage');
      await c.apply({
        apiVersion: 'v1', kind: 'List', items: [
          { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config' }, data: { greeting: 'hello-config' } },
          { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret' }, stringData: { password: 's3cr3t' } },
          {
            apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: 'e2e-local' }, provisioner: 'rancher.io/local-path',
            volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Delete', parameters: { nodePath: storageRoot },
          },
          {
            apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' },
            spec: { storageClassName: 'e2e-local', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      });
      const step = (name: string, extra = '') => ({ name, image: c.image, command: ['sh', '-c', `${extra}echo ${name} >> /work/order`], volumeMounts: [{ name: 'work', mountPath: '/work' }] });
      await c.apply(busyboxPod({
        name: 'volumes', image: c.image, labels: { app: 'volumes', tier: 'e2e' },
        command: ['sh', '-c', 'echo main >> /work/order; echo persisted > /data/file; exec sleep 3600'],
        container: {
          volumeMounts: [
            { name: 'config', mountPath: '/etc/config' },
            { name: 'secret', mountPath: '/etc/secret' },
            { name: 'podinfo', mountPath: '/etc/podinfo' },
            { name: 'work', mountPath: '/work' },
            { name: 'data', mountPath: '/data' },
          ],
        },
        spec: {
          initContainers: [step('init-1'), step('init-2', 'sleep 1; ')],
          volumes: [
            { name: 'config', configMap: { name: 'app-config' } },
            { name: 'secret', secret: { secretName: 'app-secret' } },
            { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
            { name: 'work', emptyDir: {} },
            { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
          ],
        },
      }));
      const pod = await c.waitForPod('volumes', 'Ready', isReady, { timeoutMs: 90_000 });
      const cat = (path: string) => c.k(['exec', 'volumes', '--', 'cat', path]);
      assert.equal(await cat('/etc/config/greeting'), 'hello-config');
      assert.equal(await cat('/etc/secret/password'), 's3cr3t');
      assert.equal(await cat('/etc/podinfo/labels'), 'app="volumes"\ntier="e2e"');
      assert.equal(await cat('/etc/podinfo/name'), 'volumes');
      assert.equal(await cat('/work/order'), 'init-1\ninit-2\nmain\n');
      assert.equal(await cat('/data/file'), 'persisted\n');
      assert.match(await c.k(['exec', 'volumes', '--', 'grep', ' /etc/secret ', '/proc/mounts']), /^tmpfs \/etc\/secret tmpfs ro,/);

      // Init containers: both Completed, the second started after the first finished.
      const [first, second] = pod.status.initContainerStatuses;
      assert.deepEqual([first.name, second.name], ['init-1', 'init-2']);
      for (const s of [first, second]) assert.equal(s.state.terminated.reason, 'Completed');
      assert.ok(Date.parse(second.state.terminated.startedAt) >= Date.parse(first.state.terminated.finishedAt));
      assert.equal(condition(pod, 'Initialized'), 'True');

      // The claim was provisioned under the class's nodePath and the pod's data is there.
      const claim = await c.get(['pvc', 'data']);
      assert.equal(claim.status.phase, 'Bound');
      const volumeDir = join(storageRoot, claim.spec.volumeName);
      assert.deepEqual(readdirSync(volumeDir), ['file']);
      assert.equal(readFileSync(join(volumeDir, 'file'), 'utf8'), 'persisted\n');
    });
  });

  it('restarts the agent without touching running containers', async () => {
    const c = cluster();
    await c.apply(busyboxPod({ name: 'steady', image: c.image, command: ['sleep', '3600'] }));
    await c.waitForPod('steady', 'Ready', isReady);
    const running = async () => ((await c.get(['pods'])).items as Json[]).filter((p) => p.status.phase === 'Running');
    /** What must not change: container ids, restart counts, start times, and each main process's start time in the kernel. */
    const fingerprint = async () => {
      const result: Record<string, unknown> = {};
      for (const pod of await running()) {
        const statuses = (pod.status.containerStatuses as Json[]).map((s) => ({ name: s.name, id: s.containerID, restarts: s.restartCount, startedAt: s.state.running?.startedAt, ready: s.ready }));
        const procStart = (await c.k(['exec', pod.metadata.name, '--', 'cut', '-d', ' ', '-f', '22', '/proc/1/stat'])).trim();
        result[pod.metadata.name] = { statuses, procStart, ip: pod.status.podIP };
      }
      return result;
    };
    const containerDirs = () => readdirSync(join(c.dataDir, 'runtime', 'containers')).sort();
    const before = await fingerprint();
    assert.ok(Object.keys(before).includes('steady'));
    const dirsBefore = containerDirs();

    await c.restartServer({ hard: true });
    // The new agent serves exec again once it has adopted the pods.
    await c.waitFor('exec after the restart', async () => (await c.kubectl(['exec', 'steady', '--', 'true'])).code === 0, { timeoutMs: 60_000 });
    // Give it a few relists and pod syncs to do something wrong.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.deepEqual(await fingerprint(), before);
    assert.deepEqual(containerDirs(), dirsBefore, 'no container was created or removed');
    const steady = await c.get(['pod', 'steady']);
    assert.equal(containerStatus(steady, 'main').restartCount, 0);
    assert.ok(isReady(steady));
  });
});
