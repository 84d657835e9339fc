// The storage contract every backend (memory, sqlite, later etcd) implements.
//
// A revisioned key-value store in the style of etcd v3: every successful write
// (create, update, delete) gets a new cluster-wide revision, strictly
// increasing by one. Values are opaque strings (the API server stores JSON).
// Only `apiserver/` imports this folder.

/** One stored key at one revision. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (unchanged by updates). */
  createRevision: number;
  /** Revision of the latest write to this key. Used for compare-and-swap. */
  modRevision: number;
}

export type WatchEventType = 'create' | 'update' | 'delete';

export interface WatchEvent {
  type: WatchEventType;
  /** The key after the write. For `delete`, the last value with modRevision = the delete revision. */
  kv: KeyValue;
  /** The key before the write (absent for `create`). */
  prevKv?: KeyValue;
  /** Revision of this write. */
  revision: number;
}

export interface ListOptions {
  /** Keys starting with this prefix (use '' for all). */
  prefix: string;
  /** At most this many items (0 or undefined = all). */
  limit?: number;
  /** Return keys strictly greater than this key (the continue token of a paged list). */
  after?: string;
  /**
   * Read at this revision (a consistent snapshot for paged lists). Undefined or 0
   * = latest. Throws CompactedError if older than the compacted revision and
   * FutureRevisionError if newer than the current revision.
   */
  revision?: number;
  /**
   * Instead of the latest revision, any snapshot at or above this revision will
   * do (resourceVersion=N / "0" on a LIST): a watch cache answers from memory
   * without asking the backend. Backends without a cache ignore it and read
   * latest; the caller checks `revision` of the result against it.
   */
  notOlderThan?: number;
  /** The caller only wants keys with this index value (a hint; see IndexHint). */
  index?: IndexHint;
}

/**
 * A hint from a caller that filters what it gets (field selector
 * `spec.nodeName=X`, label selector `app=web`): it only needs keys whose value
 * has `value` in the index `name`. A watch cache with that index returns or
 * delivers only those (for a watch: those that had it before or after a
 * write); a backend without one ignores it, so the caller still filters.
 */
export interface IndexHint {
  name: string;
  value: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at (the store's current revision for latest reads). */
  revision: number;
  /** True when more keys match after the last returned item. */
  more: boolean;
  /** How many matching keys follow the returned ones (when `more`). */
  remaining: number;
}

export interface WatchOptions {
  prefix: string;
  /**
   * Deliver every write with revision > fromRevision, in order, with no gaps,
   * then live writes. Throws CompactedError (synchronously from `watch`) if
   * fromRevision < compactedRevision; FutureRevisionError if > current.
   */
  fromRevision: number;
  /** See IndexHint. */
  index?: IndexHint;
}

/** A running watch. `events` yields in revision order until `stop()` or store close. */
export interface Watch {
  events: AsyncIterable<WatchEvent>;
  stop(): void;
  /**
   * Optional (watch caches): a revision the consumer may resume from without
   * missing an event of this watch, at least that of the last event read; what
   * a BOOKMARK carries.
   */
  progress?(): number;
}

export interface Store {
  /** Latest value of a key, or undefined. */
  get(key: string): Promise<KeyValue | undefined>;
  list(options: ListOptions): Promise<ListResult>;
  /** Throws KeyExistsError if the key exists. */
  create(key: string, value: string): Promise<KeyValue>;
  /**
   * Compare-and-swap: write only if the key's modRevision equals
   * expectedModRevision. Throws NotFoundError / ConflictError.
   */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /**
   * Delete the key (only if its modRevision equals expectedModRevision when
   * given). Returns the deleted value. Throws NotFoundError / ConflictError.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  watch(options: WatchOptions): Watch;
  /** Number of live keys with the prefix. */
  count(prefix: string): Promise<number>;
  /** Forget history at or below `revision` (latest values are kept). */
  compact(revision: number): Promise<void>;
  currentRevision(): Promise<number>;
  /** The oldest revision a watch or list may start from (0 = never compacted). */
  compactedRevision(): Promise<number>;
  /** Stops every watch (their iterators end) and releases resources. */
  close(): Promise<void>;
  /**
   * Resolves when the backend can serve requests now, else throws
   * StorageUnavailableError (readiness checks). Optional: an embedded backend
   * is always available.
   */
  checkHealth?(): Promise<void>;
}

export class StorageError extends Error {
  readonly key: string;
  constructor(message: string, key: string) {
    super(message);
    this.key = key;
    this.name = new.target.name;
  }
}
export class KeyExistsError extends StorageError {}
export class NotFoundError extends StorageError {}
export class ConflictError extends StorageError {}
export class CompactedError extends StorageError {
  readonly compactedRevision: number;
  constructor(requested: number, compactedRevision: number) {
    super(`revision ${requested} has been compacted (oldest available ${compactedRevision})`, '');
    this.compactedRevision = compactedRevision;
  }
}
export class FutureRevisionError extends StorageError {
  constructor(requested: number, current: number) {
    super(`revision ${requested} is newer than the current revision ${current}`, '');
  }
}

/**
 * The backend cannot be reached or did not answer in time (an etcd outage).
 * `timeout` says whether a deadline expired (the request may still have been
 * applied) rather than the backend refusing it outright.
 */
export class StorageUnavailableError extends StorageError {
  readonly timeout: boolean;
  constructor(message: string, options: { timeout: boolean }) {
    super(message, '');
    this.timeout = options.timeout;
  }
}
