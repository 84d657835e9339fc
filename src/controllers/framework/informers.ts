// Shared informers: one list+watch per resource for all controllers of a
// manager, as upstream's SharedInformerFactory. The ReplicaSet, RC and
// Deployment controllers all read pods; one pod watch serves them all and
// they all see the same cache.
import { createInformer, withoutManagedFields, type Informer } from '../../client/informer.ts';
import type { ApiClient, KubeObject, ResourceRef } from '../../client/interface.ts';
import { getControllerOf } from './controller-ref.ts';

/** Index of every shared informer: the uid of the object's controller (its controller ownerReference). */
export const CONTROLLER_UID_INDEX = 'controllerUid';

export type ResourceType = Pick<ResourceRef, 'group' | 'version' | 'resource'>;

export interface SharedInformers {
  /** The informer for a resource (all namespaces), created on first use; started at once if the factory runs. */
  informerFor<T extends KubeObject = KubeObject>(ref: ResourceType): Informer<T>;
  /** Start every informer made so far, and those made later. */
  start(): void;
  /** True once every informer made so far has its first list (false if stopped first). */
  waitForSync(): Promise<boolean>;
  /** Stop every informer. Final. */
  stop(): void;
}

export interface SharedInformersOptions {
  client: ApiClient;
  /** Re-deliver cached objects as updates this often (off by default: the controllers requeue themselves). */
  resyncMs?: number;
  logger?: { warn(message: string): void };
}

const controllerUidIndex = (obj: KubeObject): string[] => {
  const ref = getControllerOf(obj);
  return ref ? [ref.uid] : [];
};

export function createSharedInformers(options: SharedInformersOptions): SharedInformers {
  const informers = new Map<string, Informer<KubeObject>>();
  let started = false;
  let stopped = false;
  return {
    informerFor<T extends KubeObject>(ref: ResourceType): Informer<T> {
      const key = `${ref.group}/${ref.version}/${ref.resource}`;
      let informer = informers.get(key);
      if (!informer) {
        if (stopped) throw new Error('shared informers are stopped');
        informer = createInformer<KubeObject>({
          client: options.client,
          ref: { group: ref.group, version: ref.version, resource: ref.resource },
          resyncMs: options.resyncMs,
          indexers: { [CONTROLLER_UID_INDEX]: controllerUidIndex },
          logger: options.logger,
          // No controller reads managedFields; a cache of every pod without them is less than half the size.
          transform: withoutManagedFields,
        });
        informers.set(key, informer);
        if (started) informer.start();
      }
      return informer as unknown as Informer<T>;
    },
    start() {
      if (started || stopped) return;
      started = true;
      for (const informer of informers.values()) informer.start();
    },
    async waitForSync() {
      const results = await Promise.all([...informers.values()].map((i) => i.waitForSync()));
      return results.every(Boolean);
    },
    stop() {
      stopped = true;
      for (const informer of informers.values()) informer.stop();
    },
  };
}
