// kubectl port-forward to a real pod (node-harness.ts: a real agent in a test
// host). The pod's busybox httpd listens on 127.0.0.1 only, so the page is
// reachable only by dialling localhost inside the pod's network namespace,
// which is what the agent does. kubectl and curl run in the test host. Also
// pods/proxy and services/proxy to a real pod IP (the API server dials it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busyboxPod, isReady, isRoot, useNodeCluster } from './node-harness.ts';

describe('kubectl port-forward to a real pod', { skip: isRoot ? false : 'needs root (netns, runc, mounts)' }, () => {
  const cluster = useNodeCluster();

  it('reaches a server bound to the pod\'s loopback, and says so when the port is closed', async () => {
    const c = cluster();
    await c.apply(busyboxPod({
      name: 'loopback-web', image: c.image,
      command: ['sh', '-c', 'echo "hello from the pod" > /tmp/index.html; exec httpd -f -p 127.0.0.1:8080 -h /tmp'],
    }));
    const pod = await c.waitForPod('loopback-web', 'ready', isReady, { timeoutMs: 120_000 });
    // Not on the pod IP: only localhost inside the pod reaches it.
    const direct = await c.host.run(['curl', '-s', '-m', '5', `http://${pod.status.podIP}:8080/`]);
    assert.notEqual(direct.code, 0);

    const forward = c.spawnKubectl(['port-forward', 'pod/loopback-web', '0:8080', '0:9999']);
    let stdout = '';
    let stderr = '';
    forward.stdout!.on('data', (d) => (stdout += d));
    forward.stderr!.on('data', (d) => (stderr += d));
    try {
      const ports = await c.waitFor('kubectl port-forward to listen', async () => {
        const found = [...stdout.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
        return found.length === 2 ? new Map(found.map(([local, remote]) => [remote!, local!])) : undefined;
      }, { timeoutMs: 30_000 });
      const page = await c.host.run(['curl', '-s', '-m', '20', `http://127.0.0.1:${ports.get(8080)}/`]);
      assert.equal(page.code, 0, page.stderr);
      assert.equal(page.stdout, 'hello from the pod\n');
      // A second request on the same session.
      assert.equal((await c.host.run(['curl', '-s', '-m', '20', `http://127.0.0.1:${ports.get(8080)}/index.html`])).stdout, 'hello from the pod\n');

      const closed = await c.host.run(['curl', '-s', '-m', '20', `http://127.0.0.1:${ports.get(9999)}/`]);
      assert.notEqual(closed.code, 0);
      await c.waitFor('kubectl to report the refused port', async () => /an error occurred forwarding \d+ -> 9999/.test(stderr), { timeoutMs: 20_000 });
      // kubectl quotes the message's quotes (\").
      assert.match(stderr, /error forwarding port 9999 to pod loopback-web_default, uid : failed to connect to localhost:9999 inside namespace \\?"\/var\/run\/netns\/skiff-[0-9a-f]+\\?", IPv4: dial tcp4 127\.0\.0\.1:9999: connect: connection refused/);
    } finally {
      forward.kill('SIGKILL');
    }
  });

  it('reaches a real pod through pods/proxy and services/proxy (kubectl get --raw)', async () => {
    const c = cluster();
    await c.apply(busyboxPod({
      name: 'proxied-web', image: c.image, labels: { app: 'proxied-web' },
      command: ['sh', '-c', 'echo "page of $(hostname)" > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'],
      container: { ports: [{ name: 'http', containerPort: 8080 }] },
    }));
    await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'proxied-web' }, spec: { selector: { app: 'proxied-web' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] } });
    await c.waitForPod('proxied-web', 'ready', isReady, { timeoutMs: 120_000 });
    assert.equal(await c.k(['get', '--raw', '/api/v1/namespaces/default/pods/proxied-web:8080/proxy/']), 'page of proxied-web\n');
    // The EndpointSlice controller fills the Service's endpoints once the pod is ready.
    const page = await c.waitFor('services/proxy to answer', async () => {
      const r = await c.kubectl(['get', '--raw', '/api/v1/namespaces/default/services/proxied-web:web/proxy/index.html']);
      return r.code === 0 ? r.stdout : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(page, 'page of proxied-web\n');
  });
});
