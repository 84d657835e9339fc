// An informer: list a resource, then watch it, keeping an indexed local cache
// (cache.ts) and telling handlers what changed. Controllers read the cache
// instead of the API server and react to handler calls by queueing keys.
//
// The loop (upstream's reflector, reduced to its behaviour):
// 1. LIST; the cache becomes exactly the list, and handlers hear the
//    differences (add, update when the resourceVersion changed, delete for
//    what vanished) — so after any gap nothing is missed.
// 2. WATCH from the list's resourceVersion, with bookmarks so the version to
//    resume from stays fresh even when nothing changes.
// 3. When the server ends the watch cleanly (its timeout), watch again from
//    the last version; when the version is too old (410, as an ERROR event or
//    an answer), the stream breaks, or anything else fails: LIST again.
// Repeated failures back off exponentially (with jitter), and a watch that
// dies quickly counts as a failure, so a broken server never sees a tight loop.
import { deepFreeze, IndexedCache, objectKey, type IndexFunc, type Lister } from './cache.ts';
import { ApiStatusError, type ApiClient, type KubeObject, type ResourceRef, type WatchStream } from './interface.ts';

export interface InformerEventHandler<T extends KubeObject> {
  /** `isInInitialList`: part of the first list (or replayed to a handler added later). */
  onAdd?(obj: T, isInInitialList: boolean): void;
  /** Also called with old === obj on every resync. */
  onUpdate?(old: T, obj: T): void;
  /**
   * `obj` is the last state seen. `finalStateUnknown`: the deletion was noticed
   * by a re-list, so the object may have changed before it went.
   */
  onDelete?(obj: T, finalStateUnknown: boolean): void;
}

export interface InformerOptions<T extends KubeObject> {
  client: ApiClient;
  /** group, version, resource, and optionally namespace (else all namespaces). */
  ref: Pick<ResourceRef, 'group' | 'version' | 'resource' | 'namespace'>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as onUpdate(obj, obj) this often (off when absent or 0). */
  resyncMs?: number;
  indexers?: Record<string, IndexFunc<T>>;
  /** Re-list backoff: first delay (default 800 ms) and cap (default 30 s). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Server-side watch timeout; default a random 5–10 minutes, so many informers spread their re-watches. */
  watchTimeoutSeconds?: number;
  /** Where failures are reported (default console). */
  logger?: { warn(message: string): void };
  /** List and watch PartialObjectMetadata only (upstream's metadata informers): no spec or status travels or is cached. */
  metadataOnly?: boolean;
  /**
   * Applied to every listed or watched object before it is cached and handed
   * to handlers (upstream's SetTransform), e.g. to keep only the fields a
   * consumer reads: a large cache then holds small objects.
   */
  transform?: (obj: T) => T;
}

export interface Informer<T extends KubeObject> {
  /** Reads of the cache. Objects are frozen: deep-copy before changing. */
  readonly lister: Lister<T>;
  /** Register handlers; returns the disposer. Added after sync, it first hears every cached object as an add. */
  addEventHandler(handler: InformerEventHandler<T>): () => void;
  start(): void;
  /** Stop the watch and every timer; handlers hear nothing more. Final: an informer does not restart. */
  stop(): void;
  hasSynced(): boolean;
  /** True once the first list is in the cache; false if stopped before that. */
  waitForSync(): Promise<boolean>;
  /** The resourceVersion the cache reflects (from the last list, event or bookmark). */
  lastSyncResourceVersion(): string;
}

/**
 * A `transform` that drops metadata.managedFields (what controller-runtime's
 * TransformStripManagedFields does for controller caches): no controller or
 * the scheduler reads them, a write without them keeps the stored ones (the
 * API server starts from those), and they are over half of a parsed pod — so
 * every pod informer holding them cost ~6 KB more per pod.
 */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (!obj.metadata || !Object.hasOwn(obj.metadata, 'managedFields')) return obj;
  // A new metadata object rather than `delete`, which would leave V8 a slower, larger dictionary-mode object.
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** A watch that lived this long was healthy: its end resets the failure count. */
const HEALTHY_WATCH_MS = 10_000;

type WatchOutcome = 'ended' | 'expired' | 'failed';

class ListWatchInformer<T extends KubeObject> implements Informer<T> {
  private readonly o: InformerOptions<T>;
  private readonly cache: IndexedCache<T>;
  private readonly handlers = new Set<InformerEventHandler<T>>();
  private readonly logger: { warn(message: string): void };
  private started = false;
  private stopped = false;
  private synced = false;
  private syncWaiters: ((synced: boolean) => void)[] = [];
  private resourceVersion = '';
  /** From the list: filled into objects that arrive without apiVersion/kind (upstream servers omit them in lists). */
  private typeMeta: { apiVersion?: string; kind?: string } = {};
  private watch: WatchStream<T> | undefined;
  private sleeper: { timer: NodeJS.Timeout; wake: () => void } | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(options: InformerOptions<T>) {
    this.o = options;
    this.cache = new IndexedCache<T>(options.indexers);
    this.logger = options.logger ?? console;
  }

  get lister(): Lister<T> {
    return this.cache;
  }

  addEventHandler(handler: InformerEventHandler<T>): () => void {
    this.handlers.add(handler);
    if (this.synced) for (const [, obj] of this.cache.entries()) this.call(() => handler.onAdd?.(obj, true));
    return () => { this.handlers.delete(handler); };
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.run().catch((error) => this.logger.warn(`informer ${this.describe()}: stopped by ${String(error)}`));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.watch?.stop();
    clearInterval(this.resyncTimer);
    if (this.sleeper) {
      clearTimeout(this.sleeper.timer);
      this.sleeper.wake();
    }
    for (const resolve of this.syncWaiters.splice(0)) resolve(false);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  private describe(): string {
    const { group, version, resource, namespace } = this.o.ref;
    return `${group ? `${group}/` : ''}${version}/${resource}${namespace ? ` in ${namespace}` : ''}`;
  }

  private async run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
        } catch (error) {
          if (this.stopped) return;
          this.logger.warn(`informer ${this.describe()}: list failed: ${(error as Error).message}`);
          await this.sleep(this.backoffDelay(++failures));
          continue;
        }
      }
      if (this.stopped) return;
      const started = Date.now();
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      if (outcome !== 'ended') needList = true;
      failures = Date.now() - started >= HEALTHY_WATCH_MS ? 0 : failures + 1;
      if (failures > 0) await this.sleep(this.backoffDelay(failures));
    }
  }

  private backoffDelay(failures: number): number {
    const initial = this.o.backoff?.initialMs ?? 800;
    const max = this.o.backoff?.maxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(failures - 1, 30));
    // Jitter keeps informers that failed together from retrying together.
    return Math.min(max, Math.round(base * (1 + Math.random() * 0.25)));
  }

  /** An owned timer: stop() cancels it and wakes the loop. */
  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        this.sleeper = undefined;
        resolve();
      };
      this.sleeper = { timer: setTimeout(wake, ms), wake };
    });
  }

  private prepare(obj: T): T {
    if (obj.apiVersion === undefined && this.typeMeta.apiVersion) obj.apiVersion = this.typeMeta.apiVersion;
    if (obj.kind === undefined && this.typeMeta.kind) obj.kind = this.typeMeta.kind;
    return this.o.transform ? this.o.transform(obj) : obj;
  }

  private async listAndReplace(): Promise<void> {
    const list = await this.o.client.list<T>(this.o.ref, {
      labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, metadataOnly: this.o.metadataOnly,
    });
    if (this.stopped) return;
    this.typeMeta = { apiVersion: list.apiVersion, kind: list.kind?.replace(/List$/, '') };
    const fresh = new Map<string, T>();
    for (const item of list.items) fresh.set(objectKey(item), this.prepare(item));
    const initial = !this.synced;
    for (const [key, old] of [...this.cache.entries()]) {
      if (fresh.has(key)) continue;
      this.cache.remove(key);
      this.notifyDelete(old, true);
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.getByKey(key);
      if (!old) {
        this.cache.upsert(obj);
        this.notifyAdd(obj, initial);
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.cache.upsert(obj);
        this.notifyUpdate(old, obj);
      }
    }
    this.resourceVersion = list.metadata.resourceVersion ?? '';
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve(true);
      this.startResync();
    }
  }

  private async watchOnce(): Promise<WatchOutcome> {
    const watch = this.o.client.watch<T>(this.o.ref, {
      resourceVersion: this.resourceVersion,
      labelSelector: this.o.labelSelector,
      fieldSelector: this.o.fieldSelector,
      allowWatchBookmarks: true,
      metadataOnly: this.o.metadataOnly,
      timeoutSeconds: this.o.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
    });
    this.watch = watch;
    try {
      for await (const event of watch) {
        if (this.stopped) return 'ended';
        const obj = event.object;
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED': {
            const prepared = this.prepare(obj);
            const old = this.cache.upsert(prepared);
            if (old) this.notifyUpdate(old, prepared);
            else this.notifyAdd(prepared, false);
            break;
          }
          case 'DELETED': {
            const old = this.cache.remove(objectKey(obj));
            if (old) this.notifyDelete(deepFreeze(this.prepare(obj)), false);
            break;
          }
          case 'BOOKMARK':
            break;
          case 'ERROR': {
            const status = obj as unknown as { code?: number; message?: string };
            if (status.code === 410) return 'expired';
            this.logger.warn(`informer ${this.describe()}: watch error ${status.code}: ${status.message}`);
            return 'failed';
          }
          default:
            this.logger.warn(`informer ${this.describe()}: unknown watch event type ${String(event.type)}`);
            return 'failed';
        }
        const version = obj?.metadata?.resourceVersion;
        if (version) this.resourceVersion = version;
      }
      return 'ended';
    } catch (error) {
      if (error instanceof ApiStatusError && error.code === 410) return 'expired';
      if (!this.stopped) this.logger.warn(`informer ${this.describe()}: watch failed: ${(error as Error).message}`);
      return 'failed';
    } finally {
      watch.stop();
      if (this.watch === watch) this.watch = undefined;
    }
  }

  private startResync(): void {
    const every = this.o.resyncMs;
    if (!every || every <= 0 || this.stopped) return;
    this.resyncTimer = setInterval(() => {
      for (const [, obj] of this.cache.entries()) this.notifyUpdate(obj, obj);
    }, every);
  }

  private notifyAdd(obj: T, initial: boolean): void {
    for (const h of this.handlers) this.call(() => h.onAdd?.(obj, initial));
  }

  private notifyUpdate(old: T, obj: T): void {
    for (const h of this.handlers) this.call(() => h.onUpdate?.(old, obj));
  }

  private notifyDelete(obj: T, finalStateUnknown: boolean): void {
    for (const h of this.handlers) this.call(() => h.onDelete?.(obj, finalStateUnknown));
  }

  /** A throwing handler must not stop the informer or the other handlers. */
  private call(fn: () => void): void {
    if (this.stopped) return;
    try {
      fn();
    } catch (error) {
      this.logger.warn(`informer ${this.describe()}: handler failed: ${(error as Error)?.stack ?? error}`);
    }
  }
}

export function createInformer<T extends KubeObject = KubeObject>(options: InformerOptions<T>): Informer<T> {
  return new ListWatchInformer<T>(options);
}
