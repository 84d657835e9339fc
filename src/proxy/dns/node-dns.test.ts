import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import { startInProcessServer, type InProcessServer } from '../../../test/support/in-process-server.ts';
import { isNotFound, resources, type ApiClient, type KubeObject } from '../../client/interface.ts';
import { createRestClient } from '../../client/rest-client.ts';
import { waitFor } from '../../util/wait-for.ts';
import { connect } from 'node:net';
import { createFakeView, service } from './fake-view.ts';
import {
  clusterDnsAddresses, inIpv4Cidr, nodeClientFilter, nodeDnsEndpointSlice, nodeDnsSliceName, publishNodeDnsSlice, sliceUpToDate, startNodeDns,
} from './node-dns.ts';
import { startClusterDns } from './server.ts';

const slices = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespace: 'kube-system' } as const;

describe('node dns: slice builder', () => {
  it('builds kube-dns-<node> with the service-name and managed-by labels, the Node as owner, dns and dns-tcp ports', () => {
    const slice = nodeDnsEndpointSlice({ nodeName: 'n1', nodeUid: 'uid-1', address: '10.42.0.1', port: 53 });
    assert.equal(slice.metadata.name, 'kube-dns-n1');
    assert.equal(slice.metadata.namespace, 'kube-system');
    assert.deepEqual(slice.metadata.labels, { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'skiff-agent' });
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-1' }]);
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.endpoints, [{ addresses: ['10.42.0.1'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n1' }]);
    assert.deepEqual(slice.ports, [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }]);
  });

  it('keeps long node names within 253 characters, distinct per node', () => {
    const a = nodeDnsSliceName('a'.repeat(250));
    const b = nodeDnsSliceName(`${'a'.repeat(249)}b`);
    assert.ok(a.length <= 253 && b.length <= 253);
    assert.notEqual(a, b);
    assert.match(a, /^kube-dns-a+-[0-9a-f]{10}$/);
  });

  it('sees a changed address, port or owner as stale, extra labels as fine', () => {
    const wanted = nodeDnsEndpointSlice({ nodeName: 'n1', nodeUid: 'u', address: '10.42.0.1', port: 53 });
    const withExtra: KubeObject = { ...wanted, metadata: { ...wanted.metadata, labels: { ...wanted.metadata.labels, extra: 'x' }, resourceVersion: '5' } };
    assert.equal(sliceUpToDate(withExtra, wanted), true);
    assert.equal(sliceUpToDate(nodeDnsEndpointSlice({ nodeName: 'n1', nodeUid: 'u', address: '10.42.1.1', port: 53 }), wanted), false);
    assert.equal(sliceUpToDate(nodeDnsEndpointSlice({ nodeName: 'n1', nodeUid: 'u', address: '10.42.0.1', port: 5353 }), wanted), false);
    assert.equal(sliceUpToDate(nodeDnsEndpointSlice({ nodeName: 'n1', nodeUid: 'old', address: '10.42.0.1', port: 53 }), wanted), false);
  });
});

describe('node dns: who is answered', () => {
  it('matches IPv4 CIDRs, also v4-mapped addresses', () => {
    assert.equal(inIpv4Cidr('10.42.0.7', '10.42.0.0/24'), true);
    assert.equal(inIpv4Cidr('::ffff:10.42.0.7', '10.42.0.0/24'), true);
    assert.equal(inIpv4Cidr('10.42.1.7', '10.42.0.0/24'), false);
    assert.equal(inIpv4Cidr('192.0.2.1', '0.0.0.0/0'), true);
    assert.equal(inIpv4Cidr('fe80::1', '10.42.0.0/24'), false);
  });

  it('takes the pod ranges, loopback and the node\'s own addresses, nobody else', () => {
    const allow = nodeClientFilter(['10.42.0.0/24'], () => ['192.0.2.10', '10.42.0.1']);
    for (const ok of ['10.42.0.9', '127.0.0.1', '::1', '192.0.2.10', '10.42.0.1']) assert.equal(allow(ok), true, ok);
    for (const refused of ['192.0.2.77', '10.42.1.9', '198.51.100.1']) assert.equal(allow(refused), false, refused);
  });

  it('a refused client gets no UDP answer and a closed TCP connection', async () => {
    const view = createFakeView({ namespaces: ['default'], services: [service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })], slices: [] });
    const dns = await startClusterDns({ view, host: '127.0.0.1', port: 0, upstreams: [], allowClient: () => false });
    try {
      await assert.rejects(askUdp(dns.port, 'web.default.svc.cluster.local', 500), /timed out/);
      const closed = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: dns.port });
        socket.on('data', () => resolve(false));
        socket.on('close', () => resolve(true));
        socket.on('error', () => {});
        socket.write(dnsPacket.streamEncode({ type: 'query', id: 1, questions: [{ name: 'web.default.svc.cluster.local', type: 'A', class: 'IN' }] }));
      });
      assert.equal(closed, true);
    } finally {
      await dns.close();
    }
  });
});

function askUdp(port: number, name: string, timeoutMs = 10_000): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => { socket.close(); reject(new Error('udp query timed out')); }, timeoutMs);
    socket.on('message', (reply) => { clearTimeout(timer); socket.close(); resolve(dnsPacket.decode(reply)); });
    socket.send(dnsPacket.encode({ type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A', class: 'IN' }] }), port, '127.0.0.1');
  });
}

describe('node dns: against an API server', () => {
  let server: InProcessServer;
  let client: ApiClient;

  before(async () => {
    server = await startInProcessServer();
    client = createRestClient({ server: server.url, caCert: server.caCert, token: server.token });
    for (const name of ['ndns-a', 'ndns-b']) {
      await client.create(resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
    }
  });

  after(async () => {
    await client?.close();
    await server?.close();
  });

  it('the bootstrap made kube-system/kube-dns at the tenth service address, selector-less, internalTrafficPolicy Local', async () => {
    const svc = await client.get({ ...resources.services, namespace: 'kube-system', name: 'kube-dns' });
    const spec = svc.spec as Record<string, unknown>;
    assert.equal(spec.clusterIP, '10.43.0.10');
    assert.equal(spec.selector, undefined);
    assert.equal(spec.internalTrafficPolicy, 'Local');
    assert.deepEqual((spec.ports as { name: string; port: number; protocol: string }[]).map((p) => `${p.name}/${p.port}/${p.protocol}`), ['dns/53/UDP', 'dns-tcp/53/TCP']);
    assert.equal(svc.metadata.labels?.['k8s-app'], 'kube-dns');
    assert.deepEqual(await clusterDnsAddresses({ client }), ['10.43.0.10']);
    assert.deepEqual(await clusterDnsAddresses({ client, configured: '10.0.0.10, 10.0.0.11' }), ['10.0.0.10', '10.0.0.11']);
    assert.deepEqual(await clusterDnsAddresses({ client, configured: '' }), []);
  });

  it('publishes once, corrects a changed slice, and leaves a correct one alone', async () => {
    assert.equal(await publishNodeDnsSlice({ client, nodeName: 'ndns-a', address: '10.42.0.1', port: 53 }), 'created');
    assert.equal(await publishNodeDnsSlice({ client, nodeName: 'ndns-a', address: '10.42.0.1', port: 53 }), 'unchanged');
    const node = await client.get({ ...resources.nodes, name: 'ndns-a' });
    const slice = await client.get({ ...slices, name: 'kube-dns-ndns-a' });
    assert.equal(slice.metadata.ownerReferences?.[0]?.uid, node.metadata.uid);
    await client.patch({ ...slices, name: 'kube-dns-ndns-a' }, 'merge', { endpoints: [{ addresses: ['10.42.9.9'], conditions: { ready: false } }] });
    assert.equal(await publishNodeDnsSlice({ client, nodeName: 'ndns-a', address: '10.42.0.1', port: 53 }), 'updated');
    const fixed = await client.get({ ...slices, name: 'kube-dns-ndns-a' });
    assert.deepEqual((fixed.endpoints as { addresses: string[] }[])[0].addresses, ['10.42.0.1']);
  });

  it('serves the zone on the given address only and publishes its port; stop closes the port', async () => {
    const dns = startNodeDns({ client, nodeName: 'ndns-b', address: '127.0.0.1', port: 0, upstreams: [], logger: { info() {}, warn() {} } });
    let port = 0;
    try {
      ({ port } = await dns.ready);
      const reply = await askUdp(port, 'kubernetes.default.svc.cluster.local');
      assert.deepEqual((reply.answers ?? []).map((a) => (a as { data: string }).data), ['10.43.0.1']);
      const dnsSelf = await askUdp(port, 'kube-dns.kube-system.svc.cluster.local');
      assert.deepEqual((dnsSelf.answers ?? []).map((a) => (a as { data: string }).data), ['10.43.0.10']);
      const slice = await client.get({ ...slices, name: 'kube-dns-ndns-b' });
      assert.deepEqual((slice.ports as { port: number }[]).map((p) => p.port), [port, port]);
    } finally {
      await dns.stop();
    }
    // The port is free again: a TCP listener can take it.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    await new Promise((resolve) => probe.close(resolve));
  });

  it('retries until its address exists', async () => {
    let attempts = 0;
    const dns = startNodeDns({
      client, nodeName: 'ndns-b', address: '127.0.0.1', port: 0, upstreams: [], retryMs: 20, logger: { info() {}, warn() {} },
      ensureAddress: async () => {
        if (++attempts < 3) throw new Error('no bridge yet');
      },
    });
    try {
      await dns.ready;
      assert.equal(attempts, 3);
    } finally {
      await dns.stop();
    }
  });

  it('a slice owned by a deleted Node is not recreated for it by anyone else', async () => {
    await client.delete({ ...resources.nodes, name: 'ndns-a' });
    // Without a garbage collector in this server, the slice stays; deleting it by hand stays deleted.
    await client.delete({ ...slices, name: 'kube-dns-ndns-a' });
    await waitFor('the slice gone', async () => client.get({ ...slices, name: 'kube-dns-ndns-a' }).then(() => false, (e) => isNotFound(e)));
    await assert.rejects(publishNodeDnsSlice({ client, nodeName: 'ndns-a', address: '10.42.0.1', port: 53 }), (e) => isNotFound(e));
  });
});
