// Emptying one terminating namespace, one pass (upstream's namespaced
// resources deleter): for every deletable namespaced resource, delete the
// whole collection with one deletecollection request (list + delete of each
// object where the resource has no deletecollection), then list what is
// left. Objects held by finalizers, and pods in graceful termination, stay
// for a while: the pass reports how many remain of each resource and of
// each finalizer, and an estimate of the seconds until they are gone, so the
// controller can come back later. Failures of one resource do not stop the
// others; they are reported for the NamespaceDeletionContentFailure
// condition and keep the namespace from being finalized.
//
// Cost per pass: one cheap probe (list, limit 1) per resource; for a
// resource that has objects, one deletecollection and one list. No request
// per object.
import { ApiStatusError, isNotFound, type ApiClient, type KubeObject, type ResourceRef } from '../../client/interface.ts';
import { ConditionUpdater, type ContentTotals } from './conditions.ts';
import { deletableResources, discoveryFailureMessage, type DeletableResource, type DiscoverResources } from './discovery.ts';

/** Upstream's assumption of how long finalizers take to finish, when objects with finalizers remain. */
export const FINALIZER_ESTIMATE_SECONDS = 15;

/** Dependents go too (the whole namespace is being emptied), never held by an orphan finalizer, as upstream. */
const PROPAGATION = 'Background' as const;

/** Requests in flight at once: resources emptied in parallel, and single deletes where deletecollection is missing. */
const RESOURCE_CONCURRENCY = 4;
const ITEM_CONCURRENCY = 16;

export interface ContentPass {
  /** Seconds until the remaining content is expected to be gone (0: nothing left, or nothing expected to go). */
  estimateSeconds: number;
  /** Objects still in the namespace. */
  remaining: number;
  /** What went wrong; the namespace must not be finalized while this is not empty. */
  errors: string[];
  /** The conditions this pass found, to merge into the namespace status. */
  conditions: ConditionUpdater;
}

interface ResourcePass {
  estimateSeconds: number;
  remaining: number;
  finalizers: Map<string, number>;
  error?: string;
}

interface Pod extends KubeObject {
  spec?: { terminationGracePeriodSeconds?: number };
  status?: { phase?: string };
}

export interface ContentDeleterOptions {
  client: ApiClient;
  discover: DiscoverResources;
  /** RFC 3339 now, for condition times; and the clock for grace estimates. */
  now: () => Date;
}

export class ContentDeleter {
  private readonly client: ApiClient;
  private readonly discover: DiscoverResources;
  private readonly now: () => Date;
  /** "list g/v/r" and "deletecollection g/v/r" the server refused (405/404) though discovery offered them. */
  private readonly unsupported = new Set<string>();

  constructor(options: ContentDeleterOptions) {
    this.client = options.client;
    this.discover = options.discover;
    this.now = options.now;
  }

  async deleteAllContent(namespace: string, deletedAt: Date): Promise<ContentPass> {
    const conditions = new ConditionUpdater({ now: () => this.now().toISOString().replace(/\.\d{3}Z$/, 'Z') });
    const errors: string[] = [];
    let lists: Awaited<ReturnType<DiscoverResources>>['lists'] = [];
    try {
      const discovered = await this.discover();
      lists = discovered.lists;
      if (discovered.failedGroups?.size) {
        const message = discoveryFailureMessage(discovered.failedGroups);
        errors.push(message);
        conditions.discoveryFailed(message);
      }
    } catch (error) {
      // Discovery errors are not fatal to the pass: what was discovered is still emptied.
      errors.push((error as Error).message);
      conditions.discoveryFailed((error as Error).message);
    }
    const { resources, parseErrors } = deletableResources(lists);
    if (parseErrors.length) {
      const message = parseErrors.length === 1 ? parseErrors[0] : `[${parseErrors.join(', ')}]`;
      errors.push(message);
      conditions.groupVersionParsingFailed(message);
    }

    const totals: ContentTotals = { remainingByResource: new Map(), remainingByFinalizer: new Map() };
    let estimateSeconds = 0;
    let remaining = 0;
    await forEachLimited(resources, RESOURCE_CONCURRENCY, async (resource) => {
      const pass = await this.deleteAllOf(resource, namespace, deletedAt);
      if (pass.error) {
        errors.push(pass.error);
        conditions.contentDeletionFailed(pass.error);
      }
      estimateSeconds = Math.max(estimateSeconds, pass.estimateSeconds);
      if (pass.remaining > 0) {
        remaining += pass.remaining;
        totals.remainingByResource.set(`${resource.resource}.${resource.group}`, pass.remaining);
        for (const [finalizer, n] of pass.finalizers) totals.remainingByFinalizer.set(finalizer, (totals.remainingByFinalizer.get(finalizer) ?? 0) + n);
      }
    });
    conditions.contentTotals(totals);
    return { estimateSeconds, remaining, errors, conditions };
  }

  private async deleteAllOf(resource: DeletableResource, namespace: string, deletedAt: Date): Promise<ResourcePass> {
    const ref: ResourceRef = { group: resource.group, version: resource.version, resource: resource.resource, namespace };
    const listKey = `list ${gvrKey(resource)}`;
    const collectionKey = `deletecollection ${gvrKey(resource)}`;
    const canList = resource.list && !this.unsupported.has(listKey);
    const empty: ResourcePass = { estimateSeconds: 0, remaining: 0, finalizers: new Map() };
    try {
      if (canList) {
        // Most resources are empty in most namespaces: one cheap look saves two requests.
        const probe = await this.listOrUnsupported(ref, listKey, { limit: 1 });
        if (probe && probe.length === 0) return empty;
      }
      let deleted = false;
      if (resource.deleteCollection && !this.unsupported.has(collectionKey)) deleted = await this.deleteCollection(ref, collectionKey);
      if (!deleted) {
        const items = canList ? await this.listOrUnsupported(ref, listKey) : undefined;
        if (items) await this.deleteEach(ref, items);
      }
      const left = canList ? await this.listOrUnsupported(ref, listKey) : undefined;
      if (!left) return empty;
      return this.remainder({ resource, namespace, items: left, deletedAt });
    } catch (error) {
      return { ...empty, error: (error as Error).message };
    }
  }

  /** What a resource has left after its deletion: counts, and how long it should take to go. */
  private remainder(options: { resource: DeletableResource; namespace: string; items: KubeObject[]; deletedAt: Date }): ResourcePass {
    const { resource, namespace, items, deletedAt } = options;
    const finalizers = new Map<string, number>();
    for (const item of items) {
      for (const finalizer of item.metadata.finalizers ?? []) finalizers.set(finalizer, (finalizers.get(finalizer) ?? 0) + 1);
    }
    const estimateSeconds = resource.group === '' && resource.resource === 'pods' ? this.podGraceEstimate(items as Pod[], deletedAt) : 0;
    const pass: ResourcePass = { estimateSeconds, remaining: items.length, finalizers };
    if (items.length === 0 || estimateSeconds > 0) return pass;
    // Objects with finalizers are expected to linger while their owners clean up.
    if (finalizers.size > 0) return { ...pass, estimateSeconds: FINALIZER_ESTIMATE_SECONDS };
    // Nothing explains why they are still here.
    return { ...pass, error: `unexpected items still remain in namespace: ${namespace} for gvr: ${resource.group}/${resource.version}, Resource=${resource.resource}` };
  }

  /**
   * Pods terminate gracefully: the longest grace period of the pods still
   * running, counted from the namespace's deletion (upstream's estimate).
   */
  private podGraceEstimate(pods: Pod[], deletedAt: Date): number {
    let grace = 0;
    for (const pod of pods) {
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      grace = Math.max(grace, pod.spec?.terminationGracePeriodSeconds ?? 30);
    }
    const elapsed = Math.floor((this.now().getTime() - deletedAt.getTime()) / 1000);
    return Math.max(0, grace - elapsed);
  }

  /** True when the server deleted the collection; false when it does not support that here. */
  private async deleteCollection(ref: ResourceRef, key: string): Promise<boolean> {
    try {
      await this.client.deleteCollection(ref, { propagationPolicy: PROPAGATION });
      return true;
    } catch (error) {
      if (!isUnsupported(error)) throw error;
      this.unsupported.add(key);
      return false;
    }
  }

  /** The objects, or undefined when the server does not list this resource. */
  private async listOrUnsupported(ref: ResourceRef, key: string, options: { limit?: number } = {}): Promise<KubeObject[] | undefined> {
    try {
      return (await this.client.list(ref, options)).items;
    } catch (error) {
      if (!isUnsupported(error)) throw error;
      this.unsupported.add(key);
      return undefined;
    }
  }

  private async deleteEach(ref: ResourceRef, items: KubeObject[]): Promise<void> {
    await forEachLimited(items, ITEM_CONCURRENCY, async (item) => {
      if (item.metadata.deletionTimestamp) return;
      try {
        await this.client.delete({ ...ref, name: item.metadata.name }, { propagationPolicy: PROPAGATION, preconditions: { uid: item.metadata.uid } });
      } catch (error) {
        if (!isNotFound(error) && !isUidConflict(error)) throw error;
      }
    });
  }
}

function gvrKey(r: DeletableResource): string {
  return `${r.group}/${r.version}/${r.resource}`;
}

/**
 * 405, or 404 for the collection itself: the server does not serve this
 * operation here, though discovery said it does (upstream remembers and
 * stops asking).
 */
function isUnsupported(error: unknown): boolean {
  return error instanceof ApiStatusError && (error.code === 405 || error.code === 404);
}

/** A uid precondition that failed: the object was replaced meanwhile (the next pass deletes the new one). */
function isUidConflict(error: unknown): boolean {
  return error instanceof ApiStatusError && error.code === 409 && /Precondition failed: UID/.test(error.message);
}

/** Run `fn` over `items`, at most `limit` at once; waits for all, then rethrows the first failure. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
