// The Store on a real etcd v3 cluster (`skiff server --datastore-endpoint http://…`).
//
// Every operation is one etcd request (codec.ts maps keys and revisions):
// - create: txn(create_revision(key) == 0) put;
// - update / delete with a precondition: txn(key exists and mod_revision(key)
//   == expected) put / delete with prev_kv, else a range that tells NotFound
//   from Conflict;
// - list / count: one range (with revision, limit, count) — etcd's `more` and
//   `count` give the paging fields;
// - watch: etcd's own watch from a revision with prev_kv (etcd-watch.ts);
// - compact: etcd's compaction; a timer compacts history older than one
//   interval, as kube-apiserver does.
// Failures to reach etcd surface as StorageUnavailableError (connection.ts).
//
// etcd is shared by several API servers, so this store keeps no copy of the
// data. It remembers only the newest revision and the compacted revision it
// has seen, which lets `watch` reject a compacted or future start revision
// synchronously, as the Store contract asks.
import type { CallOptions } from '@grpc/grpc-js';
import type { ICompare, IRangeRequest, IRangeResponse, IResponseHeader, ITxnRequest, ITxnResponse } from 'etcd3';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  StorageUnavailableError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type Watch,
  type WatchOptions,
} from '../interface.ts';
import { KeyCodec, toEtcdRevision, toStoreRevision } from './codec.ts';
import { EtcdConnection, type EtcdTls, type RetryMode } from './connection.ts';
import { EtcdWatch } from './etcd-watch.ts';
import { LeaseManager } from './leases.ts';

export interface EtcdStoreOptions {
  /** Client URLs of the etcd members. */
  endpoints: string[];
  tls?: EtcdTls;
  /** Prepended to every key in etcd (default '': keys are the API server's `/registry/…`). */
  keyPrefix?: string;
  /** Deadline of one etcd call, retries included. Default 5 s. */
  callTimeoutMs?: number;
  /** How often to compact history older than the previous run. 0 disables. Default 5 minutes. */
  compactIntervalMs?: number;
  /** Keys that expire by themselves: their time to live in seconds, else undefined. */
  ttlSeconds?: (key: string) => number | undefined;
  /** How long `openEtcdStore` waits for etcd to answer. Default 30 s. */
  connectTimeoutMs?: number;
}

const DEFAULT_COMPACT_INTERVAL_MS = 5 * 60 * 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
/** The readiness probe's own deadline, and how long its answer is reused. */
const HEALTH_TIMEOUT_MS = 2_000;
const HEALTH_CACHE_MS = 1_000;

/** Connects and reads the current and compacted revision; retries until connectTimeoutMs. */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<Store & { checkHealth(): Promise<void> }> {
  const store = new EtcdStore(options);
  const deadline = Date.now() + (options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  for (;;) {
    try {
      await store.compactedRevision(); // also reads the current revision
      store.startCompactor();
      return store;
    } catch (error) {
      if (!(error instanceof StorageUnavailableError) || Date.now() > deadline) {
        await store.close();
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

class EtcdStore implements Store {
  readonly #connection: EtcdConnection;
  readonly #codec: KeyCodec;
  readonly #leases: LeaseManager;
  readonly #options: EtcdStoreOptions;
  readonly #watches = new Set<EtcdWatch>();
  /** Newest revision seen in any response (store terms). */
  #revision = 0;
  /** Highest compacted revision known (store terms). */
  #compacted = 0;
  #health: { at: number; result: Promise<void> } | undefined;
  #compactor: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: EtcdStoreOptions) {
    this.#options = options;
    this.#connection = new EtcdConnection({ endpoints: options.endpoints, tls: options.tls, callTimeoutMs: options.callTimeoutMs });
    this.#codec = new KeyCodec(options.keyPrefix ?? '');
    this.#leases = new LeaseManager(this.#connection);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const response = await this.#range({ key: this.#codec.encode(key) });
    const kv = response.kvs[0];
    return kv ? this.#codec.value(kv) : undefined;
  }

  async list(options: ListOptions): Promise<ListResult> {
    const request: IRangeRequest = this.#codec.range(options.prefix, options.after);
    if (options.revision) request.revision = toEtcdRevision(options.revision);
    if (options.limit) request.limit = options.limit;
    const response = await this.#range(request, options.revision);
    const items = response.kvs.map((kv) => this.#codec.value(kv));
    const remaining = Number(response.count) - items.length;
    return { items, revision: options.revision || toStoreRevision(response.header.revision), more: remaining > 0, remaining };
  }

  async count(prefix: string): Promise<number> {
    const response = await this.#range({ ...this.#codec.range(prefix), count_only: true });
    return Number(response.count);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const etcdKey = this.#codec.encode(key);
    const lease = await this.#leaseFor(key);
    const response = await this.#txn('create', {
      compare: [{ key: etcdKey, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: etcdKey, value: Buffer.from(value, 'utf8'), lease } }],
      failure: [],
    });
    if (!response.succeeded) throw new KeyExistsError(`key ${key} already exists`, key);
    const revision = toStoreRevision(response.header.revision);
    return { key, value, createRevision: revision, modRevision: revision };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    const etcdKey = this.#codec.encode(key);
    const lease = await this.#leaseFor(key);
    const response = await this.#txn('update', {
      compare: this.#preconditions(etcdKey, expectedModRevision),
      success: [{ request_put: { key: etcdKey, value: Buffer.from(value, 'utf8'), lease, prev_kv: true } }],
      failure: [{ request_range: { key: etcdKey, keys_only: true } }],
    });
    if (!response.succeeded) this.#preconditionFailed(key, response.responses[0]?.response_range, expectedModRevision);
    const prev = response.responses[0]!.response_put!.prev_kv;
    return { key, value, createRevision: toStoreRevision(prev.create_revision), modRevision: toStoreRevision(response.header.revision) };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const etcdKey = this.#codec.encode(key);
    const response = await this.#txn('delete', {
      compare: this.#preconditions(etcdKey, expectedModRevision),
      success: [{ request_delete_range: { key: etcdKey, prev_kv: true } }],
      failure: [{ request_range: { key: etcdKey, keys_only: true } }],
    });
    if (!response.succeeded) this.#preconditionFailed(key, response.responses[0]?.response_range, expectedModRevision);
    const prev = response.responses[0]!.response_delete_range!.prev_kvs[0]!;
    return this.#codec.value(prev, toStoreRevision(response.header.revision));
  }

  watch(options: WatchOptions): Watch {
    this.#checkOpen();
    const { prefix, fromRevision } = options;
    if (fromRevision > this.#revision) throw new FutureRevisionError(fromRevision, this.#revision);
    if (fromRevision < this.#compacted) throw new CompactedError(fromRevision, this.#compacted);
    const watch: EtcdWatch = new EtcdWatch({
      connection: this.#connection,
      codec: this.#codec,
      prefix,
      fromRevision,
      onRevision: (revision) => this.#sawRevision(revision),
      onCompacted: (revision) => this.#sawCompacted(revision),
      onStop: () => this.#watches.delete(watch),
    });
    this.#watches.add(watch);
    return watch;
  }

  async compact(revision: number): Promise<void> {
    const current = await this.currentRevision();
    if (revision > current) throw new FutureRevisionError(revision, current);
    if (revision <= this.#compacted) return;
    try {
      await this.#call('compact', 'idempotent', (options) => this.#connection.client.kv.compact({ revision: toEtcdRevision(revision) }, options));
      this.#sawCompacted(revision);
    } catch (error) {
      // Another server compacted further already: nothing left to do.
      if (!isCompactedAnswer(error)) throw translateAnswer(error, revision, current);
      await this.compactedRevision();
    }
  }

  async currentRevision(): Promise<number> {
    const response = await this.#range({ key: Buffer.from([0]), count_only: true });
    return toStoreRevision(response.header.revision);
  }

  /**
   * etcd does not report its compacted revision, but a read below it fails:
   * the lowest readable revision is found by a binary search that starts at
   * the highest compaction already known (one read when nothing changed).
   */
  async compactedRevision(): Promise<number> {
    let low = this.#compacted;
    let high = await this.currentRevision();
    if (await this.#readable(low)) return low;
    while (low + 1 < high) {
      const middle = Math.floor((low + high) / 2);
      if (await this.#readable(middle)) high = middle;
      else low = middle;
    }
    this.#sawCompacted(high);
    return high;
  }

  /** A linearizable read with a short deadline, its answer shared for a second. */
  checkHealth(): Promise<void> {
    const now = Date.now();
    if (this.#health && now - this.#health.at < HEALTH_CACHE_MS) return this.#health.result;
    const result = this.#call('health', 'idempotent', (options) => this.#connection.client.kv.range({ key: Buffer.from('health'), count_only: true }, options), HEALTH_TIMEOUT_MS)
      .then((response) => this.#sawRevision(toStoreRevision(response.header.revision)));
    result.catch(() => {}); // callers see the rejection; a cached failure must not be "unhandled"
    this.#health = { at: now, result };
    return result;
  }

  startCompactor(): void {
    const interval = this.#options.compactIntervalMs ?? DEFAULT_COMPACT_INTERVAL_MS;
    if (interval <= 0 || this.#compactor) return;
    // Like kube-apiserver: compact to the revision seen one interval ago, so
    // watchers always have at least one interval of history to resume from.
    let previous = 0;
    this.#compactor = setInterval(() => {
      const target = previous;
      previous = this.#revision;
      if (target > this.#compacted) {
        this.compact(target).catch((error: unknown) => process.emitWarning(`storage: etcd compaction to ${target} failed: ${String(error)}`));
      }
    }, interval);
    this.#compactor.unref();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#compactor);
    for (const watch of [...this.#watches]) watch.stop();
    this.#connection.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('storage: the etcd store is closed');
  }

  async #call<T>(what: string, retry: RetryMode, run: (options: CallOptions) => Promise<T>, timeoutMs?: number): Promise<T> {
    this.#checkOpen();
    return this.#connection.call(what, retry, run, timeoutMs);
  }

  async #range(request: IRangeRequest, storeRevision?: number): Promise<IRangeResponse> {
    try {
      const response = await this.#call('range', 'idempotent', (options) => this.#connection.client.kv.range(request, options));
      this.#sawHeader(response.header);
      return response;
    } catch (error) {
      if (isCompactedAnswer(error) && storeRevision !== undefined) throw new CompactedError(storeRevision, await this.compactedRevision());
      throw translateAnswer(error, storeRevision ?? 0, this.#revision);
    }
  }

  async #txn(what: string, request: ITxnRequest): Promise<ITxnResponse> {
    // A write is re-sent only if it cannot have reached etcd: re-running a
    // create or compare-and-swap that was applied would report a false conflict.
    const response = await this.#call(what, 'unsent-only', (options) => this.#connection.client.kv.txn(request, options));
    this.#sawHeader(response.header);
    return response;
  }

  /** The key exists (and has the expected mod revision, when one is given). */
  #preconditions(etcdKey: Buffer, expectedModRevision: number | undefined): ICompare[] {
    const exists: ICompare = { key: etcdKey, target: 'Create', result: 'Greater', create_revision: 0 };
    if (expectedModRevision === undefined) return [exists];
    return [exists, { key: etcdKey, target: 'Mod', result: 'Equal', mod_revision: toEtcdRevision(expectedModRevision) }];
  }

  #preconditionFailed(key: string, current: IRangeResponse | undefined, expected: number | undefined): never {
    const kv = current?.kvs[0];
    if (!kv) throw new NotFoundError(`key ${key} not found`, key);
    const actual = toStoreRevision(kv.mod_revision);
    throw new ConflictError(`key ${key} has modRevision ${actual}, expected ${expected}`, key);
  }

  async #leaseFor(key: string): Promise<string | undefined> {
    const ttl = this.#options.ttlSeconds?.(key);
    return ttl && ttl > 0 ? this.#leases.leaseFor(ttl) : undefined;
  }

  async #readable(storeRevision: number): Promise<boolean> {
    try {
      await this.#call('range', 'idempotent', (options) => this.#connection.client.kv.range({ key: Buffer.from([0]), count_only: true, revision: toEtcdRevision(storeRevision) }, options));
      return true;
    } catch (error) {
      if (isCompactedAnswer(error)) return false;
      throw error;
    }
  }

  #sawHeader(header: IResponseHeader): void {
    this.#sawRevision(toStoreRevision(header.revision));
  }

  #sawRevision(revision: number): void {
    if (revision > this.#revision) this.#revision = revision;
  }

  #sawCompacted(revision: number): void {
    if (revision > this.#compacted) this.#compacted = revision;
  }
}

function isCompactedAnswer(error: unknown): boolean {
  return error instanceof Error && error.message.includes('required revision has been compacted');
}

/** etcd's "future revision" answer as the Store's error; anything else unchanged. */
function translateAnswer(error: unknown, requested: number, current: number): unknown {
  if (error instanceof Error && error.message.includes('required revision is a future revision')) {
    return new FutureRevisionError(requested, current);
  }
  return error;
}
