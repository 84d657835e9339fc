// The service proxy end to end (issue 8): `skiff server` with its local agent
// inside a test host (node-harness.ts); the agent's proxy programs `table ip
// skiff` in the test host's netns, and traffic goes only to addresses there.
// A Deployment of two busybox httpd pods behind a Service: the ClusterIP from
// the node and from a pod (itself included: hairpin), the NodePort and an
// external IP on the node address, ClientIP affinity, a Service without
// endpoints refused at once, scaling to 0 and back, deletion; a selector-less
// Service whose EndpointSlice points at the node's bridge address; UDP through
// the kube-dns ClusterIP to the node's DNS server; and `skiff cleanup`
// removing only its own table.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { useTestHost } from '../support/test-host.ts';
import { repoRoot } from './harness.ts';
import { isRoot, NODE_NAME, useNodeCluster, type Json, type NodeCluster } from './node-harness.ts';

/** Pages fetched by `count` sequential wget runs inside the test host (bounded: 5 s each). */
async function fetchFromHost(c: NodeCluster, url: string, count: number): Promise<{ pages: string[]; errors: string[] }> {
  const script = `for i in $(seq ${count}); do timeout 5 busybox wget -qO- ${url} 2>&1 || echo "FAILED"; done`;
  const out = (await c.host.run(['sh', '-c', script], { timeoutMs: 10_000 * count })).stdout;
  const lines = out.split('\n').filter(Boolean);
  return { pages: lines.filter((l) => l.startsWith('web-')), errors: lines.filter((l) => !l.startsWith('web-')) };
}

/** The same from inside a pod, through kubectl exec. */
async function fetchFromPod(c: NodeCluster, pod: string, url: string, count: number): Promise<string[]> {
  const script = `for i in $(seq ${count}); do timeout 5 wget -qO- ${url} 2>&1 || echo FAILED; done`;
  return (await c.k(['exec', pod, '--', 'sh', '-c', script], { timeoutMs: 10_000 * count })).split('\n').filter(Boolean);
}

/** A UDP echo server (argv: address, port) and a client that prints the answer and who sent it (argv: address, port). */
const UDP_ECHO = 'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind((sys.argv[1],int(sys.argv[2])))\nwhile True:\n  d,a=s.recvfrom(512)\n  s.sendto(b"echo:"+d,a)';
const UDP_ASK = 'import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.settimeout(2)\ns.sendto(b"hello",(sys.argv[1],int(sys.argv[2])))\nd,a=s.recvfrom(512)\nprint(d.decode()+" from "+a[0]+":"+str(a[1]))';

const webDeployment = (image: string, replicas: number): Json => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{
          name: 'httpd', image,
          command: ['sh', '-c', 'hostname > /tmp/index.html; exec httpd -f -p 8080 -h /tmp'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 },
        }],
      },
    },
  },
});

describe('the service proxy (nftables) on a real node', { skip: isRoot ? false : 'needs root (netns, runc, nft)' }, () => {
  const cluster = useNodeCluster();
  let clusterIp = '';
  let nodePort = 0;
  let podNames: string[] = [];

  const nftTable = async (c: NodeCluster) => {
    const r = await c.host.run(['nft', 'list', 'table', 'ip', 'skiff']);
    return r.code === 0 ? r.stdout : '';
  };

  it('spreads ClusterIP traffic over both pods, from the node and from a pod (itself included); NodePort and an external IP on the node address', async () => {
    const c = cluster();
    await c.apply(webDeployment(c.image, 2));
    await c.apply({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
      spec: {
        type: 'NodePort', selector: { app: 'web' }, externalIPs: [c.host.nodeIp],
        ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'alt', port: 8081, targetPort: 'http' }],
      },
    });
    await c.k(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    const svc = await c.get(['service', 'web']);
    clusterIp = svc.spec.clusterIP;
    nodePort = svc.spec.ports[0].nodePort;
    podNames = ((await c.get(['pods', '-l', 'app=web'])).items as Json[]).map((p) => p.metadata.name).sort();
    assert.equal(podNames.length, 2);

    await c.waitFor('the ClusterIP to answer from the node', async () => (await fetchFromHost(c, `http://${clusterIp}/`, 1)).pages.length === 1);
    const fromHost = await fetchFromHost(c, `http://${clusterIp}/`, 24);
    assert.deepEqual(fromHost.errors, []);
    assert.deepEqual([...new Set(fromHost.pages)].sort(), podNames, 'both endpoints answer (random spreading)');

    // From a pod: both endpoints, itself among them (hairpin: masqueraded so the reply comes back through the bridge).
    const fromPod = await fetchFromPod(c, podNames[0], `http://${clusterIp}/`, 24);
    assert.deepEqual(fromPod.filter((l) => !l.startsWith('web-')), []);
    assert.deepEqual([...new Set(fromPod)].sort(), podNames);

    const viaNodePort = await fetchFromHost(c, `http://${c.host.nodeIp}:${nodePort}/`, 12);
    assert.deepEqual(viaNodePort.errors, []);
    assert.deepEqual([...new Set(viaNodePort.pages)].sort(), podNames, 'NodePort on the node address');
    const nodePortFromPod = await fetchFromPod(c, podNames[1], `http://${c.host.nodeIp}:${nodePort}/`, 4);
    assert.ok(nodePortFromPod.every((l) => l.startsWith('web-')), nodePortFromPod.join('\n'));
    // The external IP (here the node address, as the load-balancer status controller fills it in) on the service port.
    const viaExternal = await fetchFromHost(c, `http://${c.host.nodeIp}:8081/`, 4);
    assert.deepEqual(viaExternal.errors, []);

    const table = await nftTable(c);
    assert.match(table, /numgen random mod 2/);
    const tables = (await c.host.run(['nft', 'list', 'tables'])).stdout;
    assert.match(tables, /^table ip skiff$/m);
  });

  it('keeps a client on one endpoint with sessionAffinity ClientIP', async () => {
    const c = cluster();
    await c.apply({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web-sticky' },
      spec: { selector: { app: 'web' }, sessionAffinity: 'ClientIP', ports: [{ port: 80, targetPort: 'http' }] },
    });
    const ip = (await c.get(['service', 'web-sticky'])).spec.clusterIP;
    await c.waitFor('the sticky ClusterIP to answer', async () => (await fetchFromHost(c, `http://${ip}/`, 1)).pages.length === 1);
    const { pages, errors } = await fetchFromHost(c, `http://${ip}/`, 12);
    assert.deepEqual(errors, []);
    assert.equal(new Set(pages).size, 1, `one endpoint for one client: ${pages.join(' ')}`);
  });

  it('refuses connections to a Service without endpoints at once (no timeout), from the node and from a pod', async () => {
    const c = cluster();
    await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'nobody' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } });
    const ip = (await c.get(['service', 'nobody'])).spec.clusterIP;
    await c.waitFor('the empty service in the reject map', async () => (await nftTable(c)).includes(`${ip} . tcp . 80 : goto reject-chain`));
    const started = Date.now();
    const r = await c.host.run(['timeout', '10', 'busybox', 'wget', '-qO-', `http://${ip}/`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refused/i);
    assert.ok(Date.now() - started < 3_000, `refused in ${Date.now() - started} ms`);
    const fromPod = await c.kubectl(['exec', podNames[0], '--', 'sh', '-c', `timeout 10 wget -qO- http://${ip}/ 2>&1; echo "exit $?"`], { timeoutMs: 30_000 });
    assert.match(fromPod.stdout, /refused/i);
  });

  it('follows scaling to 0 (refused) and back (answers again)', async () => {
    const c = cluster();
    await c.k(['scale', 'deployment/web', '--replicas=0']);
    // (While the pods terminate they stay endpoints, serving-terminating, and refuse by themselves.)
    await c.waitFor('the ClusterIP in the reject map', async () => (await nftTable(c)).includes(`${clusterIp} . tcp . 80 : goto reject-chain`), { timeoutMs: 60_000 });
    const r = await c.host.run(['timeout', '10', 'busybox', 'wget', '-qO-', `http://${clusterIp}/`]);
    assert.ok(r.code !== 0 && /refused/i.test(r.stderr), r.stderr);
    await c.k(['scale', 'deployment/web', '--replicas=2']);
    await c.k(['rollout', 'status', 'deployment/web', '--timeout=120s'], { timeoutMs: 130_000 });
    await c.waitFor('both new pods behind the ClusterIP', async () => {
      const { pages } = await fetchFromHost(c, `http://${clusterIp}/`, 12);
      return new Set(pages).size === 2;
    }, { timeoutMs: 60_000 });
  });

  it('reaches a selector-less Service whose EndpointSlice points at the node\'s own bridge address, from the node and from a pod', async () => {
    const c = cluster();
    const node = await c.get(['node', NODE_NAME]);
    const gateway = String(node.spec.podCIDR).replace(/\.0\/\d+$/, '.1'); // the bridge's address (agent/network/bridge.ts)
    const dir = join(c.host.tempDir, 'local-www');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.html'), 'web-node-local\n');
    c.host.spawn(['busybox', 'httpd', '-f', '-p', `${gateway}:9090`, '-h', dir]);
    await c.apply({
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'node-local' },
      spec: { internalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 9090 }] },
    });
    await c.apply({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: 'node-local-1', labels: { 'kubernetes.io/service-name': 'node-local' } },
      ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
      endpoints: [{ addresses: [gateway], conditions: { ready: true }, nodeName: NODE_NAME }],
    });
    const ip = (await c.get(['service', 'node-local'])).spec.clusterIP;
    await c.waitFor('the node-local service from the node', async () => (await fetchFromHost(c, `http://${ip}/`, 1)).pages[0] === 'web-node-local');
    const fromPod = await fetchFromPod(c, (await c.get(['pods', '-l', 'app=web'])).items[0].metadata.name, `http://${ip}/`, 3);
    assert.deepEqual(fromPod, ['web-node-local', 'web-node-local', 'web-node-local']);
  });

  it('carries UDP: DNS queries from a pod to the kube-dns ClusterIP (the node\'s DNS server); datagrams from the node to a node-local endpoint', async () => {
    const c = cluster();
    const dnsIp = (await c.get(['service', 'kube-dns', '-n', 'kube-system'])).spec.clusterIP;
    const name = 'web.default.svc.cluster.local';
    const pod = (await c.get(['pods', '-l', 'app=web'])).items[0].metadata.name; // the pods since the scale test
    await c.waitFor('kube-dns to answer through the proxy from a pod', async () => {
      const r = await c.kubectl(['exec', pod, '--', 'timeout', '10', 'nslookup', name, dnsIp], { timeoutMs: 30_000 });
      return r.stdout.includes(clusterIp);
    }, { timeoutMs: 60_000 });

    // From the node (output chain): a UDP echo on the bridge address behind a selector-less Service.
    const gateway = String((await c.get(['node', NODE_NAME])).spec.podCIDR).replace(/\.0\/\d+$/, '.1');
    c.host.spawn(['python3', '-c', UDP_ECHO, gateway, '5354']);
    await c.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'udp-echo' }, spec: { ports: [{ name: 'echo', port: 5300, protocol: 'UDP' }] } });
    await c.apply({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', addressType: 'IPv4',
      metadata: { name: 'udp-echo-1', labels: { 'kubernetes.io/service-name': 'udp-echo' } },
      ports: [{ name: 'echo', port: 5354, protocol: 'UDP' }],
      endpoints: [{ addresses: [gateway], conditions: { ready: true }, nodeName: NODE_NAME }],
    });
    const ip = (await c.get(['service', 'udp-echo'])).spec.clusterIP;
    await c.waitFor('a datagram echoed through the ClusterIP', async () => {
      const r = await c.host.run(['python3', '-c', UDP_ASK, ip, '5300'], { timeoutMs: 10_000 });
      return r.stdout.trim() === `echo:hello from ${ip}:5300`;
    });
  });

  it('removes a deleted Service\'s rules', async () => {
    const c = cluster();
    assert.ok((await nftTable(c)).includes(`${clusterIp} . tcp . 80 : goto service-`));
    await c.k(['delete', 'service', 'web']);
    await c.waitFor('the rules of web to go', async () => {
      const table = await nftTable(c);
      return table !== '' && !table.includes(clusterIp) && !table.includes('default/web/') && !table.includes(`${nodePort} :`);
    });
    const r = await c.host.run(['timeout', '10', 'busybox', 'wget', '-qO-', `http://${c.host.nodeIp}:${nodePort}/`]);
    assert.notEqual(r.code, 0, 'the NodePort no longer answers');
  });
});

describe('skiff cleanup and the service proxy\'s table', { skip: isRoot ? false : 'needs root (netns, nft)' }, () => {
  const host = useTestHost();

  it('deletes table ip skiff and nothing else', async () => {
    const h = host();
    const setup = await h.run(['nft', '-f', '-'], { input: 'table ip skiff {\n  chain x {\n  }\n}\ntable ip keep-me {\n  chain y {\n  }\n}\ntable inet skiff {\n}\n' });
    assert.equal(setup.code, 0, setup.stderr);
    const result = await h.run([join(repoRoot, 'bin/skiff'), 'cleanup', '--data-dir', join(h.tempDir, 'data')]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /removed nft table ip skiff/);
    const tables = (await h.run(['nft', 'list', 'tables'])).stdout.trim().split('\n').sort();
    assert.deepEqual(tables, ['table inet skiff', 'table ip keep-me']);
  });
});
