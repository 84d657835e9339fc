import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OwnerReference } from '../../client/interface.ts';
import { AbsentOwnerCache } from './absent-owners.ts';
import { alternateOwnerIdentity, DependencyGraph, referenceDiffs, type GraphNode, type ObservedObject } from './graph.ts';
import type { ObjectIdentity } from './identity.ts';

function setup() {
  const deletes: string[] = [];
  const orphans: string[] = [];
  const invalid: string[] = [];
  const absent = new AbsentOwnerCache();
  const graph = new DependencyGraph({
    absentOwners: absent,
    effects: {
      attemptToDelete: (node) => deletes.push(`${node.virtual ? 'virtual ' : ''}${node.identity.name}`),
      attemptToOrphan: (node) => orphans.push(node.identity.name),
      invalidOwnerNamespace: (dep, uid) => invalid.push(`${dep.identity.name}->${uid}`),
    },
  });
  const drain = () => deletes.splice(0);
  return { graph, deletes, orphans, invalid, absent, drain };
}

const id = (name: string, namespace = 'ns', kind = 'ConfigMap', apiVersion = 'v1'): ObjectIdentity => ({ apiVersion, kind, namespace, name, uid: `uid-${name}` });
const ref = (owner: ObjectIdentity, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, ...extra,
});
const obj = (identity: ObjectIdentity, more: Partial<ObservedObject> = {}): ObservedObject => ({ identity, owners: [], beingDeleted: false, finalizers: [], ...more });
const names = (nodes: Iterable<GraphNode>) => [...nodes].map((n) => n.identity.name).sort();

describe('garbage collector graph', () => {
  it('links dependents to owners, with a virtual node (queued for a check) for an owner not observed yet', () => {
    const { graph, drain } = setup();
    const owner = id('owner');
    graph.observe(obj(id('child'), { owners: [ref(owner)] }));
    const virtual = graph.get(owner.uid)!;
    assert.equal(virtual.virtual, true);
    assert.deepEqual(virtual.identity, owner);
    assert.deepEqual(names(virtual.dependents), ['child']);
    assert.deepEqual(drain(), ['virtual owner']);
    graph.observe(obj(owner));
    assert.equal(graph.get(owner.uid)!.virtual, false);
    assert.deepEqual(drain(), [], 'an owner observed as referenced needs no further look');
    graph.observe(obj(id('second'), { owners: [ref(owner)] }));
    assert.deepEqual(names(graph.get(owner.uid)!.dependents), ['child', 'second']);
    assert.deepEqual(drain(), []);
  });

  it('queues the dependents of a deleted owner, remembers the owner as absent, and drops it from its own owners', () => {
    const { graph, drain, absent } = setup();
    const top = id('top');
    const mid = id('mid');
    graph.observe(obj(top));
    graph.observe(obj(mid, { owners: [ref(top)] }));
    graph.observe(obj(id('leaf'), { owners: [ref(mid)] }));
    drain();
    graph.observeDeleted(mid);
    assert.equal(graph.get(mid.uid), undefined);
    assert.deepEqual(drain(), ['leaf']);
    assert.equal(absent.has(mid), true);
    assert.deepEqual(names(graph.get(top.uid)!.dependents), []);
  });

  it('follows changed ownerReferences: added and removed owners, and an owner unblocked while deleting in the foreground', () => {
    const { graph, drain } = setup();
    const a = id('a');
    const b = id('b');
    graph.observe(obj(a, { beingDeleted: true, finalizers: ['foregroundDeletion'] }));
    graph.observe(obj(b));
    const child = id('child');
    graph.observe(obj(child, { owners: [ref(a, { blockOwnerDeletion: true })] }));
    drain();
    assert.equal(graph.get(a.uid)!.deletingDependents, true);
    assert.deepEqual(names(graph.blockingDependents(graph.get(a.uid)!)), ['child']);
    const old = obj(child, { owners: [ref(a, { blockOwnerDeletion: true })] });
    graph.observe(obj(child, { owners: [ref(a, { blockOwnerDeletion: false }), ref(b)] }), old);
    assert.deepEqual(drain(), ['a'], 'the owner no longer blocked is looked at again');
    assert.deepEqual(names(graph.blockingDependents(graph.get(a.uid)!)), []);
    assert.deepEqual(names(graph.get(b.uid)!.dependents), ['child']);
    graph.observe(obj(child, { owners: [ref(b)] }), obj(child, { owners: [ref(a, { blockOwnerDeletion: false }), ref(b)] }));
    assert.deepEqual(names(graph.get(a.uid)!.dependents), []);
  });

  it('an owner starting a foreground deletion queues itself and all its dependents; an orphaning one goes to attemptToOrphan', () => {
    const { graph, drain, orphans } = setup();
    const owner = id('owner');
    graph.observe(obj(owner));
    graph.observe(obj(id('one'), { owners: [ref(owner, { blockOwnerDeletion: true })] }));
    graph.observe(obj(id('two'), { owners: [ref(owner)] }));
    drain();
    const deleting = obj(owner, { beingDeleted: true, finalizers: ['foregroundDeletion'] });
    graph.observe(deleting, obj(owner));
    assert.deepEqual(drain().sort(), ['one', 'owner', 'two']);
    graph.observe(deleting, deleting);
    assert.deepEqual(drain(), [], 'no transition, nothing queued');

    const other = id('other');
    graph.observe(obj(other));
    graph.observe(obj(other, { beingDeleted: true, finalizers: ['orphan'] }), obj(other));
    assert.deepEqual(orphans, ['other']);
    // Observed for the first time already orphaning (a restart): queued as well.
    graph.observe(obj(id('late'), { beingDeleted: true, finalizers: ['orphan'] }));
    assert.deepEqual(orphans, ['other', 'late']);
  });

  it('an owner leaving waits no more: its foreground-deleting owner is queued when it is gone', () => {
    const { graph, drain } = setup();
    const owner = id('owner');
    const child = id('child');
    graph.observe(obj(owner, { beingDeleted: true, finalizers: ['foregroundDeletion'] }));
    graph.observe(obj(child, { owners: [ref(owner, { blockOwnerDeletion: true })] }));
    drain();
    graph.observeDeleted(child);
    assert.deepEqual(drain(), ['owner']);
  });

  it('reports a dependent naming an observed owner of another namespace, and queues it for a check', () => {
    const { graph, drain, invalid } = setup();
    const owner = id('owner', 'a');
    graph.observe(obj(owner));
    const child = id('child', 'b');
    graph.observe(obj(child, { owners: [ref(owner)] }));
    assert.deepEqual(invalid, [`child->${owner.uid}`]);
    assert.deepEqual(drain(), ['child']);
  });

  it('a virtual owner observed with other coordinates sends the dependents that named it otherwise for a check', () => {
    const { graph, drain, invalid } = setup();
    const observed = id('owner', 'a');
    // The dependent in namespace b names the uid; the object turns out to live in a.
    graph.observe(obj(id('child', 'b'), { owners: [ref(observed)] }));
    assert.equal(graph.get(observed.uid)!.identity.namespace, 'b');
    drain();
    graph.observe(obj(observed));
    assert.equal(graph.get(observed.uid)!.identity.namespace, 'a');
    assert.deepEqual(invalid, [`child->${observed.uid}`]);
    assert.deepEqual(drain(), ['child']);
  });

  it('a cluster-scoped owner may own objects in every namespace', () => {
    const { graph, drain, invalid } = setup();
    const owner = id('owner', '', 'ClusterRole', 'rbac.authorization.k8s.io/v1');
    graph.observe(obj(owner));
    graph.observe(obj(id('x', 'a'), { owners: [ref(owner)] }));
    graph.observe(obj(id('y', 'b'), { owners: [ref(owner)] }));
    assert.deepEqual(invalid, []);
    assert.deepEqual(drain(), []);
    assert.deepEqual(names(graph.get(owner.uid)!.dependents), ['x', 'y']);
  });

  it('a virtual delete removes a virtual node and queues its dependents, but never an observed node', () => {
    const { graph, drain, absent } = setup();
    const ghost = id('ghost');
    graph.observe(obj(id('child'), { owners: [ref(ghost)] }));
    drain();
    graph.virtualDelete(ghost);
    assert.equal(graph.get(ghost.uid), undefined);
    assert.deepEqual(drain(), ['child']);
    assert.equal(absent.has(ghost), true);

    const real = id('real');
    graph.observe(obj(real));
    graph.virtualDelete(real);
    assert.ok(graph.get(real.uid), 'an observed node leaves only on its deletion event');
  });

  it('a virtual node named in two ways: the verified-absent identity frees its dependents, the other identity is tried next', () => {
    const { graph, drain, absent } = setup();
    const asConfigMap = id('owner');
    const asSecret: ObjectIdentity = { ...asConfigMap, kind: 'Secret' };
    graph.observe(obj(id('c1'), { owners: [ref(asConfigMap)] }));
    graph.observe(obj(id('c2'), { owners: [ref(asSecret)] }));
    drain();
    graph.virtualDelete(asConfigMap);
    const node = graph.get(asConfigMap.uid)!;
    assert.ok(node, 'kept: another dependent names it otherwise');
    assert.equal(node.identity.kind, 'Secret');
    assert.deepEqual(drain().sort(), ['c1', 'virtual owner']);
    assert.equal(absent.has(asConfigMap), true);
    graph.virtualDelete(asSecret);
    assert.deepEqual(drain().sort(), ['c2', 'virtual owner'], 'c2 is freed; the node stays while c1 still names it');
    assert.equal(absent.has(asSecret), true);
    // Both dependents go (their owner references dangle); then the node goes too.
    graph.observeDeleted(id('c1'));
    graph.observeDeleted(id('c2'));
    graph.virtualDelete(graph.get(asConfigMap.uid)!.identity);
    assert.equal(graph.get(asConfigMap.uid), undefined);
  });

  it('referenceDiffs and alternateOwnerIdentity', () => {
    const a = ref(id('a'));
    const b = ref(id('b'));
    const diff = referenceDiffs([a, b], [{ ...a, blockOwnerDeletion: true }, ref(id('c'))]);
    assert.deepEqual(diff.added.map((r) => r.name), ['c']);
    assert.deepEqual(diff.removed.map((r) => r.name), ['b']);
    assert.deepEqual(diff.changed.map((c) => c.next.name), ['a']);
    const absent = id('x');
    const dep = (name: string, owner: OwnerReference): GraphNode => ({
      identity: id(name), owners: [owner], dependents: new Set(), beingDeleted: false, deletingDependents: false, virtual: false, finalizers: [],
    });
    const alternate = alternateOwnerIdentity([dep('d1', ref(absent)), dep('d2', { ...ref(absent), kind: 'Secret' })], absent);
    assert.equal(alternate?.kind, 'Secret');
    assert.equal(alternateOwnerIdentity([dep('d1', ref(absent))], absent), undefined);
  });

  it('keeps a graph of many objects in linear time', () => {
    const { graph } = setup();
    const owners = Array.from({ length: 100 }, (_, i) => id(`owner-${i}`));
    for (const owner of owners) graph.observe(obj(owner));
    const started = process.hrtime.bigint();
    for (let i = 0; i < 20_000; i++) graph.observe(obj(id(`dep-${i}`), { owners: [ref(owners[i % 100], { blockOwnerDeletion: true })] }));
    for (let i = 0; i < 20_000; i++) graph.observeDeleted(id(`dep-${i}`));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.equal(graph.size, 100);
    assert.ok(ms < 5_000, `took ${ms} ms`);
  });
});
