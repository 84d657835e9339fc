// One metadata-only informer per watched resource (upstream's monitors),
// feeding the owner graph. Only PartialObjectMetadata travels, and the cache
// keeps of each object just what the collector reads (name, namespace, uid,
// resourceVersion, ownerReferences, finalizers, deletionTimestamp), so a
// cluster of many objects costs little memory. Resources can be added and
// removed while running (custom resources served later).
import { createInformer, type Informer } from '../../client/informer.ts';
import type { ApiClient, KubeObject, ObjectMeta, OwnerReference } from '../../client/interface.ts';
import type { ObservedObject } from './graph.ts';
import { apiVersionOf, resourceKey, type GcResource } from './resources.ts';

export interface GraphSink {
  observe(next: ObservedObject, old?: ObservedObject): void;
  observeDeleted(identity: ObservedObject['identity']): void;
}

export interface MonitorsOptions {
  client: ApiClient;
  graph: GraphSink;
  logger: { warn(message: string): void };
}

interface Monitor {
  resource: GcResource;
  informer: Informer<KubeObject>;
  dispose: () => void;
}

const NONE: readonly never[] = Object.freeze([]);

/** The fields the collector reads, under the resource's own apiVersion and kind. */
export function slimObject(resource: GcResource, obj: KubeObject): KubeObject {
  const m = obj.metadata;
  const metadata: ObjectMeta = { name: m.name, uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.namespace) metadata.namespace = m.namespace;
  if (m.ownerReferences?.length) metadata.ownerReferences = m.ownerReferences;
  if (m.finalizers?.length) metadata.finalizers = m.finalizers;
  if (m.deletionTimestamp) metadata.deletionTimestamp = m.deletionTimestamp;
  return { apiVersion: apiVersionOf(resource), kind: resource.kind, metadata };
}

export function observedObject(resource: GcResource, obj: KubeObject): ObservedObject {
  const m = obj.metadata;
  return {
    identity: { apiVersion: apiVersionOf(resource), kind: resource.kind, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' },
    owners: (m.ownerReferences as readonly OwnerReference[] | undefined) ?? NONE,
    beingDeleted: Boolean(m.deletionTimestamp),
    finalizers: m.finalizers ?? NONE,
    resourceVersion: m.resourceVersion,
  };
}

export class Monitors {
  private readonly o: MonitorsOptions;
  private readonly monitors = new Map<string, Monitor>();
  private started = false;
  private stopped = false;

  constructor(options: MonitorsOptions) {
    this.o = options;
  }

  /** Watch exactly these resources: start monitors for new ones, stop those no longer listed. */
  sync(resources: readonly GcResource[]): { added: GcResource[]; removed: GcResource[] } {
    if (this.stopped) return { added: [], removed: [] };
    const wanted = new Map(resources.map((r) => [resourceKey(r), r]));
    const removed: GcResource[] = [];
    for (const [key, monitor] of this.monitors) {
      if (wanted.has(key)) continue;
      monitor.dispose();
      monitor.informer.stop();
      this.monitors.delete(key);
      removed.push(monitor.resource);
    }
    const added: GcResource[] = [];
    for (const [key, resource] of wanted) {
      if (this.monitors.has(key)) continue;
      const monitor = this.createMonitor(resource);
      this.monitors.set(key, monitor);
      if (this.started) monitor.informer.start();
      added.push(resource);
    }
    return { added, removed };
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const monitor of this.monitors.values()) monitor.informer.start();
  }

  /** True once every monitor has listed (false if stopped first). */
  async waitForSync(): Promise<boolean> {
    const results = await Promise.all([...this.monitors.values()].map((m) => m.informer.waitForSync()));
    return !this.stopped && results.every(Boolean);
  }

  hasSynced(): boolean {
    return [...this.monitors.values()].every((m) => m.informer.hasSynced());
  }

  resources(): GcResource[] {
    return [...this.monitors.values()].map((m) => m.resource);
  }

  stop(): void {
    this.stopped = true;
    for (const monitor of this.monitors.values()) {
      monitor.dispose();
      monitor.informer.stop();
    }
    this.monitors.clear();
  }

  private createMonitor(resource: GcResource): Monitor {
    const informer = createInformer<KubeObject>({
      client: this.o.client,
      ref: { group: resource.group, version: resource.version, resource: resource.resource },
      metadataOnly: true,
      transform: (obj) => slimObject(resource, obj),
      logger: this.o.logger,
    });
    const { graph } = this.o;
    const dispose = informer.addEventHandler({
      onAdd: (obj) => graph.observe(observedObject(resource, obj)),
      onUpdate: (old, obj) => {
        if (old === obj) return;
        // Deleted and created again under the same name while the watch was down: two objects.
        if (old.metadata.uid !== obj.metadata.uid) {
          graph.observeDeleted(observedObject(resource, old).identity);
          graph.observe(observedObject(resource, obj));
          return;
        }
        graph.observe(observedObject(resource, obj), observedObject(resource, old));
      },
      onDelete: (obj) => graph.observeDeleted(observedObject(resource, obj).identity),
    });
    return { resource, informer, dispose };
  }
}
