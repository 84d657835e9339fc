// What the workers do with a node (upstream's attemptToDeleteItem and
// attemptToOrphanWorker):
// - delete: is the object garbage? Each ownerReference is classified as
//   solid (owner exists), dangling (owner absent) or waiting (owner deleted
//   in the foreground). No solid owner → delete it; solid and dangling →
//   drop only the dangling references. An owner in foreground deletion loses
//   its foregroundDeletion finalizer once no blocking dependent is left.
// - orphan: drop the references to an owner deleted with propagationPolicy
//   Orphan from all its dependents, then its orphan finalizer.
//
// Absence is always verified with a live read (by name, then uid): a stale
// graph must never get anything deleted. Presence may come from the graph:
// an owner wrongly believed present only delays a deletion until the
// owner's deletion event arrives. The object itself is first judged as the
// watch last showed it, every write conditional on that resourceVersion
// (one request per collected object); a conflict sends the decision through
// a fresh read, as upstream always does.
import { ApiStatusError, isConflict, type KubeObject, type OwnerReference } from '../../client/interface.ts';
import type { AbsentOwners, DependencyGraph, GraphNode } from './graph.ts';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, ownerIdentity, referenceMatches } from './identity.ts';
import { NamespacedOwnerOfClusterScopedObject, type ObjectOperations, type PropagationPolicy } from './operations.ts';

/** How attemptToDelete ended, when it did not simply finish. */
export type DeleteOutcome =
  /** Done (or nothing to do). */
  | 'done'
  /** The object is absent: the graph dropped its (virtual) node; nothing to retry. */
  | 'absent'
  /** A cluster-scoped object names a namespaced owner: no retry can resolve that. */
  | 'invalid';

/** Dependents patched at once when orphaning. */
const ORPHAN_CONCURRENCY = 20;

/** The object as a decision sees it: watched (guarded: writes conditional on its resourceVersion) or just read. */
interface ObjectState {
  resourceVersion?: string;
  owners: readonly OwnerReference[];
  finalizers: readonly string[];
  guarded: boolean;
}

interface OwnerState {
  present: boolean;
  /** Present, being deleted in the foreground. */
  waiting?: boolean;
}

export interface CollectorOptions {
  graph: DependencyGraph;
  operations: ObjectOperations;
  absentOwners: AbsentOwners;
  /** Queue a node for attemptToDelete. */
  enqueueDelete(node: GraphNode): void;
}

export class Collector {
  private readonly graph: DependencyGraph;
  private readonly ops: ObjectOperations;
  private readonly absent: AbsentOwners;
  private readonly enqueueDelete: (node: GraphNode) => void;

  constructor(options: CollectorOptions) {
    this.graph = options.graph;
    this.ops = options.operations;
    this.absent = options.absentOwners;
    this.enqueueDelete = options.enqueueDelete;
  }

  async attemptToDelete(item: GraphNode): Promise<DeleteOutcome> {
    try {
      return await this.attemptToDeleteItem(item);
    } catch (error) {
      if (error instanceof NamespacedOwnerOfClusterScopedObject) return 'invalid';
      throw error;
    }
  }

  private async attemptToDeleteItem(item: GraphNode): Promise<DeleteOutcome> {
    // Being deleted is a one-way trip: its dependents are looked at when it is gone.
    if (item.beingDeleted && !item.deletingDependents) return 'done';
    if (item.deletingDependents && !item.virtual && this.queueBlockingDependents(item)) return 'done';
    if (!item.virtual && item.resourceVersion) {
      // Decide on the watched state; every write is conditional on its resourceVersion,
      // so a view that went stale meanwhile costs a conflict, never a wrong deletion.
      try {
        await this.decide(item, { resourceVersion: item.resourceVersion, owners: item.owners, finalizers: item.finalizers, guarded: true });
        return 'done';
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    const latest = await this.ops.getMetadata(item.identity);
    if (!latest || latest.metadata.uid !== item.identity.uid) {
      this.graph.virtualDelete(item.identity);
      return 'absent';
    }
    const { resourceVersion, ownerReferences, finalizers } = latest.metadata;
    await this.decide(item, { resourceVersion, owners: ownerReferences ?? [], finalizers: finalizers ?? [], guarded: false });
    return 'done';
  }

  private async decide(item: GraphNode, state: ObjectState): Promise<void> {
    const guard = state.guarded ? state.resourceVersion : undefined;
    if (item.deletingDependents) {
      // No blocking dependent left (else queueBlockingDependents found some before).
      if (!this.queueBlockingDependents(item)) {
        const latest = { metadata: { uid: item.identity.uid, resourceVersion: state.resourceVersion, finalizers: [...state.finalizers] } };
        // A first attempt from a stale view conflicts, and the removal reads the object again.
        await this.ops.removeFinalizer(item.identity, FOREGROUND_FINALIZER, latest);
      }
      return;
    }
    if (state.owners.length === 0) return;
    const { solid, dangling, waiting } = await this.classify(item, state.owners);
    if (solid.length > 0) {
      // A waiting reference must go too, or its owner would wait for an object that stays.
      const drop = [...dangling, ...waiting].map((ref) => ref.uid);
      if (drop.length > 0) await this.ops.removeOwnerReferences(item.identity, drop, guard);
      return;
    }
    if (waiting.length > 0 && item.dependents.size > 0) {
      // Deleted in the foreground itself, so its own dependents go first. A dependent
      // already deleting its dependents may be part of a cycle: stop blocking the
      // owners then (upstream's cycle guard, false positives included).
      if ([...item.dependents].some((dep) => dep.deletingDependents)) {
        if (guard) throw new ApiStatusError({ code: 409, reason: 'Conflict', message: 'read the object before unblocking its owners' });
        await this.ops.unblockOwnerReferences(item.identity, state.owners);
      }
      await this.ops.delete(item.identity, 'Foreground', guard);
      return;
    }
    await this.ops.delete(item.identity, policyFromFinalizers(state.finalizers), guard);
  }

  /** Orphan the dependents of an owner deleted with the orphan finalizer, then drop that finalizer. */
  async attemptToOrphan(owner: GraphNode): Promise<void> {
    const dependents = [...owner.dependents];
    const failures: unknown[] = [];
    for (let i = 0; i < dependents.length; i += ORPHAN_CONCURRENCY) {
      const batch = dependents.slice(i, i + ORPHAN_CONCURRENCY);
      const results = await Promise.allSettled(batch.map((dep) => this.ops.removeOwnerReferences(dep.identity, [owner.identity.uid])));
      for (const result of results) if (result.status === 'rejected') failures.push(result.reason);
    }
    if (failures.length > 0) {
      const first = failures[0] as Error;
      throw new Error(`orphaning ${failures.length} of ${dependents.length} dependents failed: ${first?.message ?? first}`);
    }
    await this.ops.removeFinalizer(owner.identity, ORPHAN_FINALIZER, watchedState(owner));
  }

  /**
   * Queue the blocking dependents of a foreground deletion that are not being
   * deleted yet; true if any blocking dependent is left at all.
   */
  private queueBlockingDependents(item: GraphNode): boolean {
    const blocking = this.graph.blockingDependents(item);
    for (const dep of blocking) {
      // Those already being deleted (not in the foreground) only have to vanish.
      if (!dep.deletingDependents && !dep.beingDeleted) this.enqueueDelete(dep);
    }
    return blocking.length > 0;
  }

  private async classify(item: GraphNode, references: readonly OwnerReference[]) {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of references) {
      const state = await this.ownerState(item, ref);
      if (!state.present) dangling.push(ref);
      else if (state.waiting) waiting.push(ref);
      else solid.push(ref);
    }
    return { solid, dangling, waiting };
  }

  /** Upstream's isDangling: is the owner a reference names there, under that uid? */
  private async ownerState(item: GraphNode, ref: OwnerReference): Promise<OwnerState> {
    const inNamespace = ownerIdentity(ref, item.identity.namespace);
    const clusterScoped = ownerIdentity(ref, '');
    if (this.absent.has(clusterScoped) || this.absent.has(inNamespace)) return { present: false };
    const resource = this.ops.resourceOf(ref.apiVersion, ref.kind);
    if (resource.namespaced && item.identity.namespace === '') throw new NamespacedOwnerOfClusterScopedObject(ref);
    const expected = resource.namespaced ? inNamespace : clusterScoped;
    const node = this.graph.get(ref.uid);
    if (node && !node.virtual && referenceMatches(ref, node.identity) && node.identity.namespace === expected.namespace) {
      return { present: true, waiting: node.deletingDependents };
    }
    const owner = await this.ops.getMetadata(expected);
    if (!owner || owner.metadata.uid !== ref.uid) {
      this.absent.add(expected);
      return { present: false };
    }
    const waiting = Boolean(owner.metadata.deletionTimestamp) && (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER);
    return { present: true, waiting };
  }
}

/** The watched metadata of an observed node, as a first guess at the object (a stale one only costs a conflict). */
function watchedState(node: GraphNode): KubeObject | undefined {
  if (node.virtual || !node.resourceVersion) return undefined;
  return { metadata: { uid: node.identity.uid, resourceVersion: node.resourceVersion, finalizers: [...node.finalizers] } };
}

/** No owner left: delete honouring a policy the object already carries, else in the background. */
function policyFromFinalizers(finalizers: readonly string[]): PropagationPolicy {
  if (finalizers.includes(ORPHAN_FINALIZER)) return 'Orphan';
  if (finalizers.includes(FOREGROUND_FINALIZER)) return 'Foreground';
  return 'Background';
}
