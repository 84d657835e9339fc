// The ingress controller of a real node agent (issue 8): `skiff server` with
// its local agent in a test host (node-harness.ts), the ingress listening on
// the node address at 18080/18443 (flags), two Deployments of busybox httpd
// with a CGI script, an Ingress with two hosts and a path rule, and a TLS
// Secret made by `kubectl create secret tls`. Requests come from a Node
// client run inside the test host (busybox wget has no TLS), so every packet
// stays in the test's own network namespace.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { selfSignedCertificate } from '../../src/proxy/ingress/tls.ts';
import { createTestHost, type TestHost } from '../support/test-host.ts';
import { isRoot, startNodeCluster, useNodeCluster, type Json, type NodeCluster } from './node-harness.ts';

const HTTP_PORT = 18080;
const HTTPS_PORT = 18443;

/** Answers who served the request and the forwarding headers the pod saw. */
const WHOAMI = [
  '#!/bin/sh',
  'printf "Content-Type: text/plain\\r\\n\\r\\n"',
  'echo "$APP $(hostname) xff=$HTTP_X_FORWARDED_FOR proto=$HTTP_X_FORWARDED_PROTO host=$HTTP_X_FORWARDED_HOST"',
].join('\n') + '\n';

function app(name: string, image: string, replicas: number, files: { key: string; path: string }[]): Json[] {
  const labels = { app: name };
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels },
      spec: {
        replicas, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 2,
            containers: [{
              name: 'web', image, command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
              env: [{ name: 'APP', value: name }],
              ports: [{ name: 'web', containerPort: 8080 }],
              readinessProbe: { tcpSocket: { port: 'web' }, periodSeconds: 1 },
              volumeMounts: [{ name: 'www', mountPath: '/www' }],
            }],
            volumes: [{ name: 'www', configMap: { name: 'ing-www', defaultMode: 0o755, items: files } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'web' }] },
    },
  ];
}

/** An "echo" protocol behind an HTTP Upgrade, served by `nc -ll -e` (one shell per connection). */
const UPGRADE_ECHO = [
  '#!/bin/sh',
  'while read -r line; do [ -z "$(printf %s "$line" | tr -d "\\r")" ] && break; done',
  'printf "HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: echo\\r\\nConnection: Upgrade\\r\\n\\r\\n"',
  'while read -r line; do echo "echo: $line"; done',
  'echo bye',
].join('\n') + '\n';

interface Answer { status: number; body: string; cn?: string; error?: string }

/** One HTTP(S) request from inside the test host: status, body, and the certificate's CN for HTTPS. */
async function fetchInHost(c: NodeCluster, options: { https?: boolean; host: string; path: string; servername?: string; ca?: string }): Promise<Answer> {
  const script = `
    const o = JSON.parse(process.argv[1]);
    const mod = await import(o.https ? 'node:https' : 'node:http');
    const req = mod.request({
      host: o.address, port: o.port, path: o.path, headers: { host: o.host }, agent: false, timeout: 10000,
      servername: o.servername, ...(o.ca ? { ca: o.ca } : { rejectUnauthorized: false }),
    }, (res) => {
      const cn = o.https ? res.socket.getPeerCertificate().subject?.CN : undefined;
      let body = ''; res.on('data', (d) => body += d); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body, cn })));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => console.log(JSON.stringify({ status: 0, body: '', error: e.message })));
    req.end();`;
  const args = { ...options, address: c.host.nodeIp, port: options.https ? HTTPS_PORT : HTTP_PORT };
  const r = await c.host.run([process.execPath, '--input-type=module', '-e', script, JSON.stringify(args)], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`request in the test host failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('the ingress controller of a real node', { skip: isRoot ? false : 'needs root (netns, runc)' }, () => {
  const cluster = useNodeCluster({ serverArgs: ['--ingress-http-port', String(HTTP_PORT), '--ingress-https-port', String(HTTPS_PORT)] });

  it('routes hosts and paths to Deployments, serves the Secret\'s certificate by SNI, 503 at zero replicas, 404 for unknown hosts', { timeout: 300_000 }, async () => {
    const c = cluster();
    const defaultClass = await c.get(['ingressclass', 'skiff']);
    assert.equal(defaultClass.spec.controller, 'skiff.dev/ingress-controller');
    assert.equal(defaultClass.metadata.annotations['ingressclass.kubernetes.io/is-default-class'], 'true');

    const tls = await selfSignedCertificate({ commonName: 'shop.test', names: ['shop.test'] });
    writeFileSync(join(c.host.tempDir, 'shop.crt'), tls.cert);
    writeFileSync(join(c.host.tempDir, 'shop.key'), tls.key);
    await c.k(['create', 'secret', 'tls', 'shop-tls', `--cert=${join(c.host.tempDir, 'shop.crt')}`, `--key=${join(c.host.tempDir, 'shop.key')}`]);

    await c.apply({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ing-www' }, data: { whoami: WHOAMI, blog: 'the blog index\n' } },
        ...app('ing-shop', c.image, 2, [{ key: 'whoami', path: 'cgi-bin/whoami' }]),
        ...app('ing-blog', c.image, 1, [{ key: 'whoami', path: 'cgi-bin/whoami' }, { key: 'blog', path: 'blog/index.html' }]),
        {
          // No ingressClassName: served because `skiff` is the default class.
          apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing-web' },
          spec: {
            tls: [{ hosts: ['shop.test'], secretName: 'shop-tls' }],
            rules: [
              { host: 'shop.test', http: { paths: [
                { path: '/', pathType: 'Prefix', backend: { service: { name: 'ing-shop', port: { number: 80 } } } },
                { path: '/blog', pathType: 'Prefix', backend: { service: { name: 'ing-blog', port: { name: 'http' } } } },
              ] } },
              { host: 'blog.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'ing-blog', port: { name: 'http' } } } }] } },
            ],
          },
        },
      ],
    });
    await c.k(['rollout', 'status', 'deployment/ing-shop', '--timeout=180s'], { timeoutMs: 190_000 });
    await c.k(['rollout', 'status', 'deployment/ing-blog', '--timeout=180s'], { timeoutMs: 190_000 });

    // Host rule → the shop pods, round-robin over both, with the forwarding headers.
    const first = await c.waitFor('the shop host rule', async () => {
      const r = await fetchInHost(c, { host: 'shop.test', path: '/cgi-bin/whoami' });
      return r.status === 200 && r;
    }, { timeoutMs: 60_000 });
    assert.match(first.body, new RegExp(`^ing-shop ing-shop-\\S+ xff=${c.host.nodeIp.replace(/\./g, '\\.')} proto=http host=shop\\.test\\n$`));
    const shopPods = new Set<string>();
    for (let i = 0; i < 6; i++) shopPods.add((await fetchInHost(c, { host: 'shop.test', path: '/cgi-bin/whoami' })).body.split(' ')[1]!);
    assert.equal(shopPods.size, 2, `both shop pods answer: ${[...shopPods].join(', ')}`);

    // Path rule on the same host, and the second host, → the blog pod (named service port).
    assert.deepEqual(await fetchInHost(c, { host: 'shop.test', path: '/blog/' }), { status: 200, body: 'the blog index\n' });
    assert.match((await fetchInHost(c, { host: 'blog.test:18080', path: '/cgi-bin/whoami' })).body, /^ing-blog ing-blog-/);
    assert.equal((await fetchInHost(c, { host: 'unknown.test', path: '/' })).status, 404);

    // TLS: the Secret's certificate for its SNI name (verified against it), the default one otherwise.
    const secure = await c.waitFor('the TLS certificate of shop.test', async () => {
      const r = await fetchInHost(c, { https: true, host: 'shop.test', servername: 'shop.test', path: '/cgi-bin/whoami', ca: tls.cert });
      return r.status === 200 && r;
    }, { timeoutMs: 30_000 });
    assert.equal(secure.cn, 'shop.test');
    assert.match(secure.body, / proto=https host=shop\.test\n$/);
    const other = await fetchInHost(c, { https: true, host: 'blog.test', servername: 'blog.test', path: '/cgi-bin/whoami' });
    assert.equal(other.status, 200);
    assert.notEqual(other.cn, 'shop.test', 'a name without a TLS section gets the default certificate');

    // No ready endpoints: 503 (and back once a replica is ready again).
    await c.k(['scale', 'deployment/ing-blog', '--replicas=0']);
    await c.waitFor('503 without blog pods', async () => (await fetchInHost(c, { host: 'blog.test', path: '/' })).status === 503, { timeoutMs: 60_000 });
    assert.equal((await fetchInHost(c, { host: 'shop.test', path: '/blog/' })).status, 503);
    assert.equal((await fetchInHost(c, { host: 'shop.test', path: '/cgi-bin/whoami' })).status, 200, 'the other backend is unaffected');
    await c.k(['scale', 'deployment/ing-blog', '--replicas=1']);
    await c.waitFor('the blog back', async () => (await fetchInHost(c, { host: 'blog.test', path: '/blog/' })).status === 200, { timeoutMs: 120_000 });
  });

  it('passes an Upgrade through to a pod, both ways, with the last bytes after a half-close', { timeout: 300_000 }, async () => {
    const c = cluster();
    const labels = { app: 'ing-ws' };
    await c.apply({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ing-ws' }, data: { 'echo.sh': UPGRADE_ECHO } },
        {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ing-ws', labels },
          spec: {
            replicas: 1, selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                terminationGracePeriodSeconds: 1,
                containers: [{ name: 'ws', image: c.image, command: ['nc', '-ll', '-p', '8080', '-e', '/ws/echo.sh'], volumeMounts: [{ name: 'ws', mountPath: '/ws' }] }],
                volumes: [{ name: 'ws', configMap: { name: 'ing-ws', defaultMode: 0o755 } }],
              },
            },
          },
        },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ing-ws', labels }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
        {
          apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing-ws' },
          spec: { ingressClassName: 'skiff', rules: [{ host: 'ws.test', http: { paths: [{ path: '/ws', pathType: 'Exact', backend: { service: { name: 'ing-ws', port: { number: 80 } } } }] } }] },
        },
      ],
    });
    await c.k(['rollout', 'status', 'deployment/ing-ws', '--timeout=180s'], { timeoutMs: 190_000 });
    const text = await c.waitFor('the upgraded echo', async () => {
      const t = await upgradeInHost(c, 'ws.test');
      return t.startsWith('HTTP/1.1 101') && t;
    }, { timeoutMs: 60_000 });
    assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\necho: hello\nbye\n$/);
  });
});

/** An Upgrade request through the ingress from inside the test host: sends `hello`, half-closes after the echo, returns all it read. */
async function upgradeInHost(c: NodeCluster, host: string): Promise<string> {
  const script = `
    const o = JSON.parse(process.argv[1]);
    const socket = (await import('node:net')).connect({ host: o.address, port: o.port });
    let text = '', sent = false, ended = false;
    const timer = setTimeout(() => socket.destroy(), 10000);
    socket.on('data', (d) => {
      text += d;
      if (!sent && text.includes('\\r\\n\\r\\n')) { sent = true; socket.write('hello\\n'); }
      if (!ended && text.includes('echo: hello')) { ended = true; socket.end(); }
    });
    socket.on('error', () => {});
    socket.on('close', () => { clearTimeout(timer); console.log(JSON.stringify(text)); });
    socket.write('GET /ws HTTP/1.1\\r\\nHost: ' + o.host + '\\r\\nConnection: Upgrade\\r\\nUpgrade: echo\\r\\n\\r\\n');`;
  const r = await c.host.run([process.execPath, '--input-type=module', '-e', script, JSON.stringify({ address: c.host.nodeIp, port: HTTP_PORT, host })], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`upgrade request in the test host failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('an ingress port already in use', { skip: isRoot ? false : 'needs root (netns, runc)' }, () => {
  let host: TestHost | undefined;
  let cluster: NodeCluster | undefined;

  before(async () => {
    host = await createTestHost();
    // Another server holds the HTTPS port on the node address before skiff starts.
    const blocker = host.spawn([process.execPath, '-e', `require('node:net').createServer().listen(${HTTPS_PORT}, '192.0.2.10', () => console.log('listening'))`]);
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: blocker.stdout! }).once('line', () => resolve());
      blocker.once('exit', (code) => reject(new Error(`the port blocker exited (${code})`)));
    });
    cluster = await startNodeCluster(host, { serverArgs: ['--ingress-http-port', String(HTTP_PORT), '--ingress-https-port', String(HTTPS_PORT)] });
  });
  after(async () => {
    await host?.destroy();
  });

  it('leaves the node running without ingress and says why', async () => {
    const c = cluster!;
    assert.match(c.serverLog(), new RegExp(`ingress: warning: ingress disabled on this node: cannot listen on 192\\.0\\.2\\.10:${HTTPS_PORT} \\(EADDRINUSE\\)`));
    // The agent still runs pods (startNodeCluster waited for the node to be Ready).
    await c.k(['run', 'still-works', `--image=${c.image}`, '--restart=Never', '--', 'sh', '-c', 'echo ok']);
    await c.waitForPod('still-works', 'Succeeded', (pod) => pod.status?.phase === 'Succeeded', { timeoutMs: 90_000 });
    // Nothing half-started: the HTTP port, bound before the HTTPS one failed, was released again.
    const probe = await c.host.run([process.execPath, '-e', `require('node:net').createServer().listen(${HTTP_PORT}, '192.0.2.10', function () { this.close(); console.log('free'); })`]);
    assert.equal(probe.stdout.trim(), 'free');
  });
});
