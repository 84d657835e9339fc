// The informer's local copy of a resource: objects by `namespace/name` key,
// a namespace index, and any number of named secondary indexes ("pods by
// node", "by owner uid"). Listers read it; only the informer writes it.
//
// Objects in the cache are deep-frozen: every controller shares them, so one
// that changed a cached object in place would corrupt everyone's view (and
// its own next comparison). Deep-copy (structuredClone) before changing.
import type { KubeObject } from './interface.ts';

/** Index values of an object: e.g. `(pod) => [pod.spec.nodeName]`. Empty: not indexed. */
export type IndexFunc<T> = (obj: T) => string[];

/** Read-only queries on an informer's cache. Returned objects are frozen. */
export interface Lister<T extends KubeObject> {
  /** `namespace` is ignored ('' or undefined) for cluster-scoped objects. */
  get(namespace: string | undefined, name: string): T | undefined;
  /** All objects, or those of one namespace. */
  list(namespace?: string): T[];
  /** Objects whose index function returned `value`. Throws for an unknown index. */
  byIndex(indexName: string, value: string): T[];
  /** Object by cache key (`namespace/name`, or `name` for cluster-scoped objects). */
  getByKey(key: string): T | undefined;
  keys(): string[];
}

/** The cache key upstream uses too: `namespace/name`, or `name` without a namespace. */
export function objectKey(obj: { metadata: { namespace?: string; name?: string } }): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name}` : String(name);
}

/** [namespace, name] of a key ('' namespace for cluster-scoped). */
export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return slash < 0 ? ['', key] : [key.slice(0, slash), key.slice(slash + 1)];
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** value → keys, for one index. */
type Index = Map<string, Set<string>>;

function addTo(index: Index, value: string, key: string): void {
  let keys = index.get(value);
  if (!keys) index.set(value, (keys = new Set()));
  keys.add(key);
}

function removeFrom(index: Index, value: string, key: string): void {
  const keys = index.get(value);
  keys?.delete(key);
  if (keys?.size === 0) index.delete(value);
}

export class IndexedCache<T extends KubeObject> implements Lister<T> {
  private readonly items = new Map<string, T>();
  private readonly byNamespace: Index = new Map();
  private readonly indexers: Record<string, IndexFunc<T>>;
  private readonly indexes = new Map<string, Index>();
  /** The values each key was indexed under, to unindex it without re-running index functions on the old object. */
  private readonly indexedValues = new Map<string, Map<string, string[]>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.indexers = indexers;
    for (const name of Object.keys(indexers)) this.indexes.set(name, new Map());
  }

  get size(): number {
    return this.items.size;
  }

  /** Insert or replace (the object is frozen); returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.remove(key);
    this.items.set(key, deepFreeze(obj));
    addTo(this.byNamespace, obj.metadata.namespace ?? '', key);
    const values = new Map<string, string[]>();
    for (const [name, fn] of Object.entries(this.indexers)) {
      const computed = [...new Set(fn(obj))];
      values.set(name, computed);
      for (const value of computed) addTo(this.indexes.get(name)!, value, key);
    }
    this.indexedValues.set(key, values);
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    removeFrom(this.byNamespace, old.metadata.namespace ?? '', key);
    for (const [name, values] of this.indexedValues.get(key) ?? []) {
      for (const value of values) removeFrom(this.indexes.get(name)!, value, key);
    }
    this.indexedValues.delete(key);
    return old;
  }

  entries(): IterableIterator<[string, T]> {
    return this.items.entries();
  }

  getByKey(key: string): T | undefined {
    return this.items.get(key);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.items.values()];
    return this.collect(this.byNamespace.get(namespace));
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.indexes.get(indexName);
    if (!index) throw new Error(`no index named "${indexName}"`);
    return this.collect(index.get(value));
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  private collect(keys: Set<string> | undefined): T[] {
    return keys ? [...keys].map((k) => this.items.get(k)!) : [];
  }
}
