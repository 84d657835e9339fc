// Cluster DNS on a real node (ARCHITECTURE.md §7: all inside a test host):
// the local agent serves cluster.local on its pod bridge's gateway and
// publishes it as kube-system/kube-dns's endpoint on this node; a busybox
// pod gets the cluster resolv.conf and resolves Services (ClusterIP and
// headless) there; other names go to the node's resolver — a fake one this
// test runs on 127.0.0.1:53 inside the test host, named by --resolv-conf.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from './harness.ts';
import { busyboxPod, isRoot, isReady, NODE_NAME, useNodeCluster, type Json } from './node-harness.ts';

const UPSTREAM_ANSWER = '192.0.2.99';
const confDir = mkdtempSync(join(tmpdir(), 'skiff-e2e-dns-'));
const resolvConf = join(confDir, 'resolv.conf');
writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');

/** The first address of a CIDR (the bridge's gateway), e.g. 10.42.0.0/24 → 10.42.0.1. */
function gatewayOf(cidr: string): string {
  const [base] = cidr.split('/');
  const octets = base.split('.').map(Number);
  octets[3] += 1;
  return octets.join('.');
}

/** busybox nslookup's answer addresses (the lines after `Name:`). */
function answerAddresses(output: string): string[] {
  const afterName = output.split(/^Name:/m).slice(1).join('\n');
  return [...afterName.matchAll(/^Address:\s*(\S+)/gm)].map((m) => m[1]).sort();
}

describe('cluster DNS on a real node', { skip: !isRoot && 'needs root (network namespaces, runc)' }, () => {
  const cluster = useNodeCluster({ serverArgs: ['--resolv-conf', resolvConf] });
  const upstreamQuestions: string[] = [];
  let gateway = '';

  before(async () => {
    const c = cluster();
    // The fake node resolver: inside the test host, killed by its destroy().
    const upstream = c.host.spawn([process.execPath, join(repoRoot, 'test/support/fake-dns-upstream.ts'), '127.0.0.1', '53', UPSTREAM_ANSWER]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake upstream not ready')), 15_000);
      createInterface({ input: upstream.stdout! }).on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
        }
        if (line.startsWith('question ')) upstreamQuestions.push(line.slice('question '.length));
      });
    });
    const node = await c.get(['node', NODE_NAME]);
    gateway = gatewayOf(node.spec.podCIDR);
  });

  after(() => rmSync(confDir, { recursive: true, force: true }));

  it('the agent publishes its DNS endpoint for kube-system/kube-dns, owned by its Node', async () => {
    const c = cluster();
    const svc = await c.get(['svc', 'kube-dns', '-n', 'kube-system']);
    assert.equal(svc.spec.clusterIP, '10.43.0.10');
    assert.equal(svc.spec.internalTrafficPolicy, 'Local');
    const slice = await c.waitFor('the kube-dns EndpointSlice of this node', async () => {
      const found = await c.kubectl(['get', 'endpointslice', `kube-dns-${NODE_NAME}`, '-n', 'kube-system', '-o', 'json']);
      return found.code === 0 && JSON.parse(found.stdout);
    });
    assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'kube-dns');
    assert.equal(slice.metadata.labels['endpointslice.kubernetes.io/managed-by'], 'skiff-agent');
    assert.deepEqual(slice.endpoints.map((e: Json) => [e.addresses, e.nodeName, e.conditions.ready]), [[[gateway], NODE_NAME, true]]);
    assert.deepEqual(slice.ports.map((p: Json) => `${p.name}/${p.port}/${p.protocol}`).sort(), ['dns-tcp/53/TCP', 'dns/53/UDP']);
    assert.equal(slice.metadata.ownerReferences[0].kind, 'Node');
  });

  it('a pod gets the cluster resolv.conf and resolves Services, headless Services and outside names', async () => {
    const c = cluster();
    await c.apply({ apiVersion: 'v1', kind: 'List', items: [
      busyboxPod({ name: 'dns-client', image: c.image, command: ['sleep', '3600'], labels: { app: 'dns-db' } }),
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'nothing' }, ports: [{ port: 80 }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'dns-db' }, ports: [{ port: 5432 }] } },
    ] });
    const pod = await c.waitForPod('dns-client', 'Ready', isReady, { timeoutMs: 120_000 });
    const web = await c.get(['svc', 'web']);

    const resolv = await c.k(['exec', 'dns-client', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, /^search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local\b/m);
    assert.match(resolv, /^nameserver 10\.43\.0\.10$/m);
    assert.match(resolv, /^options ndots:5$/m);

    const lookup = async (name: string, server = gateway) => {
      const r = await c.kubectl(['exec', 'dns-client', '--', 'timeout', '15', 'nslookup', name, server], { timeoutMs: 30_000 });
      return { ...r, addresses: answerAddresses(r.stdout) };
    };
    assert.deepEqual((await lookup('kubernetes.default.svc.cluster.local')).addresses, ['10.43.0.1']);
    assert.deepEqual((await lookup('web.default.svc.cluster.local')).addresses, [web.spec.clusterIP]);
    const headless = await c.waitFor('the headless Service to list the pod', async () => {
      const r = await lookup('db.default.svc.cluster.local');
      return r.addresses.length > 0 && r;
    });
    assert.deepEqual(headless.addresses, [pod.status.podIP]);
    const missing = await lookup('nothing-here.default.svc.cluster.local');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /NXDOMAIN|can't find/i);

    const outside = await lookup('www.example.test');
    assert.deepEqual(outside.addresses, [UPSTREAM_ANSWER], outside.stdout + outside.stderr);
    assert.ok(upstreamQuestions.some((q) => q.startsWith('www.example.test ')), `upstream saw: ${upstreamQuestions.join(', ')}`);
  });

  it('through the kube-dns ClusterIP (DNAT by the service proxy to this node), a short name resolves by the search path', async () => {
    const c = cluster();
    const web = await c.get(['svc', 'web']);
    // No server named: busybox asks the resolv.conf nameserver, 10.43.0.10, trying each search domain
    // (it exits 1 because the later ones are NXDOMAIN; the first, default.svc.cluster.local, answers).
    const r = await c.kubectl(['exec', 'dns-client', '--', 'timeout', '15', 'nslookup', 'web'], { timeoutMs: 30_000 });
    assert.match(r.stdout, /^Server:\s+10\.43\.0\.10$/m);
    assert.match(r.stdout, /^Name:\s+web\.default\.svc\.cluster\.local$/m);
    assert.deepEqual(answerAddresses(r.stdout), [web.spec.clusterIP], r.stdout + r.stderr);
  });

  it('answers on the gateway only, not on the node address', async () => {
    const c = cluster();
    const r = await c.kubectl(['exec', 'dns-client', '--', 'timeout', '10', 'nslookup', 'kubernetes.default.svc.cluster.local', c.host.nodeIp], { timeoutMs: 30_000 });
    assert.notEqual(r.code, 0, r.stdout);
    assert.deepEqual(answerAddresses(r.stdout), []);
  });

  it('serves again after a hard restart of the server and its agent, with the same kube-dns Service', async () => {
    const c = cluster();
    const before = await c.get(['svc', 'kube-dns', '-n', 'kube-system']);
    await c.restartServer({ hard: true });
    const after = await c.get(['svc', 'kube-dns', '-n', 'kube-system']);
    assert.equal(after.metadata.uid, before.metadata.uid);
    assert.equal(after.spec.clusterIP, '10.43.0.10');
    const answer = await c.waitFor('DNS on the gateway after the restart', async () => {
      const r = await c.kubectl(['exec', 'dns-client', '--', 'timeout', '5', 'nslookup', 'kubernetes.default.svc.cluster.local', gateway], { timeoutMs: 20_000 });
      return answerAddresses(r.stdout).length > 0 && answerAddresses(r.stdout);
    }, { timeoutMs: 60_000 });
    assert.deepEqual(answer, ['10.43.0.1']);
  });
});
