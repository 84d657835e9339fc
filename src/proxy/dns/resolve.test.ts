import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Answer } from 'dns-packet';
import { createFakeView, service, slice, type FakeCluster } from './fake-view.ts';
import { addressFromReverseName, normalizeIp, parseClusterName } from './names.ts';
import { resolveQuestion, type AnswerResolution, type PodMode } from './resolve.ts';

const cluster: FakeCluster = {
  namespaces: ['default', 'db', 'kube-system'],
  services: [
    service('default', 'web', { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
    service('default', 'dual', { clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11', 'fd00::11'], ports: [{ port: 80 }] }),
    service('db', 'pg', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
    service('db', 'empty', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
    service('default', 'ext', { type: 'ExternalName', externalName: 'example.com.' }),
    service('default', 'alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
    service('kube-system', 'kube-dns', { clusterIP: '10.96.0.2', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
  ],
  slices: [
    slice({
      namespace: 'db', service: 'pg', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.5'], hostname: 'pg-0' },
        { addresses: ['10.244.0.6'], hostname: 'pg-1' },
        { addresses: ['10.244.0.7'] },
        { addresses: ['10.244.0.8'], hostname: 'pg-3', ready: false },
      ],
    }),
    slice({ namespace: 'db', service: 'empty', endpoints: [{ addresses: ['10.244.1.1'], ready: false }] }),
  ],
  pods: [{ metadata: { namespace: 'default', name: 'p' }, status: { podIP: '10.244.2.2' } }],
};

function ask(name: string, type: string, options: { podMode?: PodMode; cluster?: FakeCluster } = {}) {
  return resolveQuestion(
    { view: createFakeView(options.cluster ?? cluster), zone: 'cluster.local', ttlSeconds: 5, podMode: options.podMode ?? 'insecure', nameserverAddresses: () => ['10.96.0.2'] },
    { name, type: type as 'A' },
  );
}

function answered(name: string, type: string, options?: Parameters<typeof ask>[2]): AnswerResolution {
  const result = ask(name, type, options);
  assert.equal(result.kind, 'answer', `${name} ${type} should be answered locally`);
  return result as AnswerResolution;
}

const data = (answers: Answer[]) => answers.map((a) => (a as { data: unknown }).data);

function assertNxdomain(name: string, type = 'A', options?: Parameters<typeof ask>[2]) {
  const result = answered(name, type, options);
  assert.equal(result.rcode, 'NXDOMAIN', `${name} ${type}`);
  assert.deepEqual(result.answers, []);
  assert.equal(result.authorities[0]?.type, 'SOA');
}

function assertNodata(name: string, type: string) {
  const result = answered(name, type);
  assert.equal(result.rcode, 'NOERROR', `${name} ${type}`);
  assert.deepEqual(result.answers, []);
  assert.equal(result.authorities[0]?.type, 'SOA');
}

describe('cluster dns resolution', () => {
  it('answers a ClusterIP service with its ClusterIP, TTL 5, case-insensitively', () => {
    const result = answered('WEB.Default.svc.Cluster.Local', 'A');
    assert.equal(result.rcode, 'NOERROR');
    assert.deepEqual(result.answers, [{ name: 'WEB.Default.svc.Cluster.Local', type: 'A', class: 'IN', ttl: 5, data: '10.96.0.10' }]);
  });

  it('answers dual-stack services per family and NODATA for a missing family', () => {
    assert.deepEqual(data(answered('dual.default.svc.cluster.local', 'AAAA').answers), ['fd00::11']);
    assert.deepEqual(data(answered('dual.default.svc.cluster.local', 'A').answers), ['10.96.0.11']);
    assertNodata('web.default.svc.cluster.local', 'AAAA');
    assertNodata('web.default.svc.cluster.local', 'TXT');
  });

  it('answers a headless service with its ready endpoint addresses', () => {
    assert.deepEqual(data(answered('pg.db.svc.cluster.local', 'A').answers).sort(), ['10.244.0.5', '10.244.0.6', '10.244.0.7']);
    // Only not-ready endpoints: the name has no records at all (CoreDNS answers NXDOMAIN).
    assertNxdomain('empty.db.svc.cluster.local');
  });

  it('answers SRV for named ports of ClusterIP services, with the service as target and glue', () => {
    const result = answered('_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(data(result.answers), [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
    assert.deepEqual(result.additionals.map((a) => [a.name, a.type, (a as { data: string }).data]), [['web.default.svc.cluster.local', 'A', '10.96.0.10']]);
    assert.deepEqual(data(answered('_dns._udp.web.default.svc.cluster.local', 'SRV').answers).map((d) => (d as { port: number }).port), [53]);
    // A port with another protocol, or an unknown port: no such name.
    assertNxdomain('_dns._tcp.web.default.svc.cluster.local', 'SRV');
    assertNxdomain('_nope._tcp.web.default.svc.cluster.local', 'SRV');
    // The bare service name lists every port.
    assert.equal(answered('web.default.svc.cluster.local', 'SRV').answers.length, 2);
  });

  it('answers SRV for headless services with one target per endpoint', () => {
    const result = answered('_pg._tcp.pg.db.svc.cluster.local', 'SRV');
    const targets = data(result.answers).map((d) => (d as { target: string; port: number; weight: number }));
    assert.deepEqual(targets.map((t) => t.target).sort(), ['10-244-0-7.pg.db.svc.cluster.local', 'pg-0.pg.db.svc.cluster.local', 'pg-1.pg.db.svc.cluster.local']);
    assert.ok(targets.every((t) => t.port === 5432 && t.weight === 33));
    assert.equal(result.additionals.length, 3);
  });

  it('answers endpoint hostnames (StatefulSet pods) and dashed addresses', () => {
    assert.deepEqual(data(answered('pg-1.pg.db.svc.cluster.local', 'A').answers), ['10.244.0.6']);
    assert.deepEqual(data(answered('10-244-0-7.pg.db.svc.cluster.local', 'A').answers), ['10.244.0.7']);
    assertNxdomain('pg-3.pg.db.svc.cluster.local'); // not ready
    assertNxdomain('pg-9.pg.db.svc.cluster.local');
  });

  it('answers pod records by mode', () => {
    assert.deepEqual(data(answered('10-244-9-9.default.pod.cluster.local', 'A').answers), ['10.244.9.9']);
    assertNodata('10-244-9-9.default.pod.cluster.local', 'AAAA');
    assert.deepEqual(data(answered('fd00--1.default.pod.cluster.local', 'AAAA').answers), ['fd00::1']);
    assertNxdomain('not-an-ip.default.pod.cluster.local');
    assertNxdomain('10-244-9-9.nowhere.pod.cluster.local');
    assertNxdomain('10-244-9-9.default.pod.cluster.local', 'A', { podMode: 'verified' });
    assert.deepEqual(data(answered('10-244-2-2.default.pod.cluster.local', 'A', { podMode: 'verified' }).answers), ['10.244.2.2']);
    assertNxdomain('10-244-2-2.db.pod.cluster.local', 'A', { podMode: 'verified' });
    assertNxdomain('10-244-2-2.default.pod.cluster.local', 'A', { podMode: 'disabled' });
  });

  it('answers ExternalName services with a CNAME, chasing in-zone targets and asking upstream for others', () => {
    const external = answered('ext.default.svc.cluster.local', 'A');
    assert.deepEqual(external.answers.map((a) => [a.type, (a as { data: string }).data]), [['CNAME', 'example.com']]);
    assert.deepEqual(external.chase, { name: 'example.com', type: 'A' });
    assert.deepEqual(data(answered('ext.default.svc.cluster.local', 'CNAME').answers), ['example.com']);
    assertNodata('ext.default.svc.cluster.local', 'SRV');
    const alias = answered('alias.default.svc.cluster.local', 'A');
    assert.deepEqual(alias.answers.map((a) => [a.name, a.type, (a as { data: string }).data]), [
      ['alias.default.svc.cluster.local', 'CNAME', 'web.default.svc.cluster.local'],
      ['web.default.svc.cluster.local', 'A', '10.96.0.10'],
    ]);
    assert.equal(alias.chase, undefined);
  });

  it('tells NXDOMAIN from NODATA as CoreDNS does', () => {
    assertNxdomain('missing.default.svc.cluster.local');
    assertNxdomain('web.nowhere.svc.cluster.local');
    assertNxdomain('foo.cluster.local');
    assertNxdomain('a.b.c.web.default.svc.cluster.local');
    // Names a search path produces from a full name.
    assertNxdomain('web.default.svc.cluster.local.default.svc.cluster.local');
    assertNxdomain('web.default.svc.cluster.local.svc.cluster.local');
    assertNxdomain('web.default.svc.cluster.local.cluster.local');
    assertNodata('default.svc.cluster.local', 'A');
    assertNodata('cluster.local', 'A');
  });

  it('answers SERVFAIL instead of NXDOMAIN before the caches synced', () => {
    const result = answered('missing.default.svc.cluster.local', 'A', { cluster: { ...cluster, synced: false } });
    assert.equal(result.rcode, 'SERVFAIL');
  });

  it('serves the zone apex: SOA, NS with glue, dns-version', () => {
    const soa = answered('cluster.local', 'SOA');
    assert.deepEqual(data(soa.answers), [{ mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1_700_000_000, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 }]);
    const ns = answered('cluster.local', 'NS');
    assert.deepEqual(data(ns.answers), ['ns.dns.cluster.local']);
    assert.deepEqual(data(ns.additionals), ['10.96.0.2']);
    assert.deepEqual(data(answered('ns.dns.cluster.local', 'A').answers), ['10.96.0.2']);
    assert.deepEqual(data(answered('dns-version.cluster.local', 'TXT').answers), ['1.1.0']);
    assert.equal(answered('cluster.local', 'AXFR').rcode, 'REFUSED');
  });

  it('answers PTR for ClusterIPs and ready endpoints, and leaves other reverse names to upstream', () => {
    assert.deepEqual(data(answered('10.0.96.10.in-addr.arpa', 'PTR').answers), ['web.default.svc.cluster.local']);
    assert.deepEqual(data(answered('5.0.244.10.IN-ADDR.ARPA', 'PTR').answers), ['pg-0.pg.db.svc.cluster.local']);
    assert.deepEqual(data(answered('7.0.244.10.in-addr.arpa', 'PTR').answers), ['10-244-0-7.pg.db.svc.cluster.local']);
    const v6 = '1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa'; // fd00::11
    assert.deepEqual(data(answered(v6, 'PTR').answers), ['dual.default.svc.cluster.local']);
    assert.deepEqual(ask('8.0.244.10.in-addr.arpa', 'PTR'), { kind: 'forward' }); // not ready
    assert.deepEqual(ask('1.1.1.1.in-addr.arpa', 'PTR'), { kind: 'forward' });
    assert.deepEqual(ask('example.com', 'A'), { kind: 'forward' });
  });
});

describe('cluster dns names', () => {
  it('parses the spec layout', () => {
    assert.deepEqual(parseClusterName('_http._tcp.web.default.svc.cluster.local', 'cluster.local'), { kind: 'svc', namespace: 'default', name: 'web', port: 'http', protocol: 'tcp' });
    assert.deepEqual(parseClusterName('pg-0.pg.db.svc.cluster.local', 'cluster.local'), { kind: 'svc', namespace: 'db', name: 'pg', endpoint: 'pg-0' });
    assert.deepEqual(parseClusterName('x.cluster.local', 'cluster.local'), { kind: 'invalid' });
  });

  it('reads reverse names and normalizes IPv6', () => {
    assert.equal(addressFromReverseName('4.3.2.1.in-addr.arpa'), '1.2.3.4');
    assert.equal(addressFromReverseName('3.2.1.in-addr.arpa'), undefined);
    assert.equal(normalizeIp('FD00:0:0:0:0:0:0:11'), 'fd00::11');
    assert.equal(normalizeIp('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
    assert.equal(normalizeIp('::1'), '::1');
  });
});
