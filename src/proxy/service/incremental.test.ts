import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderDelta } from './delta.ts';
import { IncrementalRenderer } from './incremental.ts';
import { buildModel, type EndpointSlice, type Service } from './model.ts';
import { applyInFreshNetns } from './nft-testing.ts';
import { renderRuleset, type RulesetState } from './render.ts';

const NODE = 'node-a';
const OPTIONS = { nodeIps: ['192.0.2.10'], clusterCidr: '10.42.0.0/16' };
let version = 0;
const nextVersion = () => String(++version);

const svc = (name: string, ip: string, extra: Service['spec'] = {}): Service => ({
  metadata: { name, namespace: 'default', resourceVersion: nextVersion() }, spec: { clusterIP: ip, ports: [{ port: 80 }], ...extra },
});
const slice = (service: string, ips: string[]): EndpointSlice => ({
  metadata: { name: `${service}-1`, namespace: 'default', resourceVersion: nextVersion(), labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4', ports: [{ port: 8080 }],
  endpoints: ips.map((ip, i) => ({ addresses: [ip], conditions: { ready: true }, nodeName: i === 0 ? NODE : 'node-b' })),
});

const whole = (services: Service[], slices: EndpointSlice[]) => renderRuleset(buildModel({ services, slices, nodeName: NODE }), OPTIONS);

/** Chains, sets and map elements as sorted plain data (order inside a Map is not part of the table). */
const plain = (state: RulesetState) => ({
  chains: [...state.chains].sort(([a], [b]) => a.localeCompare(b)),
  sets: [...state.sets].sort(([a], [b]) => a.localeCompare(b)),
  maps: [...state.maps].map(([name, elements]) => [name, [...elements].sort(([a], [b]) => a.localeCompare(b))]),
});

describe('IncrementalRenderer', () => {
  const a = svc('a', '10.43.0.1');
  const b = svc('b', '10.43.0.2', { externalIPs: ['198.51.100.7'] });
  const sticky = svc('sticky', '10.43.0.4', { sessionAffinity: 'ClientIP' });
  const sliceA = slice('a', ['10.42.0.5', '10.42.1.6']);
  const sliceB = slice('b', ['10.42.0.7']);
  const sliceSticky = slice('sticky', ['10.42.0.9']);

  it('a slice change re-renders only its service, and the table equals a whole rendering', () => {
    const renderer = new IncrementalRenderer({ ...OPTIONS, nodeName: NODE });
    const first = renderer.update([a, b, sticky], [sliceA, sliceB, sliceSticky]);
    assert.equal(first.changedServices, 3);
    assert.deepEqual(plain(first.state), plain(whole([a, b, sticky], [sliceA, sliceB, sliceSticky]).state));
    const stickyChains = [...first.state.chains].filter(([name]) => name.includes('/sticky/'));

    assert.equal(renderer.update([a, b, sticky], [sliceA, sliceB, sliceSticky]).delta(), '', 'nothing changed: nothing to do');

    const sliceA2 = slice('a', ['10.42.0.5', '10.42.1.6', '10.42.0.8']);
    const second = renderer.update([a, b, sticky], [sliceA2, sliceB, sliceSticky]);
    assert.equal(second.changedServices, 1);
    assert.deepEqual(second.before.map((p) => p.id), ['default/a:/tcp']);
    assert.deepEqual(second.after.map((p) => p.id), ['default/a:/tcp']);
    // The other services' rendered chains are the cached ones, not re-rendered copies.
    for (const [name, rules] of stickyChains) assert.equal(second.state.chains.get(name), rules);
    const lines = second.delta()!.trim().split('\n');
    assert.ok(lines.every((line) => !line.includes('/sticky/') && !line.includes('/b/')), lines.join('\n'));
    assert.ok(lines.some((line) => line.includes('10.42.0.8')));
    assert.deepEqual(plain(second.state), plain(whole([a, b, sticky], [sliceA2, sliceB, sliceSticky]).state));

    // A new resourceVersion with the same content re-renders that service (and finds nothing to apply).
    const sameAgain = { ...sliceB, metadata: { ...sliceB.metadata, resourceVersion: nextVersion() } };
    const third = renderer.update([a, b, sticky], [sliceA2, sameAgain, sliceSticky]);
    assert.equal(third.changedServices, 1);
    assert.equal(third.delta(), '');
  });

  it('services added, removed and claiming one address: the same table as a whole rendering, also in nft', () => {
    const renderer = new IncrementalRenderer({ ...OPTIONS, nodeName: NODE });
    const start = renderer.update([a, b, sticky], [sliceA, sliceB, sliceSticky]);
    const startText = start.fullText();
    // b goes; c and aa claim b's external address (aa, first by name, keeps it); d is new, without endpoints.
    const c = svc('c', '10.43.0.3', { externalIPs: ['198.51.100.7'] });
    const earlier = svc('aa', '10.43.0.6', { externalIPs: ['198.51.100.7'] });
    const d = svc('d', '10.43.0.5');
    const services = [a, earlier, c, d, sticky];
    const slices = [sliceA, slice('c', ['10.42.0.10']), slice('aa', ['10.42.0.11']), sliceSticky];
    const next = renderer.update(services, slices);
    assert.equal(next.changedServices, 4);
    const expected = whole(services, slices);
    assert.deepEqual(plain(next.state), plain(expected.state));
    assert.deepEqual(next.conflicts, ['198.51.100.7 . tcp . 80 (default/c:/tcp)']);
    assert.equal(next.rules, expected.rules);
    assert.equal(next.chains, expected.chains);
    assert.equal(next.elements, expected.elements);
    assert.equal(next.servicePorts, 5);
    const delta = next.delta()!;
    assert.ok(!delta.includes('/sticky/'));
    assert.equal(renderDelta(start.state, next.state), '', 'the state object is the renderer\'s own, changed in place');
    if (process.getuid?.() === 0) {
      assert.deepEqual(applyInFreshNetns(startText), applyInFreshNetns(whole([a, b, sticky], [sliceA, sliceB, sliceSticky]).text));
      assert.deepEqual(applyInFreshNetns(startText, delta), applyInFreshNetns(expected.text));
    }
  });
});
