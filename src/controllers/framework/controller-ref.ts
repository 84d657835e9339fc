// Ownership by controllerRef, as upstream's ControllerRefManager: an object
// belongs to the controller named by its ownerReference with controller:
// true. A controller claims what it should own and lets go of what it
// should not:
// - ours and matching the selector: keep;
// - ours and no longer matching: release (remove our ownerReference), unless
//   we are being deleted ourselves (the garbage collector takes it then);
// - an orphan that matches: adopt (add our ownerReference), unless we or it
//   are being deleted, or it lives in another namespace;
// - owned by another controller: never touched.
// Adoption first re-checks with a live read that the owner still exists with
// the same uid and is not being deleted, since a stale cache could otherwise
// hand pods to an owner that is gone (upstream's RecheckDeletionTimestamp).
import type { LabelSelector } from '../../api/selectors/index.ts';
import { isNotFound, type ApiClient, type KubeObject, type OwnerReference, type ResourceRef } from '../../client/interface.ts';

export function getControllerOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

/** The ownerReference a controller puts on what it creates or adopts. */
export function newControllerRef(owner: KubeObject): OwnerReference {
  const { apiVersion, kind, metadata } = owner;
  if (!apiVersion || !kind || !metadata.name || !metadata.uid) throw new Error('a controller owner needs apiVersion, kind, name and uid');
  return { apiVersion, kind, name: metadata.name, uid: metadata.uid, controller: true, blockOwnerDeletion: true };
}

/** The group of an apiVersion ("apps/v1" → "apps", "v1" → ""). */
export const groupOf = (apiVersion: string | undefined) => (apiVersion?.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '');

/**
 * The owner a controllerRef names, looked up in a cache: only when kind and
 * group agree and the cached object has the same uid (a same-named newcomer
 * is not the owner).
 */
export function resolveControllerRef<T extends KubeObject>(options: {
  ref: OwnerReference | undefined;
  kind: string;
  group: string;
  lookup: (name: string) => T | undefined;
}): T | undefined {
  const { ref } = options;
  if (!ref || ref.kind !== options.kind || groupOf(ref.apiVersion) !== options.group) return undefined;
  const owner = options.lookup(ref.name);
  return owner && owner.metadata.uid === ref.uid ? owner : undefined;
}

/**
 * A memoized check that the owner may adopt: a live GET must find the same
 * uid without a deletionTimestamp. Made lazily, once per sync, and only when
 * there is something to adopt.
 */
export function recheckOwner(options: { client: ApiClient; ref: ResourceRef; owner: KubeObject }): () => Promise<void> {
  let checked: Promise<void> | undefined;
  return () => {
    checked ??= (async () => {
      const { owner } = options;
      const fresh = await options.client.get(options.ref);
      const describe = `${owner.kind} ${owner.metadata.namespace}/${owner.metadata.name}`;
      if (fresh.metadata.uid !== owner.metadata.uid) throw new Error(`original ${describe} is gone: got uid ${fresh.metadata.uid}, wanted ${owner.metadata.uid}`);
      if (fresh.metadata.deletionTimestamp) throw new Error(`${describe} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
    })();
    return checked;
  };
}

export interface ClaimOptions<T extends KubeObject> {
  client: ApiClient;
  /** The claimed objects' resource (namespace and name are filled in per object). */
  resource: Pick<ResourceRef, 'group' | 'version' | 'resource'>;
  owner: KubeObject;
  selector: LabelSelector;
  objects: readonly T[];
  /** Throws when the owner may not adopt right now (see recheckOwner). */
  canAdopt: () => Promise<void>;
  /** Further conditions an object must meet to be ours (besides the selector). */
  filter?: (obj: T) => boolean;
}

/**
 * The objects the owner owns after adopting and releasing; adopt/release
 * failures of single objects are collected, and thrown (after every object
 * was tried) so the sync is retried, as upstream.
 */
export async function claimObjects<T extends KubeObject>(options: ClaimOptions<T>): Promise<T[]> {
  const { owner } = options;
  const ownerUid = owner.metadata.uid;
  const ownerDeleting = Boolean(owner.metadata.deletionTimestamp);
  const match = (obj: T) => options.selector.matches(obj.metadata.labels) && (options.filter?.(obj) ?? true);
  const claimed: T[] = [];
  const errors: Error[] = [];
  const refOf = (obj: T): ResourceRef => ({ ...options.resource, namespace: obj.metadata.namespace, name: obj.metadata.name });
  await Promise.all(options.objects.map(async (obj) => {
    const controllerRef = getControllerOf(obj);
    try {
      if (controllerRef) {
        if (controllerRef.uid !== ownerUid) return;
        if (match(obj)) {
          claimed.push(obj);
          return;
        }
        if (ownerDeleting) return;
        await options.client.patch(refOf(obj), 'strategic', releasePatch(owner, obj));
        return;
      }
      if (ownerDeleting || !match(obj) || obj.metadata.deletionTimestamp) return;
      if (owner.metadata.namespace && owner.metadata.namespace !== obj.metadata.namespace) return;
      await options.canAdopt();
      await options.client.patch(refOf(obj), 'strategic', adoptPatch(owner, obj));
      claimed.push(obj);
    } catch (error) {
      // Gone meanwhile: neither ours nor anyone's to fight over.
      if (isNotFound(error)) return;
      const verb = controllerRef ? 'release' : 'adopt';
      errors.push(new Error(`cannot ${verb} ${obj.kind ?? 'object'} ${obj.metadata.namespace}/${obj.metadata.name}: ${(error as Error).message}`));
    }
  }));
  // Keep the cache's order: callers rank and count these, and Promise.all finishes in any order.
  const order = new Map(options.objects.map((o, i) => [o, i]));
  claimed.sort((a, b) => order.get(a)! - order.get(b)!);
  if (errors.length) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  return claimed;
}

/** Strategic merge patch adding the owner as controller (ownerReferences merge by uid); the uid pins the object. */
export function adoptPatch(owner: KubeObject, obj: KubeObject): Record<string, unknown> {
  return { metadata: { ownerReferences: [newControllerRef(owner)], uid: obj.metadata.uid } };
}

/** Strategic merge patch removing only the owner's reference. */
export function releasePatch(owner: KubeObject, obj: KubeObject): Record<string, unknown> {
  return { metadata: { ownerReferences: [{ $patch: 'delete', uid: owner.metadata.uid }], uid: obj.metadata.uid } };
}
