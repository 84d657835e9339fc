// The collector's writes and reads of single objects, addressed by graph
// identity: metadata-only GET, DELETE with a uid precondition, and the three
// metadata patches (drop ownerReferences, unblock them, drop a finalizer).
//
// ownerReference patches are strategic merge patches keyed by uid (one
// request, no read first); a kind without strategic merge support (custom
// resources answer 415) gets a JSON merge patch of the whole list guarded
// by resourceVersion instead, as upstream falls back.
import { ApiStatusError, isConflict, isNotFound, type ApiClient, type KubeObject, type OwnerReference, type ResourceRef } from '../../client/interface.ts';
import type { ObjectIdentity } from './identity.ts';
import { UnknownKindError, type GcResource, type ResourceMapper } from './resources.ts';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

/**
 * A namespaced kind named without a namespace: only a cluster-scoped object
 * naming a namespaced owner leads here, and no retry can change that.
 */
export class NamespacedOwnerOfClusterScopedObject extends Error {
  constructor(identity: Pick<ObjectIdentity, 'apiVersion' | 'kind' | 'name'>) {
    super(`${identity.apiVersion}/${identity.kind} ${identity.name} is namespaced, but named by a cluster-scoped object`);
    this.name = 'NamespacedOwnerOfClusterScopedObject';
  }
}

const isUnsupportedMediaType = (error: unknown) => error instanceof ApiStatusError && error.code === 415;

/** Read-modify-write attempts of a finalizer removal before the queue's backoff takes over. */
const FINALIZER_ATTEMPTS = 5;

export class ObjectOperations {
  private readonly client: ApiClient;
  private readonly mapper: ResourceMapper;

  constructor(options: { client: ApiClient; mapper: ResourceMapper }) {
    this.client = options.client;
    this.mapper = options.mapper;
  }

  resourceOf(apiVersion: string, kind: string): GcResource {
    const resource = this.mapper.resolve(apiVersion, kind);
    if (!resource) throw new UnknownKindError(apiVersion, kind);
    return resource;
  }

  refOf(identity: Pick<ObjectIdentity, 'apiVersion' | 'kind' | 'namespace' | 'name'>): ResourceRef {
    const resource = this.resourceOf(identity.apiVersion, identity.kind);
    if (resource.namespaced && identity.namespace === '') throw new NamespacedOwnerOfClusterScopedObject(identity);
    return this.mapper.refFor(resource, identity.namespace, identity.name);
  }

  /** The object's metadata now, or undefined when there is none under that name. */
  async getMetadata(identity: Pick<ObjectIdentity, 'apiVersion' | 'kind' | 'namespace' | 'name'>): Promise<KubeObject | undefined> {
    try {
      return await this.client.get(this.refOf(identity), { metadataOnly: true });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Delete this very object (uid precondition; also `resourceVersion`, when
   * given, for a decision made on the watched state); already gone is fine.
   */
  async delete(identity: ObjectIdentity, propagationPolicy: PropagationPolicy, resourceVersion?: string): Promise<void> {
    try {
      await this.client.delete(this.refOf(identity), { propagationPolicy, preconditions: { uid: identity.uid, resourceVersion } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Remove the references to `ownerUids` (only from `resourceVersion`, when given); false when the object is gone. */
  async removeOwnerReferences(identity: ObjectIdentity, ownerUids: readonly string[], resourceVersion?: string): Promise<boolean> {
    const drop = new Set(ownerUids);
    return this.patchOwnerReferences(identity, resourceVersion, {
      strategic: ownerUids.map((uid) => ({ $patch: 'delete', uid })),
      rewrite: (refs) => refs.filter((ref) => !drop.has(ref.uid)),
    });
  }

  /** Set blockOwnerDeletion=false on the blocking references; false when the object is gone. */
  async unblockOwnerReferences(identity: ObjectIdentity, owners: readonly OwnerReference[]): Promise<boolean> {
    const blocking = owners.filter((ref) => ref.blockOwnerDeletion === true);
    if (blocking.length === 0) return true;
    return this.patchOwnerReferences(identity, undefined, {
      strategic: blocking.map((ref) => ({ uid: ref.uid, blockOwnerDeletion: false })),
      rewrite: (refs) => refs.map((ref) => (ref.blockOwnerDeletion ? { ...ref, blockOwnerDeletion: false } : ref)),
    });
  }

  /**
   * Drop `finalizer` (read, then a merge patch guarded by resourceVersion,
   * again on conflict). `latest` saves the first read. Removing the last
   * finalizer of an object marked for deletion deletes it.
   */
  async removeFinalizer(identity: ObjectIdentity, finalizer: string, latest?: KubeObject): Promise<void> {
    let current = latest;
    for (let attempt = 1; ; attempt++) {
      current ??= await this.getMetadata(identity);
      if (!current || current.metadata.uid !== identity.uid) return;
      const finalizers = current.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      const patch = { metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: finalizers.filter((f) => f !== finalizer) } };
      try {
        await this.client.patch(this.refOf(identity), 'merge', patch);
        return;
      } catch (error) {
        if (isNotFound(error)) return;
        if (!isConflict(error) || attempt >= FINALIZER_ATTEMPTS) throw error;
        current = undefined;
      }
    }
  }

  private async patchOwnerReferences(
    identity: ObjectIdentity,
    resourceVersion: string | undefined,
    change: { strategic: Record<string, unknown>[]; rewrite: (refs: OwnerReference[]) => OwnerReference[] },
  ): Promise<boolean> {
    const ref = this.refOf(identity);
    try {
      // The uid only restates whose references these are (upstream sends it too);
      // a resourceVersion makes the patch conditional (409 when the object changed).
      await this.client.patch(ref, 'strategic', { metadata: { ownerReferences: change.strategic, uid: identity.uid, resourceVersion } });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      if (!isUnsupportedMediaType(error)) throw error;
    }
    const current = await this.getMetadata(identity);
    if (!current || current.metadata.uid !== identity.uid) return false;
    if (resourceVersion && current.metadata.resourceVersion !== resourceVersion) {
      throw new ApiStatusError({ code: 409, reason: 'Conflict', message: `${identity.kind} ${identity.name} changed since it was observed` });
    }
    const ownerReferences = change.rewrite(current.metadata.ownerReferences ?? []);
    try {
      await this.client.patch(ref, 'merge', { metadata: { resourceVersion: current.metadata.resourceVersion, ownerReferences } });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
