// In-memory Store: the reference implementation of the storage contract, used
// by tests and by `skiff server` runs that need no persistence.
//
// Every key keeps its versions (oldest first) until compaction, so lists at an
// older revision are answered from the versions, and a log of write events
// (one per revision since the compacted revision) feeds watch catch-up.

import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type Watch,
  type WatchEvent,
  type WatchOptions,
} from '../interface.ts';
import { compareKeys, lowerBound } from '../keys.ts';
import { WatchHub } from '../watch-stream.ts';

interface Version {
  /** Frozen: shared with watch events, copied before handing to callers. */
  kv: KeyValue;
  deleted: boolean;
}

/** How many history events a catching-up watch takes from the log per step. */
const HISTORY_BATCH = 256;

export function createMemoryStore(): Store {
  return new MemoryStore();
}

class MemoryStore implements Store {
  /** Versions of each key, ascending by modRevision. */
  readonly #keys = new Map<string, Version[]>();
  /** Every key of #keys, in compareKeys order (for prefix scans). */
  #sorted: string[] = [];
  /** Events with revision > #compacted; #log[i].revision === #compacted + 1 + i. */
  #log: WatchEvent[] = [];
  #revision = 0;
  #compacted = 0;
  readonly #watches = new WatchHub();
  #closed = false;

  async get(key: string): Promise<KeyValue | undefined> {
    this.#checkOpen();
    const latest = this.#latest(key);
    return latest && !latest.deleted ? { ...latest.kv } : undefined;
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.#checkOpen();
    const revision = options.revision || this.#revision;
    this.#checkReadable(revision);
    const { prefix, after } = options;
    const limit = options.limit || Infinity;
    let index = lowerBound(this.#sorted, prefix);
    if (after !== undefined && compareKeys(after, prefix) >= 0) {
      index = lowerBound(this.#sorted, after);
      if (this.#sorted[index] === after) index++;
    }
    const items: KeyValue[] = [];
    let remaining = 0;
    for (; index < this.#sorted.length; index++) {
      const key = this.#sorted[index]!;
      if (!key.startsWith(prefix)) break;
      const version = versionAt(this.#keys.get(key)!, revision);
      if (!version || version.deleted) continue;
      if (items.length < limit) items.push({ ...version.kv });
      else remaining++;
    }
    return { items, revision, more: remaining > 0, remaining };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.#checkOpen();
    const latest = this.#latest(key);
    if (latest && !latest.deleted) throw new KeyExistsError(`key ${key} already exists`, key);
    const revision = this.#revision + 1;
    const kv = Object.freeze({ key, value, createRevision: revision, modRevision: revision });
    this.#append({ kv, deleted: false }, Object.freeze({ type: 'create', kv, revision }));
    return { ...kv };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.#checkOpen();
    const prev = this.#live(key, expectedModRevision);
    const revision = this.#revision + 1;
    const kv = Object.freeze({ key, value, createRevision: prev.createRevision, modRevision: revision });
    this.#append({ kv, deleted: false }, Object.freeze({ type: 'update', kv, prevKv: prev, revision }));
    return { ...kv };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.#checkOpen();
    const prev = this.#live(key, expectedModRevision);
    const revision = this.#revision + 1;
    const kv = Object.freeze({ ...prev, modRevision: revision });
    this.#append({ kv, deleted: true }, Object.freeze({ type: 'delete', kv, prevKv: prev, revision }));
    return { ...kv };
  }

  watch(options: WatchOptions): Watch {
    this.#checkOpen();
    const { prefix, fromRevision } = options;
    this.#checkReadable(fromRevision);
    return this.#watches.open({
      prefix,
      fromRevision,
      historyEnd: this.#revision,
      readHistory: (after, upTo) => this.#readHistory(prefix, after, upTo),
    });
  }

  async count(prefix: string): Promise<number> {
    this.#checkOpen();
    let count = 0;
    for (let i = lowerBound(this.#sorted, prefix); i < this.#sorted.length; i++) {
      const key = this.#sorted[i]!;
      if (!key.startsWith(prefix)) break;
      if (!this.#latest(key)!.deleted) count++;
    }
    return count;
  }

  async compact(revision: number): Promise<void> {
    this.#checkOpen();
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compacted) return;
    this.#log = this.#log.slice(revision - this.#compacted);
    this.#compacted = revision;
    let removedKeys = false;
    for (const [key, versions] of this.#keys) {
      // Keep the version visible at `revision` (so a list at the compacted
      // revision still works) and everything newer; drop it too if it is a
      // deletion, since nothing can observe a tombstone at or below it.
      let keep = versionIndexAt(versions, revision);
      if (keep >= 0 && versions[keep]!.deleted) keep++;
      if (keep > 0) versions.splice(0, keep);
      if (versions.length === 0) {
        this.#keys.delete(key);
        removedKeys = true;
      }
    }
    if (removedKeys) this.#sorted = this.#sorted.filter((key) => this.#keys.has(key));
  }

  async currentRevision(): Promise<number> {
    this.#checkOpen();
    return this.#revision;
  }

  async compactedRevision(): Promise<number> {
    this.#checkOpen();
    return this.#compacted;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watches.stopAll();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('storage: the memory store is closed');
  }

  /** Throws unless history at `revision` is still available. */
  #checkReadable(revision: number): void {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision < this.#compacted) throw new CompactedError(revision, this.#compacted);
  }

  #latest(key: string): Version | undefined {
    const versions = this.#keys.get(key);
    return versions?.[versions.length - 1];
  }

  /** The live value of `key`, checked against an optional expected modRevision. */
  #live(key: string, expectedModRevision: number | undefined): KeyValue {
    const latest = this.#latest(key);
    if (!latest || latest.deleted) throw new NotFoundError(`key ${key} not found`, key);
    if (expectedModRevision !== undefined && latest.kv.modRevision !== expectedModRevision) {
      throw new ConflictError(
        `key ${key} has modRevision ${latest.kv.modRevision}, expected ${expectedModRevision}`,
        key,
      );
    }
    return latest.kv;
  }

  #append(version: Version, event: WatchEvent): void {
    const { key } = version.kv;
    const versions = this.#keys.get(key);
    if (versions) versions.push(version);
    else {
      this.#keys.set(key, [version]);
      this.#sorted.splice(lowerBound(this.#sorted, key), 0, key);
    }
    this.#revision = event.revision;
    this.#log.push(event);
    this.#watches.publish(event);
  }

  #readHistory(prefix: string, after: number, upTo: number): WatchEvent[] {
    if (after < this.#compacted) throw new CompactedError(after, this.#compacted);
    const batch: WatchEvent[] = [];
    const end = upTo - this.#compacted;
    for (let i = after - this.#compacted; i < end && batch.length < HISTORY_BATCH; i++) {
      const event = this.#log[i]!;
      if (event.kv.key.startsWith(prefix)) batch.push(event);
    }
    return batch;
  }
}

/** Index of the last version with modRevision <= revision, or -1. */
function versionIndexAt(versions: Version[], revision: number): number {
  let lo = 0;
  let hi = versions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (versions[mid]!.kv.modRevision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function versionAt(versions: Version[], revision: number): Version | undefined {
  return versions[versionIndexAt(versions, revision)];
}
