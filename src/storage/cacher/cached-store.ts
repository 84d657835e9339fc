// The watch cache: a Store that serves LIST and WATCH from memory and passes
// everything else (get, writes, count, compaction) to the backend it wraps.
//
//   const store = await createCachedStore(backend, { resourcePrefixOf, indexers });
//
// One watch on the backend (the whole key space) feeds a cache per resource
// type (ResourceCache), created when the type is first listed or watched. A
// single watch rather than one per type because the Store interface has no
// progress notifications: a watch of one type cannot tell that it is fresh at a
// revision written to another type, while one watch of everything sees every
// revision, so "the cache has reached revision R" is exact. That is what makes
// consistent reads from the cache possible (as upstream 1.31+ does them): ask
// the backend for its current revision (one cheap call), wait until the cache
// has dispatched it, answer from memory.
//
// What falls through to the backend: a list at an exact older revision (the
// pages of a paged list once the cache moved on), a watch from a revision older
// than the cache's window, anything while a type is still loading, and a list
// whose freshness the cache cannot reach within `freshnessTimeoutMs`.
import { StorageError, type KeyValue, type ListOptions, type ListResult, type Store, type Watch, type WatchEvent, type WatchOptions } from '../interface.ts';
import { ResourceCache, type Indexer, type ResourceCounters } from './resource-cache.ts';

export interface CachedStoreOptions {
  /**
   * The resource prefix a request prefix (or key) belongs to — one cache per
   * resource prefix — or undefined to pass the request to the backend.
   */
  resourcePrefixOf: (prefix: string) => string | undefined;
  /** The indexes of a resource prefix (default none). */
  indexersFor?: (resourcePrefix: string) => readonly Indexer[];
  /** Resource prefixes to load before createCachedStore resolves (others load on first use). */
  preload?: readonly string[];
  /** Events each type keeps at least / at most, and how long it keeps them between the two. */
  windowMinSize?: number;
  windowMaxSize?: number;
  windowFreshMs?: number;
  /** Live events one watcher may have waiting before it is ended. */
  watcherCapacity?: number;
  /** How long a list waits for the cache to reach the revision it needs before asking the backend. */
  freshnessTimeoutMs?: number;
  /** Whether close() closes the backend too (default true, as the Store contract says). */
  closeBackend?: boolean;
}

export interface CacheStats {
  revision: number;
  /** Lists the cache could not answer fresh enough in time (the backend answered). */
  freshnessTimeouts: number;
  /** Lists answered from memory and by the backend (of the types the cache covers). */
  lists: { fromCache: number; fromBackend: number };
  resources: Array<{
    prefix: string; ready: boolean; objects: number; watchers: number; windowStart: number | undefined; windowSize: number;
  } & ResourceCounters>;
}

export type CachedStore = Store & { stats(): CacheStats };

const DEFAULTS = {
  windowMinSize: 100,
  windowMaxSize: 10_000,
  windowFreshMs: 75_000, // upstream's eventFreshDuration
  watcherCapacity: 10_000,
  freshnessTimeoutMs: 3_000, // upstream's waitUntilFreshAndBlock
};
const RESTART_DELAY_MS = 1_000;

export async function createCachedStore(backend: Store, options: CachedStoreOptions): Promise<CachedStore> {
  const store = new CacheLayer(backend, options);
  await store.start();
  return store;
}

interface FreshnessWaiter {
  revision: number;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

class CacheLayer implements Store {
  readonly #backend: Store;
  readonly #o: CachedStoreOptions & typeof DEFAULTS;
  readonly #resources = new Map<string, ResourceCache>();
  /** The backend list that fills each cache still loading (settles either way). */
  readonly #loading = new WeakMap<ResourceCache, Promise<void>>();
  /** Resource prefixes asked for so far: loaded again after a restart of the underlying watch. */
  readonly #wanted = new Set<string>();
  /** The revision up to which every event has been dispatched. */
  #revision = 0;
  /** The highest revision known to exist (writes through this layer, backend answers). */
  #known = 0;
  /** Compactions made through this layer: a watch below it must fail as the backend's would. */
  #compacted = 0;
  #watch: Watch | undefined;
  #running = false;
  #waiters: FreshnessWaiter[] = [];
  #freshnessTimeouts = 0;
  readonly #lists = { fromCache: 0, fromBackend: 0 };
  readonly #counters = new Map<string, ResourceCounters>();
  #lastTimeoutWarning = 0;
  #closed = false;
  readonly checkHealth?: () => Promise<void>;

  constructor(backend: Store, options: CachedStoreOptions) {
    this.#backend = backend;
    this.#o = { ...DEFAULTS, ...options };
    if (backend.checkHealth) this.checkHealth = () => backend.checkHealth!();
  }

  /** Starts the underlying watch and loads the preloaded types. */
  async start(): Promise<void> {
    await this.#startWatch();
    await Promise.all((this.#o.preload ?? []).map((prefix) => this.#loaded(prefix)));
  }

  stats(): CacheStats {
    return {
      revision: this.#revision,
      freshnessTimeouts: this.#freshnessTimeouts,
      lists: { ...this.#lists },
      resources: [...this.#resources.values()].map((cache) => ({
        prefix: cache.prefix, ready: cache.ready, objects: cache.size, watchers: cache.watcherCount,
        windowStart: cache.windowStart, windowSize: cache.windowSize, ...this.#countersOf(cache.prefix),
      })),
    };
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.#backend.get(key);
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.#checkOpen();
    const prefix = this.#o.resourcePrefixOf(options.prefix);
    if (prefix === undefined) return this.#backend.list(options);
    const cache = await this.#loaded(prefix);
    if (!cache) return this.#fromBackend(options);
    if (options.revision) {
      // An exact snapshot: only the cache's own revision is in memory.
      if (this.#usable(cache) && options.revision === this.#revisionOf(cache)) return this.#fromCache(cache, options, options.revision);
      return this.#fromBackend(options);
    }
    const needed = options.notOlderThan ?? this.#sawRevision(await this.#backend.currentRevision());
    if (!(await this.#fresh(cache, needed)) || !this.#usable(cache)) return this.#fromBackend(options);
    return this.#fromCache(cache, options, this.#revisionOf(cache));
  }

  #fromCache(cache: ResourceCache, options: ListOptions, revision: number): ListResult {
    this.#lists.fromCache++;
    return cache.list(options, revision);
  }

  #fromBackend(options: ListOptions): Promise<ListResult> {
    this.#lists.fromBackend++;
    return this.#backend.list(options);
  }

  #countersOf(prefix: string): ResourceCounters {
    let counters = this.#counters.get(prefix);
    if (!counters) this.#counters.set(prefix, (counters = { eventsDispatched: 0, terminatedWatchers: 0 }));
    return counters;
  }

  async create(key: string, value: string): Promise<KeyValue> {
    return this.#wrote(await this.#backend.create(key, value));
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.#wrote(await this.#backend.update(key, value, expectedModRevision));
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.#wrote(await this.#backend.delete(key, expectedModRevision));
  }

  watch(options: WatchOptions): Watch {
    this.#checkOpen();
    const prefix = this.#o.resourcePrefixOf(options.prefix);
    if (prefix === undefined) return this.#backend.watch(options);
    const cache = this.#resources.get(prefix);
    if (!cache) void this.#loaded(prefix); // served from memory next time
    // A revision not known to exist yet, or compacted: the backend decides (and throws).
    if (!cache?.ready || options.fromRevision > this.#known || options.fromRevision < this.#compacted) return this.#backend.watch(options);
    return cache.watch(options) ?? this.#backend.watch(options);
  }

  count(prefix: string): Promise<number> {
    return this.#backend.count(prefix);
  }

  async compact(revision: number): Promise<void> {
    await this.#backend.compact(revision);
    this.#compacted = Math.max(this.#compacted, revision);
  }

  async currentRevision(): Promise<number> {
    return this.#sawRevision(await this.#backend.currentRevision());
  }

  compactedRevision(): Promise<number> {
    return this.#backend.compactedRevision();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.stop();
    this.#dropResources();
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiters = [];
    if (this.#o.closeBackend !== false) await this.#backend.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('storage: the watch cache is closed', '');
  }

  #wrote(kv: KeyValue): KeyValue {
    this.#sawRevision(kv.modRevision);
    return kv;
  }

  #sawRevision(revision: number): number {
    if (revision > this.#known) this.#known = revision;
    return revision;
  }

  /** The revision a ready type's contents are exactly at. */
  #revisionOf(cache: ResourceCache): number {
    return Math.max(this.#revision, cache.loadedAt);
  }

  /** Still the live cache of its type (not dropped by a restart or close meanwhile). */
  #usable(cache: ResourceCache): boolean {
    return !this.#closed && cache.ready && this.#resources.get(cache.prefix) === cache;
  }

  /** Waits (bounded) until `cache` reflects at least `revision`; false if it did not get there. */
  #fresh(cache: ResourceCache, revision: number): Promise<boolean> {
    if (this.#revisionOf(cache) >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: FreshnessWaiter = {
        revision,
        resolve,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          this.#freshnessTimeouts++;
          // Rare unless a resourceVersion from the future was asked for, or the underlying watch is stuck.
          if (Date.now() - this.#lastTimeoutWarning > 60_000) {
            this.#lastTimeoutWarning = Date.now();
            process.emitWarning(`watch cache: ${cache.prefix} not at revision ${revision} after ${this.#o.freshnessTimeoutMs} ms (at ${this.#revisionOf(cache)}); reading from storage`);
          }
          resolve(false);
        }, this.#o.freshnessTimeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** The ready cache of a type, loading it first if needed; undefined if it cannot be loaded now. */
  async #loaded(prefix: string): Promise<ResourceCache | undefined> {
    this.#wanted.add(prefix);
    let cache = this.#resources.get(prefix);
    if (cache?.ready) return cache;
    if (!cache && this.#running) cache = this.#startLoading(prefix);
    if (!cache) return undefined;
    await this.#loading.get(cache);
    return this.#usable(cache) ? cache : undefined;
  }

  #startLoading(prefix: string): ResourceCache {
    const cache: ResourceCache = new ResourceCache({
      prefix,
      indexers: this.#o.indexersFor?.(prefix) ?? [],
      window: { minSize: this.#o.windowMinSize, maxSize: this.#o.windowMaxSize, freshMs: this.#o.windowFreshMs },
      watcherCapacity: this.#o.watcherCapacity,
      cacheRevision: (): number => this.#revisionOf(cache),
      counters: this.#countersOf(prefix),
    });
    // Registered before the list is sent, so every event after the list's
    // revision reaches it (those it already has are skipped by revision).
    this.#resources.set(prefix, cache);
    const loading = this.#backend.list({ prefix }).then(
      (list) => {
        if (this.#resources.get(prefix) === cache) cache.load(list.items, this.#sawRevision(list.revision));
      },
      (error: unknown) => {
        if (this.#resources.get(prefix) === cache) this.#resources.delete(prefix);
        if (!this.#closed) process.emitWarning(`watch cache: loading ${prefix} failed: ${String(error)}`);
      },
    );
    this.#loading.set(cache, loading);
    return cache;
  }

  async #startWatch(): Promise<void> {
    const from = this.#sawRevision(await this.#backend.currentRevision());
    if (this.#closed) return;
    this.#revision = Math.max(this.#revision, from);
    const watch = this.#backend.watch({ prefix: '', fromRevision: from });
    this.#watch = watch;
    this.#running = true;
    for (const prefix of this.#wanted) if (!this.#resources.has(prefix)) this.#startLoading(prefix);
    void this.#consume(watch);
  }

  async #consume(watch: Watch): Promise<void> {
    try {
      for await (const event of watch.events) this.#dispatch(event);
    } catch (error) {
      if (!this.#closed) process.emitWarning(`watch cache: the underlying watch failed, rebuilding: ${String(error)}`);
    }
    if (this.#closed || this.#watch !== watch) return;
    // The watch ended under us (history compacted away during an outage, the
    // backend restarted): start over, as a reflector relists. Cache watchers end
    // cleanly and their clients re-watch.
    this.#running = false;
    this.#dropResources();
    let lastWarning = 0;
    for (;;) {
      // Unref'd: a backend closed before its cache must not keep the process alive.
      await new Promise((resolve) => setTimeout(resolve, RESTART_DELAY_MS).unref());
      if (this.#closed) return;
      try {
        await this.#startWatch();
        return;
      } catch (error) {
        if (Date.now() - lastWarning > 60_000) {
          lastWarning = Date.now();
          process.emitWarning(`watch cache: restarting the underlying watch failed (retrying every second): ${String(error)}`);
        }
      }
    }
  }

  #dispatch(event: WatchEvent): void {
    const prefix = this.#o.resourcePrefixOf(event.kv.key);
    if (prefix !== undefined) this.#resources.get(prefix)?.apply(event);
    if (event.revision > this.#revision) this.#revision = event.revision;
    this.#sawRevision(event.revision);
    if (this.#waiters.length === 0) return;
    const still: FreshnessWaiter[] = [];
    for (const waiter of this.#waiters) {
      if (waiter.revision <= this.#revision) {
        clearTimeout(waiter.timer);
        waiter.resolve(true);
      } else still.push(waiter);
    }
    this.#waiters = still;
  }

  #dropResources(): void {
    const caches = [...this.#resources.values()];
    this.#resources.clear();
    for (const cache of caches) cache.stopAll();
  }
}
