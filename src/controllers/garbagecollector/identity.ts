// Who an object in the owner graph is: its coordinates (apiVersion, kind,
// namespace, name) and uid, as upstream's objectReference. A reference
// names its owner by apiVersion/kind/name/uid; the owner's namespace is the
// dependent's own (namespaced owners can only own objects in their namespace;
// cluster-scoped owners can own anything).
import type { OwnerReference } from '../../client/interface.ts';

export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  /** '' for cluster-scoped objects (and for virtual owners of cluster-scoped dependents). */
  namespace: string;
  name: string;
  uid: string;
}

/** The finalizers the garbage collector serves (metav1.FinalizerDeleteDependents / FinalizerOrphanDependents). */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

/** Upstream's objectReference String(): "[apps/v1/ReplicaSet, namespace: ns, name: web, uid: …]". */
export function describeIdentity(id: ObjectIdentity): string {
  return `[${id.apiVersion}/${id.kind}, namespace: ${id.namespace}, name: ${id.name}, uid: ${id.uid}]`;
}

export function sameIdentity(a: ObjectIdentity, b: ObjectIdentity): boolean {
  return a.uid === b.uid && a.name === b.name && a.kind === b.kind && a.apiVersion === b.apiVersion && a.namespace === b.namespace;
}

/** Whether a reference names exactly these coordinates (apiVersion, kind, name, uid). */
export function referenceMatches(ref: OwnerReference, id: Pick<ObjectIdentity, 'apiVersion' | 'kind' | 'name' | 'uid'>): boolean {
  return ref.uid === id.uid && ref.name === id.name && ref.kind === id.kind && ref.apiVersion === id.apiVersion;
}

/** The identity a reference gives its owner, read from a dependent in `namespace`. */
export function ownerIdentity(ref: OwnerReference, namespace: string): ObjectIdentity {
  return { apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace };
}

/** A map key for an identity (absent-owner cache). */
export function identityKey(id: ObjectIdentity): string {
  return `${id.uid}\u0000${id.apiVersion}\u0000${id.kind}\u0000${id.namespace}\u0000${id.name}`;
}

/** "apps/v1" → ["apps", "v1"]; "v1" → ["", "v1"]. */
export function splitApiVersion(apiVersion: string): [group: string, version: string] {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? ['', apiVersion] : [apiVersion.slice(0, slash), apiVersion.slice(slash + 1)];
}

export const isBlocking = (ref: OwnerReference) => ref.blockOwnerDeletion === true;

