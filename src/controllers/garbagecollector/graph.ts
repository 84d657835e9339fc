// The owner graph (upstream's GraphBuilder and its uidToNode): one node per
// uid, with the node's ownerReferences and the nodes that name it as owner.
// Watches feed it (observe / observeDeleted); the workers feed it the owners
// they found absent with a live read (virtualDelete). What needs looking at
// next goes out through GraphEffects (queue a node, report an event), so the
// graph itself is pure bookkeeping, testable without a server.
//
// An owner named by a reference but not observed yet is a "virtual" node,
// identified by the reference's coordinates and the dependent's namespace;
// it is queued at once, so a worker can ask the server whether it exists.
import { isDeepStrictEqual } from 'node:util';
import type { OwnerReference } from '../../client/interface.ts';
import {
  FOREGROUND_FINALIZER, ORPHAN_FINALIZER, isBlocking, ownerIdentity, referenceMatches, sameIdentity, type ObjectIdentity,
} from './identity.ts';

export interface GraphNode {
  identity: ObjectIdentity;
  /** The object's ownerReferences as last observed (shared with the watch cache, never changed in place). */
  owners: readonly OwnerReference[];
  /** Nodes naming this one in their ownerReferences. */
  readonly dependents: Set<GraphNode>;
  /** Has a deletionTimestamp. */
  beingDeleted: boolean;
  /** Being deleted in the foreground (foregroundDeletion finalizer): waits for its blocking dependents. */
  deletingDependents: boolean;
  /** Known only from a dependent's reference; not (yet) observed through a watch. */
  virtual: boolean;
  /**
   * The observed object's resourceVersion and finalizers (shared with the
   * watch cache): a worker may act on this view without reading the object
   * again, its write guarded by that resourceVersion. Absent on virtual nodes.
   */
  resourceVersion?: string;
  finalizers: readonly string[];
}

const NO_FINALIZERS: readonly string[] = Object.freeze([]);

/** What a watch tells the graph about an object. */
export interface ObservedObject {
  identity: ObjectIdentity;
  owners: readonly OwnerReference[];
  beingDeleted: boolean;
  finalizers: readonly string[];
  resourceVersion?: string;
}

export interface GraphEffects {
  /** Look at this node in attemptToDelete (is it garbage? may its owner go?). */
  attemptToDelete(node: GraphNode): void;
  /** Orphan this node's dependents, then drop its orphan finalizer. */
  attemptToOrphan(node: GraphNode): void;
  /** `dependent` names a namespaced owner observed in another namespace (event OwnerRefInvalidNamespace). */
  invalidOwnerNamespace(dependent: GraphNode, ownerUid: string): void;
}

/** Owners verified absent (by a read, or by observing their deletion). */
export interface AbsentOwners {
  add(identity: ObjectIdentity): void;
  has(identity: ObjectIdentity): boolean;
}

export class DependencyGraph {
  private readonly nodes = new Map<string, GraphNode>();
  private readonly effects: GraphEffects;
  private readonly absent: AbsentOwners;

  constructor(options: { effects: GraphEffects; absentOwners: AbsentOwners }) {
    this.effects = options.effects;
    this.absent = options.absentOwners;
  }

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** An object was added or changed (`old`: its previous observed state, if any). */
  observe(next: ObservedObject, old?: ObservedObject): void {
    let node = this.nodes.get(next.identity.uid);
    if (node?.virtual) this.markObserved(node, next.identity);
    if (!node) {
      node = {
        identity: next.identity, owners: next.owners, dependents: new Set(), virtual: false,
        beingDeleted: next.beingDeleted, deletingDependents: next.beingDeleted && next.finalizers.includes(FOREGROUND_FINALIZER),
        resourceVersion: next.resourceVersion, finalizers: next.finalizers,
      };
      this.nodes.set(node.identity.uid, node);
      this.addDependentToOwners(node, node.owners);
      this.processTransitions(node, next, old);
      return;
    }
    const { added, removed, changed } = referenceDiffs(node.owners, next.owners);
    if (added.length || removed.length || changed.length) {
      // A dependent that stops blocking may let a foreground deletion finish.
      this.queueUnblockedOwners(removed, changed);
      node.owners = next.owners;
      this.addDependentToOwners(node, added);
      this.removeDependentFromOwners(node, removed);
    }
    node.beingDeleted = next.beingDeleted;
    node.resourceVersion = next.resourceVersion;
    node.finalizers = next.finalizers;
    // Follows the object: a foreground deletion turned into an orphaning one (a later
    // DELETE with propagationPolicy=Orphan) no longer waits for its dependents.
    node.deletingDependents = next.beingDeleted && next.finalizers.includes(FOREGROUND_FINALIZER);
    this.processTransitions(node, next, old);
  }

  /** A watch saw the object deleted. */
  observeDeleted(identity: ObjectIdentity): void {
    const node = this.nodes.get(identity.uid);
    if (node) this.remove(node, identity);
  }

  /**
   * A worker read `identity` and found it absent (not found, or another uid
   * under that name). A virtual node leaves the graph unless some dependents
   * name its uid with other coordinates; an observed node never leaves on a
   * read, only on its own deletion event.
   */
  virtualDelete(identity: ObjectIdentity): void {
    const node = this.nodes.get(identity.uid);
    if (!node) return;
    if (node.virtual) {
      const { matching, nonmatching } = partitionDependents(node.dependents, identity);
      if (nonmatching.length === 0) {
        this.remove(node, identity);
        return;
      }
      this.queueVerifiedAbsent(identity, matching);
      if (sameIdentity(node.identity, identity)) {
        // Try the next identity the other dependents give their owner.
        const alternate = alternateOwnerIdentity(nonmatching, identity);
        if (alternate) {
          node.identity = alternate;
          this.effects.attemptToDelete(node);
        }
      }
      return;
    }
    if (sameIdentity(node.identity, identity)) return;
    this.queueVerifiedAbsent(identity, partitionDependents(node.dependents, identity).matching);
  }

  /** Dependents whose reference to `node` blocks its foreground deletion. */
  blockingDependents(node: GraphNode): GraphNode[] {
    const blocking: GraphNode[] = [];
    for (const dep of node.dependents) {
      if (dep.owners.some((ref) => ref.uid === node.identity.uid && isBlocking(ref))) blocking.push(dep);
    }
    return blocking;
  }

  private queueVerifiedAbsent(identity: ObjectIdentity, dependents: GraphNode[]): void {
    if (dependents.length === 0) return;
    this.absent.add(identity);
    for (const dep of dependents) this.effects.attemptToDelete(dep);
  }

  private remove(node: GraphNode, identity: ObjectIdentity): void {
    this.nodes.delete(node.identity.uid);
    this.removeDependentFromOwners(node, node.owners);
    if (node.dependents.size > 0) this.absent.add(identity);
    for (const dep of node.dependents) this.effects.attemptToDelete(dep);
    // An owner in foreground deletion may have been waiting for just this one.
    for (const ref of node.owners) {
      const owner = this.nodes.get(ref.uid);
      if (owner?.deletingDependents) this.effects.attemptToDelete(owner);
    }
  }

  /** A virtual node is observed: dependents that named it otherwise are checked again. */
  private markObserved(node: GraphNode, observed: ObjectIdentity): void {
    if (!sameIdentity(node.identity, observed)) {
      for (const dep of partitionDependents(node.dependents, observed).nonmatching) {
        if (observed.namespace !== '' && dep.identity.namespace !== observed.namespace) {
          this.effects.invalidOwnerNamespace(dep, observed.uid);
        }
        this.effects.attemptToDelete(dep);
      }
      node.identity = observed;
    }
    node.virtual = false;
  }

  private processTransitions(node: GraphNode, next: ObservedObject, old: ObservedObject | undefined): void {
    if (startsDeletionWith(ORPHAN_FINALIZER, next, old)) {
      this.effects.attemptToOrphan(node);
      return;
    }
    if (startsDeletionWith(FOREGROUND_FINALIZER, next, old)) {
      node.deletingDependents = true;
      for (const dep of node.dependents) this.effects.attemptToDelete(dep);
      this.effects.attemptToDelete(node);
    }
  }

  private addDependentToOwners(dependent: GraphNode, refs: readonly OwnerReference[]): void {
    // Some reference disagrees with what is known of its owner: let a worker check them all.
    let potentiallyInvalid = false;
    for (const ref of refs) {
      let owner = this.nodes.get(ref.uid);
      if (!owner) {
        owner = {
          identity: ownerIdentity(ref, dependent.identity.namespace), owners: [], dependents: new Set(),
          beingDeleted: false, deletingDependents: false, virtual: true, finalizers: NO_FINALIZERS,
        };
        this.nodes.set(ref.uid, owner);
        owner.dependents.add(dependent);
        this.effects.attemptToDelete(owner);
        continue;
      }
      owner.dependents.add(dependent);
      if (potentiallyInvalid) continue;
      const ownerNamespace = owner.identity.namespace;
      if (ownerNamespace !== '' && ownerNamespace !== dependent.identity.namespace) {
        if (!owner.virtual) this.effects.invalidOwnerNamespace(dependent, ref.uid);
        potentiallyInvalid = true;
      } else if (!referenceMatches(ref, owner.identity)) {
        potentiallyInvalid = true;
      } else if (ownerNamespace === '' && dependent.identity.namespace !== '' && owner.virtual) {
        // A virtual owner first named by a cluster-scoped object may be a namespaced kind named wrongly.
        potentiallyInvalid = true;
      }
    }
    if (potentiallyInvalid) this.effects.attemptToDelete(dependent);
  }

  private removeDependentFromOwners(dependent: GraphNode, refs: readonly OwnerReference[]): void {
    for (const ref of refs) this.nodes.get(ref.uid)?.dependents.delete(dependent);
  }

  private queueUnblockedOwners(removed: OwnerReference[], changed: { old: OwnerReference; next: OwnerReference }[]): void {
    const unblocked = [
      ...removed.filter(isBlocking),
      ...changed.filter((c) => isBlocking(c.old) && !isBlocking(c.next)).map((c) => c.next),
    ];
    for (const ref of unblocked) {
      const owner = this.nodes.get(ref.uid);
      if (owner) this.effects.attemptToDelete(owner);
    }
  }
}

/** Deleted (deletionTimestamp) with `finalizer` now, and not before. */
function startsDeletionWith(finalizer: string, next: ObservedObject, old: ObservedObject | undefined): boolean {
  if (!next.beingDeleted || !next.finalizers.includes(finalizer)) return false;
  return !old || !old.beingDeleted || !old.finalizers.includes(finalizer);
}

export function referenceDiffs(old: readonly OwnerReference[], next: readonly OwnerReference[]) {
  const oldByUid = new Map(old.map((ref) => [ref.uid, ref]));
  const added: OwnerReference[] = [];
  const changed: { old: OwnerReference; next: OwnerReference }[] = [];
  for (const ref of next) {
    const before = oldByUid.get(ref.uid);
    if (!before) added.push(ref);
    else if (!isDeepStrictEqual(before, ref)) changed.push({ old: before, next: ref });
    oldByUid.delete(ref.uid);
  }
  return { added, removed: [...oldByUid.values()], changed };
}

/**
 * Dependents whose references to `owner.uid` match the owner's coordinates
 * (and namespace, for a namespaced owner), and those with a reference that
 * does not. A dependent can be in both.
 */
export function partitionDependents(dependents: Iterable<GraphNode>, owner: ObjectIdentity) {
  const matching: GraphNode[] = [];
  const nonmatching: GraphNode[] = [];
  for (const dep of dependents) {
    let match = false;
    let mismatch = false;
    if (owner.namespace !== '' && owner.namespace !== dep.identity.namespace) {
      mismatch = true;
    } else {
      for (const ref of dep.owners) {
        if (ref.uid !== owner.uid) continue;
        if (referenceMatches(ref, owner)) match = true;
        else mismatch = true;
      }
    }
    if (match) matching.push(dep);
    if (mismatch) nonmatching.push(dep);
  }
  return { matching, nonmatching };
}

/** Kind, apiVersion, namespace, name, uid: upstream's order of identities. */
function identityLess(a: ObjectIdentity, b: ObjectIdentity): boolean {
  for (const field of ['kind', 'apiVersion', 'namespace', 'name', 'uid'] as const) {
    if (a[field] !== b[field]) return a[field] < b[field];
  }
  return false;
}

/**
 * Another identity dependents give the uid of `absent` (other coordinates or
 * namespace): the first after `absent` in identity order, else the first.
 */
export function alternateOwnerIdentity(dependents: GraphNode[], absent: ObjectIdentity): ObjectIdentity | undefined {
  const clusterScoped = absent.namespace === '';
  let first: ObjectIdentity | undefined;
  let firstFollowing: ObjectIdentity | undefined;
  for (const dep of dependents) {
    for (const ref of dep.owners) {
      if (ref.uid !== absent.uid) continue;
      if (referenceMatches(ref, absent) && (clusterScoped || absent.namespace === dep.identity.namespace)) continue;
      const candidate = ownerIdentity(ref, dep.identity.namespace);
      // This apiVersion/kind is known to be cluster-scoped: no namespace in its identity.
      if (clusterScoped && candidate.apiVersion === absent.apiVersion && candidate.kind === absent.kind) candidate.namespace = '';
      if (sameIdentity(candidate, absent)) continue;
      if (!first || identityLess(candidate, first)) first = candidate;
      if (identityLess(absent, candidate) && (!firstFollowing || identityLess(candidate, firstFollowing))) firstFollowing = candidate;
    }
  }
  return firstFollowing ?? first;
}
