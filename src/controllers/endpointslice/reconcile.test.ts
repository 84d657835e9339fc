// The EndpointSlice plan on in-memory objects: conditions, named ports,
// hostnames, slicing at the maximum, reuse and minimal churn.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../framework/types.ts';
import { findPort, servicesToUpdateOnPodChange, type Service } from './pod-endpoints.ts';
import { planSlices, type SlicePlan } from './reconcile.ts';
import type { EndpointSlice, Node } from './slices.ts';
import { formatTriggerTime, TriggerTimeTracker } from './trigger-time.ts';

const service = (spec: Service['spec'] = {}, name = 'web'): Service => ({
  apiVersion: 'v1', kind: 'Service',
  metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { team: 'a' }, creationTimestamp: '2024-01-01T00:00:00Z' },
  spec: { selector: { app: 'web' }, clusterIP: '10.43.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...spec },
});

let ipCounter = 0;
function pod(name: string, options: { ready?: boolean; terminating?: boolean; ip?: string | null; node?: string; ports?: { name: string; containerPort: number }[]; hostname?: string; subdomain?: string; phase?: string } = {}): Pod {
  const ip = options.ip === null ? undefined : options.ip ?? `10.42.0.${++ipCounter}`;
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'web' }, resourceVersion: '1', ...(options.terminating ? { deletionTimestamp: '2024-01-01T00:00:05Z' } : {}) },
    spec: { nodeName: options.node ?? 'node-a', hostname: options.hostname, subdomain: options.subdomain, containers: [{ name: 'c', ports: options.ports ?? [] }] },
    status: {
      phase: options.phase ?? 'Running', ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-01T00:00:03Z' }],
    },
  };
}

const nodes: Record<string, Node> = {
  'node-a': { metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } } },
  'node-b': { metadata: { name: 'node-b' } },
};
const nodeByName = (name: string) => nodes[name];

/** The slices after applying a plan, with names and versions as a server would give them. */
let created = 0;
function apply(existing: EndpointSlice[], plan: SlicePlan): EndpointSlice[] {
  const updated = new Map(plan.update.map((s) => [s.metadata.name, s]));
  const deleted = new Set(plan.delete.map((s) => s.metadata.name));
  const kept = existing.filter((s) => !deleted.has(s.metadata.name)).map((s) => updated.get(s.metadata.name) ?? s);
  const fresh = plan.create.map((s) => {
    const name = `${s.metadata.generateName}${++created}`;
    return { ...s, metadata: { ...s.metadata, name, uid: `slice-${name}` } };
  });
  return [...kept, ...fresh];
}

const addressesOf = (slices: EndpointSlice[]) => slices.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)).sort();

describe('planSlices', () => {
  it('one slice with labels, owner, ports and per-pod endpoint details', () => {
    const svc = service();
    const plan = planSlices({ service: svc, pods: [pod('a'), pod('b', { node: 'node-b' })], existing: [], nodeByName });
    assert.equal(plan.create.length, 1);
    assert.deepEqual(plan.errors, []);
    const slice = plan.create[0];
    assert.equal(slice.metadata.generateName, 'web-');
    assert.deepEqual(slice.metadata.labels, { team: 'a', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    const [a, b] = slice.endpoints!;
    assert.deepEqual(a.conditions, { ready: true, serving: true, terminating: false });
    assert.deepEqual(a.targetRef, { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' });
    assert.equal(a.nodeName, 'node-a');
    assert.equal(a.zone, 'zone-a');
    assert.equal(b.zone, undefined);
  });

  it('conditions: not ready, terminating, publishNotReadyAddresses; pods without IP or finished are left out', () => {
    const pods = [pod('unready', { ready: false }), pod('going', { terminating: true }), pod('going-unready', { terminating: true, ready: false }), pod('noip', { ip: null }), pod('done', { phase: 'Succeeded' })];
    const conditions = (svc: Service) => Object.fromEntries(planSlices({ service: svc, pods, existing: [], nodeByName }).create[0].endpoints!.map((e) => [e.targetRef!.name, e.conditions]));
    assert.deepEqual(conditions(service()), {
      unready: { ready: false, serving: false, terminating: false },
      going: { ready: false, serving: true, terminating: true },
      'going-unready': { ready: false, serving: false, terminating: true },
    });
    assert.deepEqual(conditions(service({ publishNotReadyAddresses: true })), {
      unready: { ready: true, serving: false, terminating: false },
      going: { ready: true, serving: true, terminating: true },
      'going-unready': { ready: true, serving: false, terminating: true },
    });
  });

  it('a named targetPort resolves per pod; pods resolving it differently get different slices, pods without it keep the other ports', () => {
    const svc = service({ ports: [{ name: 'http', port: 80, targetPort: 'web', protocol: 'TCP' }, { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' }] });
    const pods = [
      pod('a', { ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', { ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('c', { ports: [{ name: 'web', containerPort: 9000 }] }),
      pod('d'),
    ];
    const plan = planSlices({ service: svc, pods, existing: [], nodeByName });
    const byPorts = Object.fromEntries(plan.create.map((s) => [(s.ports ?? []).map((p) => `${p.name}:${p.port}`).join(','), s.endpoints!.map((e) => e.targetRef!.name)]));
    assert.deepEqual(byPorts, { 'http:8080,metrics:9090': ['a', 'b'], 'http:9000,metrics:9090': ['c'], 'metrics:9090': ['d'] });
  });

  it('findPort: numbers as given, names by protocol, sidecar ports too', () => {
    const p = pod('x', { ports: [{ name: 'web', containerPort: 8080 }] });
    (p.spec as { initContainers?: unknown[] }).initContainers = [{ name: 'side', restartPolicy: 'Always', ports: [{ name: 'side', containerPort: 7000 }] }];
    assert.equal(findPort(p, { port: 80, targetPort: 8081 }), 8081);
    assert.equal(findPort(p, { port: 80 }), 80);
    assert.equal(findPort(p, { port: 80, targetPort: 'web', protocol: 'TCP' }), 8080);
    assert.equal(findPort(p, { port: 80, targetPort: 'web', protocol: 'UDP' }), undefined);
    assert.equal(findPort(p, { port: 80, targetPort: 'side' }), 7000);
    assert.equal(findPort(p, { port: 80, targetPort: 'nope' }), undefined);
  });

  it('headless: a headless label, hostnames for pods whose subdomain is the service, no ports needed', () => {
    const svc = service({ clusterIP: 'None', ports: [] }, 'db');
    const pods = [pod('db-0', { hostname: 'db-0', subdomain: 'db' }), pod('other', { hostname: 'other', subdomain: 'elsewhere' })];
    const [slice] = planSlices({ service: svc, pods, existing: [], nodeByName }).create;
    assert.equal(slice.metadata.labels!['service.kubernetes.io/headless'], '');
    assert.deepEqual(slice.ports, []);
    assert.deepEqual(slice.endpoints!.map((e) => [e.targetRef!.name, e.hostname]), [['db-0', 'db-0'], ['other', undefined]]);
  });

  it('pods on unknown nodes are skipped with an error (retried), unless all addresses are published', () => {
    const plan = planSlices({ service: service(), pods: [pod('a'), pod('lost', { node: 'gone' })], existing: [], nodeByName });
    assert.equal(plan.create[0].endpoints!.length, 1);
    assert.match(plan.errors[0], /skipping Pod lost for Service ns\/web: Node gone Not Found/);
    const published = planSlices({ service: service({ publishNotReadyAddresses: true }), pods: [pod('a'), pod('lost', { node: 'gone' })], existing: [], nodeByName });
    assert.equal(published.create[0].endpoints!.length, 2);
  });

  it('slices at 100 endpoints, then adds to the emptiest fit without touching full slices, and removes in place', () => {
    const svc = service();
    const pods = Array.from({ length: 250 }, (_, i) => pod(`p${String(i).padStart(3, '0')}`, { ip: `10.1.${i >> 8}.${i & 255}` }));
    let slices = apply([], planSlices({ service: svc, pods, existing: [], nodeByName }));
    assert.deepEqual(slices.map((s) => s.endpoints!.length).sort(), [100, 100, 50]);
    assert.equal(addressesOf(slices).length, 250);

    // Nothing changed: nothing to write.
    const idle = planSlices({ service: svc, pods, existing: slices, nodeByName });
    assert.deepEqual([idle.create.length, idle.update.length, idle.delete.length], [0, 0, 0]);

    // Ten more: they go into the slice with room, the full ones stay untouched.
    const more = [...pods, ...Array.from({ length: 10 }, (_, i) => pod(`q${i}`, { ip: `10.2.0.${i}` }))];
    const grow = planSlices({ service: svc, pods: more, existing: slices, nodeByName });
    assert.equal(grow.create.length, 0);
    assert.deepEqual(grow.update.map((s) => s.endpoints!.length), [60]);
    slices = apply(slices, grow);

    // One pod of a full slice gone: only that slice is rewritten.
    const victim = slices.find((s) => s.endpoints!.length === 100)!;
    const gone = victim.endpoints![0].targetRef!.name;
    const shrink = planSlices({ service: svc, pods: more.filter((p) => p.metadata.name !== gone), existing: slices, nodeByName });
    assert.deepEqual([shrink.create.length, shrink.delete.length], [0, 0]);
    assert.deepEqual(shrink.update.map((s) => [s.metadata.name, s.endpoints!.length]), [[victim.metadata.name, 99]]);

    // A condition change updates the endpoint where it is.
    const flipped = more.map((p) => (p.metadata.name === 'q3' ? pod('q3', { ip: '10.2.0.3', ready: false }) : p));
    const flip = planSlices({ service: svc, pods: flipped, existing: slices, nodeByName });
    assert.equal(flip.update.length, 1);
    assert.equal(flip.update[0].endpoints!.find((e) => e.targetRef!.name === 'q3')!.conditions!.ready, false);
  });

  it('scaling to zero leaves one placeholder slice, reused (not recreated) when pods come back', () => {
    const svc = service();
    let slices = apply([], planSlices({ service: svc, pods: [pod('a', { ip: '10.9.0.1' })], existing: [], nodeByName }));
    const first = slices[0].metadata.name;
    const empty = planSlices({ service: svc, pods: [], existing: slices, nodeByName });
    // The only slice would be deleted and a placeholder created: the slice is rewritten as the placeholder instead.
    assert.deepEqual([empty.create.length, empty.delete.length, empty.update.length], [0, 0, 1]);
    assert.deepEqual([empty.update[0].metadata.name, empty.update[0].endpoints, empty.update[0].ports], [first, [], []]);
    slices = apply(slices, empty);
    const again = planSlices({ service: svc, pods: [], existing: slices, nodeByName });
    assert.deepEqual([again.create.length, again.delete.length, again.update.length], [0, 0, 0]);
    const back = planSlices({ service: svc, pods: [pod('b', { ip: '10.9.0.2' })], existing: slices, nodeByName });
    assert.deepEqual([back.create.length, back.delete.length], [0, 0]);
    assert.equal(back.update[0].metadata.name, first);
    assert.deepEqual(back.update[0].ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
  });

  it('slices of a deleted namesake are deleted; families no longer served are deleted', () => {
    const svc = service();
    const foreign: EndpointSlice = { ...planSlices({ service: service({}, 'web'), pods: [pod('a', { ip: '10.9.1.1' })], existing: [], nodeByName }).create[0] };
    foreign.metadata = { ...foreign.metadata, name: 'web-old', uid: 's1', ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'other-uid', controller: true }] };
    const v6: EndpointSlice = { ...foreign, metadata: { ...foreign.metadata, name: 'web-v6', uid: 's2', ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-web' }] }, addressType: 'IPv6' };
    const plan = planSlices({ service: svc, pods: [pod('b', { ip: '10.9.1.2' })], existing: [foreign, v6], nodeByName });
    assert.deepEqual(plan.delete.map((s) => s.metadata.name).sort(), ['web-old', 'web-v6']);
    assert.equal(plan.create.length, 1);
  });

  it('service labels are mirrored onto existing slices', () => {
    const slices = apply([], planSlices({ service: service(), pods: [pod('a', { ip: '10.9.2.1' })], existing: [], nodeByName }));
    const relabelled = service();
    relabelled.metadata.labels = { team: 'b' };
    const plan = planSlices({ service: relabelled, pods: [pod('a', { ip: '10.9.2.1' })], existing: slices, nodeByName });
    assert.equal(plan.update.length, 1);
    assert.equal(plan.update[0].metadata.labels!.team, 'b');
  });
});

describe('pod events and trigger times', () => {
  it('a pod update concerns the services whose view of it changed', () => {
    const services = [service({ selector: { app: 'web' } }, 'web'), service({ selector: { tier: 'x' } }, 'x')];
    const before = pod('a');
    const annotated = { ...before, metadata: { ...before.metadata, resourceVersion: '2', annotations: { a: 'b' } } };
    assert.deepEqual([...servicesToUpdateOnPodChange(services, before, annotated)], []);
    const unready = { ...pod('a', { ready: false, ip: before.status!.podIP as string }), metadata: { ...before.metadata, resourceVersion: '3' } };
    assert.deepEqual([...servicesToUpdateOnPodChange(services, before, unready)], ['ns/web']);
    const moved = { ...before, metadata: { ...before.metadata, resourceVersion: '4', labels: { tier: 'x' } } };
    assert.deepEqual([...servicesToUpdateOnPodChange(services, before, moved)].sort(), ['ns/web', 'ns/x']);
  });

  it('the trigger time: the service creation first, then the earliest Ready transition since the last sync, none for deletions', () => {
    const tracker = new TriggerTimeTracker();
    const svc = service();
    const a = pod('a');
    assert.equal(formatTriggerTime(tracker.compute('ns/web', svc, [a])!), '2024-01-01T00:00:00Z');
    assert.equal(tracker.compute('ns/web', svc, [a]), undefined);
    const b = pod('b');
    b.status!.conditions![0].lastTransitionTime = '2024-01-01T00:01:00Z';
    const c = pod('c');
    c.status!.conditions![0].lastTransitionTime = '2024-01-01T00:00:30Z';
    assert.equal(formatTriggerTime(tracker.compute('ns/web', svc, [a, b, c])!), '2024-01-01T00:00:30Z');
    assert.equal(tracker.compute('ns/web', svc, [a]), undefined);
    assert.equal(formatTriggerTime(new Date('2024-01-01T00:00:00.250Z')), '2024-01-01T00:00:00.25Z');
  });
});
