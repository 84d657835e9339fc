// Endpoints subsets on in-memory objects: readiness, named ports, repacking,
// headless services, truncation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../framework/types.ts';
import type { Service } from '../endpointslice/pod-endpoints.ts';
import { computeSubsets, repackSubsets, truncateSubsets, type EndpointSubset } from './subsets.ts';

const service = (spec: Service['spec'] = {}): Service => ({
  metadata: { name: 'web', namespace: 'ns', uid: 'svc' },
  spec: { selector: { app: 'web' }, clusterIP: '10.43.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }], ...spec },
});

function pod(name: string, ip: string, options: { ready?: boolean; terminating?: boolean; webPort?: number; hostname?: string; subdomain?: string } = {}): Pod {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...(options.terminating ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: 'n1', hostname: options.hostname, subdomain: options.subdomain, containers: [{ ports: options.webPort ? [{ name: 'web', containerPort: options.webPort }] : [] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

const ips = (list: { ip: string }[] | undefined) => (list ?? []).map((a) => a.ip);

describe('computeSubsets', () => {
  it('ready and not-ready addresses with the named port resolved; terminating pods left out', () => {
    const { subsets } = computeSubsets(service(), [
      pod('a', '10.0.0.2', { webPort: 8080 }), pod('b', '10.0.0.1', { webPort: 8080 }), pod('c', '10.0.0.3', { webPort: 8080, ready: false }),
      pod('d', '10.0.0.4', { webPort: 8080, terminating: true }), pod('e', '10.0.0.5'),
    ]);
    assert.equal(subsets.length, 1);
    assert.deepEqual(ips(subsets[0].addresses), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(ips(subsets[0].notReadyAddresses), ['10.0.0.3']);
    assert.deepEqual(subsets[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(subsets[0].addresses![0], { ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'b', uid: 'uid-b' } });
  });

  it('pods resolving the port differently get their own subsets', () => {
    const { subsets } = computeSubsets(service(), [pod('a', '10.0.0.1', { webPort: 8080 }), pod('b', '10.0.0.2', { webPort: 9000 })]);
    assert.deepEqual(subsets.map((s) => [ips(s.addresses), s.ports!.map((p) => p.port)]), [[['10.0.0.1'], [8080]], [['10.0.0.2'], [9000]]]);
  });

  it('publishNotReadyAddresses: every pod, terminating ones too, as ready', () => {
    const { subsets } = computeSubsets(service({ publishNotReadyAddresses: true, ports: [{ port: 80, targetPort: 80 }] }), [
      pod('a', '10.0.0.1', { ready: false }), pod('b', '10.0.0.2', { terminating: true }),
    ]);
    assert.deepEqual(ips(subsets[0].addresses), ['10.0.0.1', '10.0.0.2']);
    assert.equal(subsets[0].notReadyAddresses, undefined);
  });

  it('headless without ports: bare addresses with hostnames', () => {
    const { subsets } = computeSubsets(service({ clusterIP: 'None', ports: [] }), [pod('web-0', '10.0.0.1', { hostname: 'web-0', subdomain: 'web' })]);
    assert.deepEqual(subsets, [{ addresses: [{ ip: '10.0.0.1', hostname: 'web-0', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'web-0', uid: 'uid-web-0' } }] }]);
  });
});

describe('repackSubsets and truncateSubsets', () => {
  it('addresses offering the same ports share a subset; ready wins over not ready', () => {
    const a = { ip: '10.0.0.1' };
    const b = { ip: '10.0.0.2' };
    const p80 = { name: 'a', port: 80, protocol: 'TCP' };
    const p81 = { name: 'b', port: 81, protocol: 'TCP' };
    const packed = repackSubsets([
      { addresses: [a], ports: [p80] }, { addresses: [a], ports: [p81] }, { addresses: [b], ports: [p80] }, { notReadyAddresses: [a], ports: [p80] },
    ]);
    assert.deepEqual(packed, [
      { addresses: [a, b], ports: [p80] },
      { addresses: [a], ports: [p81] },
    ]);
  });

  it('truncates to the capacity in proportion, ready addresses first', () => {
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ ip: `${prefix}.${i >> 8}.${i & 255}` }));
    const subsets: EndpointSubset[] = [
      { addresses: many('10.1', 900), notReadyAddresses: many('10.2', 100), ports: [{ port: 80 }] },
      { addresses: many('10.3', 300), ports: [{ port: 81 }] },
    ];
    const cut = truncateSubsets(subsets, 1000)!;
    assert.deepEqual(cut.map((s) => [s.addresses?.length ?? 0, s.notReadyAddresses?.length ?? 0]), [[750, 0], [250, 0]]);
    const notReadyCut = truncateSubsets([{ addresses: many('10.1', 800), notReadyAddresses: many('10.2', 400), ports: [{ port: 80 }] }], 1000)!;
    assert.deepEqual(notReadyCut.map((s) => [s.addresses!.length, s.notReadyAddresses!.length]), [[800, 200]]);
    assert.equal(truncateSubsets(subsets, 2000), undefined);
  });
});
