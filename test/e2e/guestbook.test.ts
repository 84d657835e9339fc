// Issue 8's "done when": a three-tier guestbook from plain YAML on a real
// node (node-harness.ts: a server with its local agent in a test host, real
// runc containers, the real kubectl). frontend → api → kv, each a Deployment
// of busybox httpd with a CGI script, each tier calling the next by its
// Service's DNS name. From the test host (192.0.2.10, its own netns) the app
// is reached through a NodePort, a LoadBalancer address and an Ingress host
// rule (plain and TLS), keeps answering while the frontend rolls to a new
// image (a bounded request loop, no failure allowed), is carried by
// `kubectl port-forward`, and `kubectl top pods` reports it. Every request
// goes to addresses inside the test host's namespace.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selfSignedCertificate } from '../../src/agent/streaming/tls.ts';
import { isRoot, useNodeCluster, type Json, type NodeCluster } from './node-harness.ts';

const INGRESS_HOST = 'guestbook.example';

/** CGI scripts (busybox httpd runs /www/cgi-bin/* with QUERY_STRING set). */
const SCRIPTS: Record<string, string> = {
  kv: [
    '#!/bin/sh',
    'printf "Content-Type: text/plain\\r\\n\\r\\n"',
    'case "$QUERY_STRING" in set=*) echo "${QUERY_STRING#set=}" > /data/value ;; esac',
    'cat /data/value 2>/dev/null || echo "(empty)"',
  ].join('\n') + '\n',
  api: [
    '#!/bin/sh',
    'printf "Content-Type: text/plain\\r\\n\\r\\n"',
    // A name in the pod's own namespace: resolved through the search path.
    'printf "api says: "; timeout 5 wget -qO- "http://kv/cgi-bin/kv?$QUERY_STRING"',
  ].join('\n') + '\n',
  frontend: [
    '#!/bin/sh',
    'printf "Content-Type: text/plain\\r\\n\\r\\n"',
    'printf "frontend %s (%s), " "$(hostname)" "$VERSION"; timeout 5 wget -qO- "http://api.$NAMESPACE.svc.cluster.local/cgi-bin/api?$QUERY_STRING"',
  ].join('\n') + '\n',
};

function tier(name: string, image: string, replicas: number): Json[] {
  const labels = { app: 'guestbook', tier: name };
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels },
      spec: {
        replicas, selector: { matchLabels: labels },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [{
              name: 'web', image,
              command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
              env: [
                { name: 'VERSION', value: 'v1' },
                { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              ],
              ports: [{ name: 'http', containerPort: 8080 }],
              resources: { requests: { cpu: '50m', memory: '16Mi' } },
              readinessProbe: { httpGet: { path: '/cgi-bin/ready', port: 'http' }, periodSeconds: 1 },
              // Endpoints leave the proxy's rules before the server stops (what users do upstream too).
              lifecycle: { preStop: { exec: { command: ['sleep', '2'] } } },
              volumeMounts: [{ name: 'scripts', mountPath: '/www/cgi-bin' }, { name: 'data', mountPath: '/data' }],
            }],
            volumes: [
              { name: 'scripts', configMap: { name: 'guestbook-scripts', defaultMode: 0o755, items: [{ key: name, path: name }, { key: 'ready', path: 'ready' }] } },
              { name: 'data', emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name, labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  ];
}

function guestbook(image: string): Json {
  const items: Json[] = [
    {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'guestbook-scripts' },
      data: { ...SCRIPTS, ready: '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' },
    },
    ...tier('kv', image, 1),
    ...tier('api', image, 1),
    ...tier('frontend', image, 2),
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'frontend-nodeport' },
      spec: { type: 'NodePort', selector: { app: 'guestbook', tier: 'frontend' }, ports: [{ port: 80, targetPort: 'http' }] },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'frontend-lb' },
      spec: { type: 'LoadBalancer', selector: { app: 'guestbook', tier: 'frontend' }, ports: [{ port: 8088, targetPort: 'http' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'guestbook' },
      spec: {
        tls: [{ hosts: [INGRESS_HOST], secretName: 'guestbook-tls' }],
        rules: [{ host: INGRESS_HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'frontend', port: { name: 'http' } } } }] } }],
      },
    },
  ];
  return { apiVersion: 'v1', kind: 'List', items };
}

/** An HTTP(S) GET from inside the test host by a Node one-liner (busybox wget has no TLS): status and body. */
async function fetchInHost(c: NodeCluster, url: string, options: { host?: string; servername?: string; ca?: string } = {}): Promise<{ status: number; body: string }> {
  const script = `
    const u = new URL(${JSON.stringify(url)});
    const mod = await import(u.protocol === 'https:' ? 'node:https' : 'node:http');
    const req = mod.request(u, { headers: ${JSON.stringify(options.host ? { host: options.host } : {})}, servername: ${JSON.stringify(options.servername ?? '')} || undefined, ca: ${JSON.stringify(options.ca ?? '')} || undefined, timeout: 10000 }, (res) => {
      let body = ''; res.on('data', (d) => body += d); res.on('end', () => console.log(JSON.stringify({ status: res.statusCode, body })));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => { console.log(JSON.stringify({ status: 0, body: e.message })); });
    req.end();`;
  const r = await c.host.run([process.execPath, '--input-type=module', '-e', script], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`fetch ${url} in the test host: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('a three-tier guestbook from YAML', { skip: isRoot ? false : 'needs root (netns, runc, nftables)' }, () => {
  const cluster = useNodeCluster();
  let nodePort = 0;

  it('starts, and its tiers find each other by Service name', async () => {
    const c = cluster();
    await c.apply(guestbook(c.image));
    for (const name of ['kv', 'api', 'frontend']) {
      await c.k(['rollout', 'status', `deployment/${name}`, '--timeout=180s'], { timeoutMs: 190_000 });
    }
    const pod: Json = (await c.get(['pods', '-l', 'tier=frontend'])).items[0];
    const page = await c.k(['exec', pod.metadata.name, '--', 'timeout', '10', 'wget', '-qO-', 'http://frontend/cgi-bin/frontend?set=hello']);
    assert.match(page, /^frontend frontend-\S+ \(v1\), api says: hello\n$/);
  });

  it('answers on every node address through a NodePort', async () => {
    const c = cluster();
    nodePort = (await c.get(['service', 'frontend-nodeport'])).spec.ports[0].nodePort;
    assert.ok(nodePort >= 30000 && nodePort <= 32767, String(nodePort));
    const r = await fetchInHost(c, `http://${c.host.nodeIp}:${nodePort}/cgi-bin/frontend`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /api says: hello/);
  });

  it('gives a LoadBalancer Service the node address and answers there', async () => {
    const c = cluster();
    const ip = await c.waitFor('the load balancer address', async () => (await c.get(['service', 'frontend-lb'])).status?.loadBalancer?.ingress?.[0]?.ip);
    assert.equal(ip, c.host.nodeIp);
    assert.match(await c.k(['get', 'service', 'frontend-lb']), new RegExp(`LoadBalancer\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+8088:3\\d+/TCP`));
    const r = await fetchInHost(c, `http://${ip}:8088/cgi-bin/frontend`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /api says: hello/);
  });

  it('routes the Ingress host rule, over HTTP and over TLS with the Secret\'s certificate', async () => {
    const c = cluster();
    const tls = await selfSignedCertificate({ commonName: INGRESS_HOST, names: [INGRESS_HOST] });
    await c.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'guestbook-tls' }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': tls.cert, 'tls.key': tls.key } });
    const plain = await c.waitFor('the ingress rule', async () => {
      const r = await fetchInHost(c, `http://${c.host.nodeIp}/cgi-bin/frontend`, { host: INGRESS_HOST });
      return r.status === 200 ? r : undefined;
    });
    assert.match(plain.body, /api says: hello/);
    const secure = await c.waitFor('the ingress TLS certificate', async () => {
      const r = await fetchInHost(c, `https://${c.host.nodeIp}/cgi-bin/frontend`, { host: INGRESS_HOST, servername: INGRESS_HOST, ca: tls.cert });
      return r.status === 200 ? r : undefined;
    });
    assert.match(secure.body, /api says: hello/);
    const unknown = await fetchInHost(c, `http://${c.host.nodeIp}/`, { host: 'nobody.example' });
    assert.equal(unknown.status, 404);
  });

  it('keeps answering while the frontend rolls to a new image', async (t) => {
    const c = cluster();
    const pushed = await c.host.run(['skopeo', 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${c.image}:latest`, `docker://${c.image}:v2`], { timeoutMs: 60_000 });
    assert.equal(pushed.code, 0, pushed.stderr);
    // A bounded loop in the test host: one request at a time, paced, at most 6000 or 120 s, counting failures; it stops when the rollout is over.
    const loop = `
      const http = await import('node:http');
      const get = () => new Promise((resolve) => {
        const req = http.get('http://${c.host.nodeIp}:${nodePort}/cgi-bin/frontend', { timeout: 5000, agent: false }, (res) => {
          let body = ''; res.on('data', (d) => body += d); res.on('end', () => resolve(res.statusCode === 200 && body.includes('api says: hello') ? 'ok' : 'bad ' + res.statusCode + ' ' + body));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => resolve('error ' + e.message));
      });
      const results = { ok: 0, failures: [], versions: new Set() };
      const until = Date.now() + 120000;
      const { existsSync } = await import('node:fs');
      for (let i = 0; i < 6000 && Date.now() < until && !existsSync(process.argv[1]); i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const r = await get();
        if (r === 'ok') results.ok++; else results.failures.push(r);
      }
      console.log(JSON.stringify({ ok: results.ok, failures: results.failures }));`;
    const stopFile = join(c.host.tempDir, 'guestbook-stop-loop');
    const load = c.host.run([process.execPath, '--input-type=module', '-e', loop, stopFile], { timeoutMs: 150_000 });
    await c.k(['set', 'image', 'deployment/frontend', `web=${c.image}:v2`]);
    await c.k(['set', 'env', 'deployment/frontend', 'VERSION=v2']);
    await c.k(['rollout', 'status', 'deployment/frontend', '--timeout=180s'], { timeoutMs: 190_000 });
    // The old pods' preStop and termination are part of the rollout the load must not notice.
    await c.waitFor('the old frontend pods to be gone', async () => {
      const pods: Json[] = (await c.get(['pods', '-l', 'tier=frontend'])).items;
      return pods.length === 2 && pods.every((p) => p.spec.containers[0].image.endsWith(':v2'));
    }, { timeoutMs: 60_000 });
    await c.host.run(['touch', stopFile]);
    const result = JSON.parse((await load).stdout);
    assert.ok(result.ok > 10, JSON.stringify(result));
    t.diagnostic(`${result.ok} requests answered during the rollout`);
    assert.deepEqual(result.failures, []);
    const after = await fetchInHost(c, `http://${c.host.nodeIp}:${nodePort}/cgi-bin/frontend`);
    assert.match(after.body, /\(v2\)/);
  });

  it('carries an HTTP request through kubectl port-forward', async () => {
    const c = cluster();
    const forward = c.spawnKubectl(['port-forward', 'svc/frontend', '0:80']);
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`no Forwarding line: ${out}`)), 30_000);
        forward.stdout!.on('data', (d) => {
          out += d;
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
      });
      const r = await fetchInHost(c, `http://127.0.0.1:${port}/cgi-bin/frontend`);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /api says: hello/);
    } finally {
      forward.kill('SIGKILL');
    }
  });

  it('shows the pods\' usage with kubectl top', async () => {
    const c = cluster();
    const top = await c.waitFor('pod metrics', async () => {
      const r = await c.kubectl(['top', 'pods', '-l', 'app=guestbook']);
      return r.code === 0 && /frontend-/.test(r.stdout) ? r.stdout : undefined;
    }, { timeoutMs: 90_000, intervalMs: 3000 });
    assert.match(top, /NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);
    assert.match(top, /kv-\S+\s+\d+m\s+\d+Mi/);
  });
});
