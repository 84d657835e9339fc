// The cache of one resource type (one key prefix such as /registry/core/pods/):
// its current objects in key order, its indexes, its window of recent events,
// and the watchers it serves.
//
// Events arrive from the cached store's single underlying watch, in revision
// order. While the type is still being loaded (a list from the backend) they
// are held back, then applied if newer than the list.
//
// Indexes (spec.nodeName of pods, labels) serve two purposes, as upstream's
// "triggers" do: a LIST with an index hint reads only the matching keys, and a
// WATCH with one is registered under its value, so an event is dispatched only
// to the watchers whose value the object had before or after the write,
// instead of to every watcher of the type.
import type { IndexHint, KeyValue, ListOptions, ListResult, WatchEvent } from '../interface.ts';
import { compareKeys, lowerBound } from '../keys.ts';
import { CacheWatcher } from './cache-watcher.ts';
import { EventWindow } from './event-window.ts';

/** Values of one index for a stored value (e.g. the node name of a pod). */
export interface Indexer {
  name: string;
  values(kv: KeyValue): readonly string[];
}

export interface ResourceCacheOptions {
  prefix: string;
  indexers: readonly Indexer[];
  window: { minSize: number; maxSize: number; freshMs: number };
  watcherCapacity: number;
  /** The revision the whole cache has dispatched up to. */
  cacheRevision: () => number;
  /** Running totals of this type, kept across rebuilds of its cache (metrics). */
  counters: ResourceCounters;
}

export interface ResourceCounters {
  eventsDispatched: number;
  /** Watchers ended because their buffer overflowed. */
  terminatedWatchers: number;
}

interface Entry {
  kv: KeyValue;
  /** Index keys ("name\0value") of this value. */
  indexKeys: readonly string[];
}

const NO_KEYS: readonly string[] = Object.freeze([]);
const indexKey = (name: string, value: string) => `${name}\0${value}`;

/**
 * The event with its prevKv replaced by the cached KeyValue of the same key
 * and revision (the same content): the backend sends its own copy of the old
 * value, and the window holding both copies kept every version of an object
 * twice — the previous event's kv and the next one's prevKv.
 */
function sharePrevious(event: WatchEvent, cached: KeyValue | undefined): WatchEvent {
  const prevKv = event.prevKv;
  if (!prevKv || !cached || prevKv === cached || cached.modRevision !== prevKv.modRevision || cached.key !== prevKv.key) return event;
  return { ...event, prevKv: cached };
}

export class ResourceCache {
  readonly prefix: string;
  readonly #o: ResourceCacheOptions;
  #ready = false;
  #pending: WatchEvent[] = [];
  /** The revision of the list the cache was loaded from. */
  #loadedAt = 0;
  readonly #objects = new Map<string, Entry>();
  /** Keys of #objects in compareKeys order. */
  #sorted: string[] = [];
  readonly #index = new Map<string, Set<string>>();
  #window: EventWindow | undefined;
  /** Watchers that get every event of the type (after a key-prefix check). */
  readonly #untriggered = new Set<CacheWatcher>();
  /** Watchers registered under one index key. */
  readonly #triggered = new Map<string, Set<CacheWatcher>>();

  constructor(options: ResourceCacheOptions) {
    this.#o = options;
    this.prefix = options.prefix;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get loadedAt(): number {
    return this.#loadedAt;
  }

  get size(): number {
    return this.#objects.size;
  }

  get watcherCount(): number {
    let count = this.#untriggered.size;
    for (const set of this.#triggered.values()) count += set.size;
    return count;
  }

  /** The oldest revision a watch can start from in memory (undefined while loading). */
  get windowStart(): number | undefined {
    return this.#window?.startRevision;
  }

  get windowSize(): number {
    return this.#window?.size ?? 0;
  }

  hasIndex(name: string): boolean {
    return this.#o.indexers.some((indexer) => indexer.name === name);
  }

  /** The backend's list at `revision`, then the events that arrived meanwhile. */
  load(items: readonly KeyValue[], revision: number): void {
    this.#loadedAt = revision;
    for (const kv of items) {
      const entry = this.#entry(kv);
      this.#objects.set(kv.key, entry);
      this.#addToIndex(kv.key, entry.indexKeys);
    }
    this.#sorted = [...this.#objects.keys()].sort(compareKeys);
    this.#window = new EventWindow({ startRevision: revision, ...this.#o.window });
    this.#ready = true;
    const pending = this.#pending;
    this.#pending = [];
    for (const event of pending) this.apply(event);
  }

  apply(received: WatchEvent): void {
    if (!this.#ready) {
      this.#pending.push(received);
      return;
    }
    if (received.revision <= this.#loadedAt) return;
    const key = received.kv.key;
    const previous = this.#objects.get(key);
    const event = sharePrevious(received, previous?.kv);
    let current: Entry | undefined;
    if (event.type === 'delete') {
      if (previous) {
        this.#objects.delete(key);
        const at = lowerBound(this.#sorted, key);
        if (this.#sorted[at] === key) this.#sorted.splice(at, 1);
      }
    } else {
      current = this.#entry(event.kv);
      this.#objects.set(key, current);
      if (!previous) this.#sorted.splice(lowerBound(this.#sorted, key), 0, key);
    }
    const before = previous?.indexKeys ?? NO_KEYS;
    const after = current?.indexKeys ?? NO_KEYS;
    this.#removeFromIndex(key, before.filter((k) => !after.includes(k)));
    this.#addToIndex(key, after.filter((k) => !before.includes(k)));
    const touched = before.length === 0 ? after : after.length === 0 ? before : [...new Set([...before, ...after])];
    this.#window!.push(event, touched);
    this.#o.counters.eventsDispatched++;
    this.#dispatch(event, touched);
  }

  /** Serves a list of the current objects (the caller made sure they are fresh enough). */
  list(options: ListOptions, revision: number): ListResult {
    const { prefix, after } = options;
    const limit = options.limit || Infinity;
    const hint = options.index && this.hasIndex(options.index.name) ? options.index : undefined;
    const keys = hint ? this.#indexedKeys(hint, prefix) : this.#sorted;
    let at = lowerBound(keys, prefix);
    if (after !== undefined && compareKeys(after, prefix) >= 0) {
      at = lowerBound(keys, after);
      if (keys[at] === after) at++;
    }
    const items: KeyValue[] = [];
    let remaining = 0;
    for (; at < keys.length; at++) {
      const key = keys[at]!;
      if (!key.startsWith(prefix)) break;
      if (items.length < limit) items.push({ ...this.#objects.get(key)!.kv });
      else remaining++;
    }
    return { items, revision, more: remaining > 0, remaining };
  }

  /** A watcher from `fromRevision`, or undefined when the window no longer reaches back that far. */
  watch(options: { prefix: string; fromRevision: number; index?: IndexHint }): CacheWatcher | undefined {
    const window = this.#window;
    if (!window || options.fromRevision < window.startRevision) return undefined;
    const trigger = options.index && this.hasIndex(options.index.name) ? indexKey(options.index.name, options.index.value) : undefined;
    const initial: WatchEvent[] = [];
    for (const entry of window.since(options.fromRevision)) {
      if (!entry.event.kv.key.startsWith(options.prefix)) continue;
      if (trigger !== undefined && !entry.touched.includes(trigger)) continue;
      initial.push(entry.event);
    }
    let set: Set<CacheWatcher>;
    if (trigger === undefined) set = this.#untriggered;
    else {
      set = this.#triggered.get(trigger) ?? new Set();
      this.#triggered.set(trigger, set);
    }
    const watcher: CacheWatcher = new CacheWatcher({
      prefix: options.prefix,
      fromRevision: options.fromRevision,
      initial,
      capacity: this.#o.watcherCapacity,
      cacheRevision: this.#o.cacheRevision,
      onStop: () => {
        if (watcher.endReason === 'overflow') this.#o.counters.terminatedWatchers++;
        set.delete(watcher);
        if (trigger !== undefined && set.size === 0 && this.#triggered.get(trigger) === set) this.#triggered.delete(trigger);
      },
    });
    set.add(watcher);
    return watcher;
  }

  /** Ends every watcher (the cache is being rebuilt or closed): clients re-watch. */
  stopAll(): void {
    for (const watcher of [...this.#untriggered]) watcher.end('reset');
    for (const set of [...this.#triggered.values()]) for (const watcher of [...set]) watcher.end('reset');
  }

  #dispatch(event: WatchEvent, touched: readonly string[]): void {
    for (const watcher of this.#untriggered) watcher.push(event);
    for (const key of touched) {
      const set = this.#triggered.get(key);
      if (set) for (const watcher of set) watcher.push(event);
    }
  }

  #entry(kv: KeyValue): Entry {
    if (this.#o.indexers.length === 0) return { kv, indexKeys: NO_KEYS };
    const keys: string[] = [];
    for (const indexer of this.#o.indexers) {
      for (const value of indexer.values(kv)) keys.push(indexKey(indexer.name, value));
    }
    return { kv, indexKeys: keys.length === 0 ? NO_KEYS : keys };
  }

  #indexedKeys(hint: IndexHint, prefix: string): string[] {
    const keys: string[] = [];
    for (const key of this.#index.get(indexKey(hint.name, hint.value)) ?? []) if (key.startsWith(prefix)) keys.push(key);
    return keys.sort(compareKeys);
  }

  #addToIndex(key: string, indexKeys: readonly string[]): void {
    for (const k of indexKeys) {
      let set = this.#index.get(k);
      if (!set) this.#index.set(k, (set = new Set()));
      set.add(key);
    }
  }

  #removeFromIndex(key: string, indexKeys: readonly string[]): void {
    for (const k of indexKeys) {
      const set = this.#index.get(k);
      set?.delete(key);
      if (set?.size === 0) this.#index.delete(k);
    }
  }
}
