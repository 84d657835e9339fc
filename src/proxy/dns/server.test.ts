import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import { createFakeView, service, slice } from './fake-view.ts';
import { startClusterDns, type ClusterDns } from './server.ts';

let nextId = 1;
const query = (name: string, type: string, edns = false): Packet => ({
  type: 'query', id: nextId++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A', class: 'IN' }],
  additionals: edns ? [{ name: '.', type: 'OPT', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as never] : [],
});

function askUdp(port: number, packet: Packet): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => { socket.close(); reject(new Error('udp query timed out')); }, 10_000);
    socket.on('message', (reply) => { clearTimeout(timer); socket.close(); resolve(dnsPacket.decode(reply)); });
    socket.send(dnsPacket.encode(packet), port, '127.0.0.1');
  });
}

function askTcp(port: number, packet: Packet): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buffered = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error('tcp query timed out')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        socket.destroy();
        resolve(dnsPacket.decode(buffered.subarray(2, 2 + buffered.readUInt16BE(0))));
      }
    });
    socket.write(dnsPacket.streamEncode(packet));
  });
}

const rcodeOf = (reply: DecodedPacket) => (reply as unknown as { rcode: string }).rcode;
const addresses = (reply: DecodedPacket) => (reply.answers ?? []).map((a) => (a as { data: string }).data).sort();

/** A stand-in for the node's resolver: answers every A question with 192.0.2.1 (UDP and TCP). */
async function startFakeUpstream(): Promise<{ port: number; questions: string[]; close(): Promise<void> }> {
  const questions: string[] = [];
  const answer = (raw: Buffer) => {
    const request = dnsPacket.decode(raw);
    const name = request.questions![0].name;
    questions.push(name);
    return dnsPacket.encode({ type: 'response', id: request.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: request.questions, answers: [{ name, type: 'A', ttl: 60, data: '192.0.2.1' }] });
  };
  const udp = createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  udp.on('message', (raw, remote) => udp.send(answer(raw), remote.port, remote.address));
  return {
    port: udp.address().port,
    questions,
    close: () => new Promise((resolve) => udp.close(() => resolve())),
  };
}

describe('cluster dns server', () => {
  let dns: ClusterDns;
  let upstream: Awaited<ReturnType<typeof startFakeUpstream>>;
  const manyEndpoints = Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.3.${i + 1}`] }));

  before(async () => {
    upstream = await startFakeUpstream();
    const view = createFakeView({
      namespaces: ['default'],
      services: [
        service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] }),
        service('default', 'big', { clusterIP: 'None', ports: [{ port: 80 }] }),
        service('default', 'ext', { type: 'ExternalName', externalName: 'example.org' }),
      ],
      slices: [slice({ namespace: 'default', service: 'big', ports: [{ port: 80 }], endpoints: manyEndpoints })],
    });
    dns = await startClusterDns({ view, host: '127.0.0.1', port: 0, upstreams: [{ host: '127.0.0.1', port: upstream.port }], upstreamTimeoutMs: 5000 });
  });

  after(async () => {
    await dns?.close();
    await upstream?.close();
  });

  it('answers cluster names over UDP and TCP, authoritatively', async () => {
    for (const ask of [askUdp, askTcp]) {
      const reply = await ask(dns.port, query('web.default.svc.cluster.local', 'A'));
      assert.equal(rcodeOf(reply), 'NOERROR');
      assert.equal(reply.flag_aa, true);
      assert.deepEqual(addresses(reply), ['10.96.0.10']);
      assert.equal(reply.answers![0].type === 'A' && reply.answers![0].ttl, 5);
    }
  });

  it('answers NXDOMAIN with the SOA in authority', async () => {
    const reply = await askUdp(dns.port, query('web.default.svc.cluster.local.default.svc.cluster.local', 'A'));
    assert.equal(rcodeOf(reply), 'NXDOMAIN');
    assert.equal(reply.authorities?.[0]?.type, 'SOA');
  });

  it('truncates large UDP answers (TC) and gives them whole over TCP', async () => {
    const udp = await askUdp(dns.port, query('big.default.svc.cluster.local', 'A'));
    assert.equal(udp.flag_tc, true);
    assert.ok(udp.answers!.length < manyEndpoints.length);
    const edns = await askUdp(dns.port, query('big.default.svc.cluster.local', 'A', true));
    assert.equal(edns.flag_tc, false);
    assert.equal(edns.answers!.length, manyEndpoints.length);
    const tcp = await askTcp(dns.port, query('big.default.svc.cluster.local', 'A'));
    assert.equal(tcp.flag_tc, false);
    assert.equal(tcp.answers!.length, manyEndpoints.length);
  });

  it('forwards names outside the zone to the upstream resolver', async () => {
    const reply = await askUdp(dns.port, query('www.example.com', 'A'));
    assert.equal(rcodeOf(reply), 'NOERROR');
    assert.deepEqual(addresses(reply), ['192.0.2.1']);
    assert.ok(upstream.questions.includes('www.example.com'));
  });

  it('follows an ExternalName target through upstream', async () => {
    const reply = await askUdp(dns.port, query('ext.default.svc.cluster.local', 'A'));
    assert.deepEqual(reply.answers!.map((a) => [a.type, (a as { data: string }).data]), [['CNAME', 'example.org'], ['A', '192.0.2.1']]);
  });

  it('answers SERVFAIL when no upstream answers', async () => {
    const lonely = await startClusterDns({ view: createFakeView({ namespaces: [] }), host: '127.0.0.1', port: 0, upstreams: [] });
    try {
      assert.equal(rcodeOf(await askUdp(lonely.port, query('www.example.com', 'A'))), 'SERVFAIL');
    } finally {
      await lonely.close();
    }
  });
});
