// The collector's decisions against a fake API: what it reads, what it
// writes, and that a stale watched view never deletes anything wrongly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiStatusError, type KubeObject, type OwnerReference } from '../../client/interface.ts';
import { AbsentOwnerCache } from './absent-owners.ts';
import { Collector } from './collector.ts';
import { DependencyGraph, type GraphNode, type ObservedObject } from './graph.ts';
import type { ObjectIdentity } from './identity.ts';
import { ObjectOperations } from './operations.ts';
import { ResourceMapper } from './resources.ts';

const conflict = () => new ApiStatusError({ code: 409, reason: 'Conflict', message: 'changed' });

/** Objects by uid; records every call; `staleOnce` makes the next guarded write conflict. */
class FakeOperations extends ObjectOperations {
  readonly objects = new Map<string, KubeObject>();
  readonly calls: string[] = [];
  staleOnce = false;

  constructor() {
    super({ client: undefined as never, mapper: new ResourceMapper() });
  }

  override async getMetadata(identity: Pick<ObjectIdentity, 'apiVersion' | 'kind' | 'namespace' | 'name'>) {
    this.calls.push(`get ${identity.name}`);
    return [...this.objects.values()].find((o) => o.metadata.name === identity.name && o.kind === identity.kind);
  }

  override async delete(identity: ObjectIdentity, policy: string, resourceVersion?: string) {
    this.calls.push(`delete ${identity.name} ${policy}${resourceVersion ? ` @${resourceVersion}` : ''}`);
    if (resourceVersion && this.staleOnce) {
      this.staleOnce = false;
      throw conflict();
    }
    this.objects.delete(identity.uid);
  }

  override async removeOwnerReferences(identity: ObjectIdentity, uids: readonly string[], resourceVersion?: string) {
    this.calls.push(`unown ${identity.name} ${uids.join(',')}${resourceVersion ? ` @${resourceVersion}` : ''}`);
    return true;
  }

  override async removeFinalizer(identity: ObjectIdentity, finalizer: string) {
    this.calls.push(`unfinalize ${identity.name} ${finalizer}`);
  }
}

function setup() {
  const absent = new AbsentOwnerCache();
  const queued: string[] = [];
  const graph = new DependencyGraph({
    absentOwners: absent,
    effects: { attemptToDelete: (n) => queued.push(n.identity.name), attemptToOrphan: () => {}, invalidOwnerNamespace: () => {} },
  });
  const ops = new FakeOperations();
  const collector = new Collector({ graph, operations: ops, absentOwners: absent, enqueueDelete: (n) => queued.push(n.identity.name) });
  const add = (name: string, more: { owners?: OwnerReference[]; finalizers?: string[]; deleting?: boolean; rv?: string } = {}) => {
    const identity: ObjectIdentity = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name, uid: `uid-${name}` };
    const object: KubeObject = {
      apiVersion: 'v1', kind: 'ConfigMap',
      metadata: { name, namespace: 'ns', uid: identity.uid, resourceVersion: more.rv ?? '1', ownerReferences: more.owners, finalizers: more.finalizers },
    };
    ops.objects.set(identity.uid, object);
    const observed: ObservedObject = {
      identity, owners: more.owners ?? [], finalizers: more.finalizers ?? [], beingDeleted: Boolean(more.deleting), resourceVersion: more.rv ?? '1',
    };
    graph.observe(observed);
    return { identity, object, node: graph.get(identity.uid)! as GraphNode };
  };
  return { graph, ops, collector, add, queued };
}

const refTo = (identity: ObjectIdentity, extra: Partial<OwnerReference> = {}): OwnerReference => ({
  apiVersion: identity.apiVersion, kind: identity.kind, name: identity.name, uid: identity.uid, ...extra,
});

describe('collector', () => {
  it('deletes a dependent of an absent owner with one conditional request, after one read of the owner', async () => {
    const { ops, collector, add } = setup();
    const ghost: ObjectIdentity = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'ghost', uid: 'uid-ghost' };
    const a = add('a', { owners: [refTo(ghost)], rv: '5' });
    const b = add('b', { owners: [refTo(ghost)], rv: '6' });
    assert.equal(await collector.attemptToDelete(a.node), 'done');
    assert.equal(await collector.attemptToDelete(b.node), 'done');
    assert.deepEqual(ops.calls, ['get ghost', 'delete a Background @5', 'delete b Background @6']);
  });

  it('a stale view costs a conflict and a read: an object that gained a live owner meanwhile stays', async () => {
    const { ops, collector, add } = setup();
    const owner = add('owner');
    const ghost: ObjectIdentity = { ...owner.identity, name: 'ghost', uid: 'uid-ghost' };
    const item = add('item', { owners: [refTo(ghost)] });
    // The object as it is now: it names a live owner too (the watch has not told us yet).
    item.object.metadata.ownerReferences = [refTo(ghost), refTo(owner.identity)];
    ops.staleOnce = true;
    assert.equal(await collector.attemptToDelete(item.node), 'done');
    assert.deepEqual(ops.calls, ['get ghost', 'delete item Background @1', 'get item', 'unown item uid-ghost']);
    assert.ok(ops.objects.has(item.identity.uid));
  });

  it('an owner in the foreground waits for its blocking dependents, then loses its finalizer', async () => {
    const { ops, collector, add, queued } = setup();
    const owner = add('owner', { deleting: true, finalizers: ['foregroundDeletion'] });
    const child = add('child', { owners: [refTo(owner.identity, { blockOwnerDeletion: true })], rv: '3' });
    queued.length = 0;
    assert.equal(await collector.attemptToDelete(owner.node), 'done');
    assert.deepEqual(queued, ['child'], 'the blocking dependent is queued; nothing read');
    assert.deepEqual(ops.calls, []);
    assert.equal(await collector.attemptToDelete(child.node), 'done');
    assert.deepEqual(ops.calls, ['delete child Background @3'], 'the owner is known from the graph to be waiting');
  });

  it('a dependent with dependents of its own, whose owner deletes in the foreground, is deleted in the foreground too', async () => {
    const { ops, collector, add } = setup();
    const owner = add('owner', { deleting: true, finalizers: ['foregroundDeletion'] });
    const middle = add('middle', { owners: [refTo(owner.identity, { blockOwnerDeletion: true })], rv: '7' });
    add('leaf', { owners: [refTo(middle.identity, { blockOwnerDeletion: true })] });
    await collector.attemptToDelete(middle.node);
    assert.deepEqual(ops.calls, ['delete middle Foreground @7']);
  });

  it('an object gone from the server leaves the graph (virtual delete); its dependents are queued', async () => {
    const { graph, ops, collector, add, queued } = setup();
    const ghost: ObjectIdentity = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'ghost', uid: 'uid-ghost' };
    add('child', { owners: [refTo(ghost)] });
    const virtual = graph.get(ghost.uid)!;
    assert.equal(virtual.virtual, true);
    queued.length = 0;
    assert.equal(await collector.attemptToDelete(virtual), 'absent');
    assert.equal(graph.get(ghost.uid), undefined);
    assert.deepEqual(queued, ['child']);
    assert.deepEqual(ops.calls, ['get ghost']);
  });

  it('a reference to a kind not served yet is retried, not treated as absent', async () => {
    const { collector, add } = setup();
    const item = add('item', { owners: [{ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w', uid: 'uid-w' }] });
    await assert.rejects(collector.attemptToDelete(item.node), /unable to get REST mapping for example.com\/v1\/Widget/);
  });
});
