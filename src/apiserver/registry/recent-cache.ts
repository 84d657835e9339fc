// A map that keeps only its most recently added entries: for values worth
// sharing while they are fresh but not worth holding for as long as their key
// lives (decoded watch events: every watcher reads an event within moments of
// the others, but the watch cache's window keeps the event itself for minutes).

export class RecentCache<K, V> {
  readonly #entries = new Map<K, V>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new Error(`RecentCache capacity must be at least 1, not ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Adds or replaces; past capacity the oldest addition goes (a Map iterates in insertion order). */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) this.#entries.delete(this.#entries.keys().next().value as K);
  }
}
