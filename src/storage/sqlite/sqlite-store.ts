// The embedded SQLite Store (the default datastore of `skiff server`).
//
// Storage layout: see schema.ts (one log row per revision). node:sqlite is
// synchronous and this process is the only writer (schema.ts locks the file),
// so each write is "read the key's latest row, check, append one row" (one
// autocommit INSERT) with no other JavaScript in between: compare-and-swap needs no transaction retry
// loop, and revisions are assigned here (current + 1).
//
// Watch: after each committed write the event is pushed to the matching
// watches in process (no polling). A new watch first replays history from the
// log table in batches (see watch-stream.ts for the hand-over).
//
// Compaction: compact(r) publishes r as the compacted revision at once, then
// deletes the rows no reader may ask for any more in batches of 1000 rows
// (a few ms each), yielding to the event loop between batches. A row at or below r goes when a
// newer row of the same key at or below r replaced it, or when it is a
// deletion. So the snapshot at r itself, and the previous row of every write
// after r, are kept. A timer compacts to `current - historyRevisions`.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
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
import { WatchHub } from '../watch-stream.ts';
import { GroupCommit } from './group-commit.ts';
import { META_COMPACTED, META_SWEPT, openDatabase } from './schema.ts';
import { ListQueries, type LogRow } from './list-queries.ts';

export interface SqliteStoreOptions {
  /** Database file (created if missing). */
  path: string;
  /** How often to compact old history automatically. 0 disables. Default 5 minutes. */
  compactIntervalMs?: number;
  /** How many revisions of history automatic compaction keeps. Default 10000. */
  historyRevisions?: number;
}

const DEFAULT_COMPACT_INTERVAL_MS = 5 * 60 * 1000;
const DEFAULT_HISTORY_REVISIONS = 10_000;
/** Rows per compaction batch: each batch is one short DELETE statement. */
const COMPACT_BATCH = 1000;
/** History rows per watch catch-up step (values may be large). */
const HISTORY_BATCH = 128;

export function openSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}

interface CurrentRow {
  id: number;
  create_revision: number;
  value: string;
}

class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #queries: ListQueries;
  /** The live row of a key (via the `current` table). */
  readonly #current: StatementSync;
  /** The newest log row of a key, live or a deletion. */
  readonly #newestRow: StatementSync;
  readonly #insert: StatementSync;
  readonly #setMeta: StatementSync;
  readonly #batchEnd: StatementSync;
  readonly #sweep: StatementSync;
  #revision: number;
  #compacted: number;
  /** Serialises sweeps; each link deletes what compaction to its revision made unreadable. */
  #compaction: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #watches = new WatchHub();
  readonly #commit: GroupCommit;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    this.#db = openDatabase(options.path);
    const db = this.#db;
    this.#queries = new ListQueries(db);
    this.#current = db.prepare(
      'SELECT l.id, l.create_revision, l.value FROM current AS c JOIN log AS l ON l.id = c.id WHERE c.name = ?',
    );
    this.#newestRow = db.prepare('SELECT id, deleted FROM log WHERE name = ? ORDER BY id DESC LIMIT 1');
    this.#insert = db.prepare(
      `INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#setMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.#batchEnd = db.prepare(
      'SELECT id FROM log WHERE id > :from AND id <= :compacted ORDER BY id LIMIT 1 OFFSET :offset',
    );
    this.#sweep = db.prepare(
      `DELETE FROM log WHERE id > :from AND id <= :to AND (deleted = 1 OR EXISTS (
         SELECT 1 FROM log AS newer
         WHERE newer.name = log.name AND newer.prev_revision = log.id AND newer.id <= :compacted))`,
    );
    const sequence = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'log'").get();
    this.#revision = (sequence?.seq as number | undefined) ?? 0;
    this.#commit = new GroupCommit({
      db,
      // The committed revision is the log's sequence: reread it after a failed batch.
      onRollback: () => {
        this.#revision = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'log'").get()?.seq as number | undefined) ?? 0;
      },
    });
    const meta = new Map(
      db
        .prepare('SELECT key, value FROM meta')
        .all()
        .map((row) => [row.key as string, row.value as number]),
    );
    this.#compacted = meta.get(META_COMPACTED) ?? 0;
    // Redo a sweep that a crash interrupted (its rows are unreadable meanwhile).
    if ((meta.get(META_SWEPT) ?? 0) < this.#compacted) this.#startSweep(this.#compacted);

    const interval = options.compactIntervalMs ?? DEFAULT_COMPACT_INTERVAL_MS;
    const history = options.historyRevisions ?? DEFAULT_HISTORY_REVISIONS;
    if (interval > 0) {
      this.#timer = setInterval(() => {
        const target = this.#revision - history;
        if (target > this.#compacted) {
          // Failures are reported by #startSweep.
          this.compact(target).catch(() => {});
        }
      }, interval);
      this.#timer.unref(); // compaction alone must not keep the process alive
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.#checkOpen();
    const row = this.#current.get(key) as CurrentRow | undefined;
    if (!row) return undefined;
    return { key, value: row.value, createRevision: row.create_revision, modRevision: row.id };
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.#checkOpen();
    const revision = options.revision || this.#revision;
    this.#checkReadable(revision);
    const latest = revision === this.#revision;
    const { items, remaining } = this.#queries.list({ ...options, revision, latest });
    return { items, revision, more: remaining > 0, remaining };
  }

  // Writes go through group commit: checked and appended when their batch
  // runs, acknowledged and published once the batch's transaction committed.

  async create(key: string, value: string): Promise<KeyValue> {
    this.#checkOpen();
    return this.#commit.submit(() => {
      const newest = this.#newestRow.get(key) as { id: number; deleted: number } | undefined;
      if (newest && !newest.deleted) throw new KeyExistsError(`key ${key} already exists`, key);
      const revision = this.#revision + 1;
      // A re-create after a delete points at the tombstone, keeping (name, prev_revision) unique.
      this.#append([revision, key, 1, 0, revision, newest?.id ?? 0, value, null]);
      const kv = Object.freeze({ key, value, createRevision: revision, modRevision: revision });
      return { result: { ...kv }, afterCommit: () => this.#watches.publish(Object.freeze({ type: 'create', kv, revision })) };
    });
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.#checkOpen();
    return this.#commit.submit(() => {
      const prev = this.#live(key, expectedModRevision);
      const revision = this.#revision + 1;
      this.#append([revision, key, 0, 0, prev.createRevision, prev.modRevision, value, prev.value]);
      const kv = Object.freeze({ key, value, createRevision: prev.createRevision, modRevision: revision });
      return { result: { ...kv }, afterCommit: () => this.#watches.publish(Object.freeze({ type: 'update', kv, prevKv: prev, revision })) };
    });
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.#checkOpen();
    return this.#commit.submit(() => {
      const prev = this.#live(key, expectedModRevision);
      const revision = this.#revision + 1;
      this.#append([revision, key, 0, 1, prev.createRevision, prev.modRevision, prev.value, prev.value]);
      const kv = Object.freeze({ ...prev, modRevision: revision });
      return { result: { ...kv }, afterCommit: () => this.#watches.publish(Object.freeze({ type: 'delete', kv, prevKv: prev, revision })) };
    });
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
    return this.#queries.count({ prefix, revision: this.#revision, latest: true });
  }

  async compact(revision: number): Promise<void> {
    this.#checkOpen();
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision <= this.#compacted) return;
    // Readers check #compacted before reading, so publishing it first means
    // nobody can start reading rows the sweep is about to delete.
    this.#setMeta.run(META_COMPACTED, revision);
    this.#compacted = revision;
    return this.#startSweep(revision);
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
    this.#commit.flush(); // writes already submitted are finished, not dropped
    clearInterval(this.#timer);
    this.#watches.stopAll();
    await this.#compaction.catch(() => {}); // a sweep stops at its next batch once closed
    this.#db.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('storage: the sqlite store is closed');
  }

  #checkReadable(revision: number): void {
    if (revision > this.#revision) throw new FutureRevisionError(revision, this.#revision);
    if (revision < this.#compacted) throw new CompactedError(revision, this.#compacted);
  }

  /** The live value of `key`, checked against an optional expected modRevision. */
  #live(key: string, expectedModRevision: number | undefined): KeyValue {
    const row = this.#current.get(key) as CurrentRow | undefined;
    if (!row) throw new NotFoundError(`key ${key} not found`, key);
    if (expectedModRevision !== undefined && row.id !== expectedModRevision) {
      throw new ConflictError(`key ${key} has modRevision ${row.id}, expected ${expectedModRevision}`, key);
    }
    return Object.freeze({ key, value: row.value, createRevision: row.create_revision, modRevision: row.id });
  }

  /** Appends one log row inside the current group-commit transaction. */
  #append(row: [number, string, number, number, number, number, string, string | null]): void {
    try {
      this.#insert.run(...row);
    } catch (error) {
      // Only another writer on the same file could get here (schema.ts prevents that).
      if (String(error).includes('UNIQUE constraint failed')) {
        throw new ConflictError(`key ${row[1]} was written concurrently`, row[1]);
      }
      throw error;
    }
    this.#revision = row[0];
  }

  #readHistory(prefix: string, after: number, upTo: number): WatchEvent[] {
    if (this.#closed) return [];
    if (after < this.#compacted) throw new CompactedError(after, this.#compacted);
    return this.#queries.history({ prefix, after, upTo, limit: HISTORY_BATCH }).map(rowToEvent);
  }

  /**
   * Deletes the rows compaction to `revision` made unreadable, in batches of
   * COMPACT_BATCH rows, yielding between batches. Every sweep starts from the
   * first row: rows a previous compaction kept (the snapshot at its revision)
   * may have been replaced since.
   */
  async #sweepTo(revision: number): Promise<void> {
    let from = 0;
    while (from < revision && !this.#closed) {
      const boundary = this.#batchEnd.get({ from, compacted: revision, offset: COMPACT_BATCH - 1 });
      const to = (boundary?.id as number | undefined) ?? revision;
      this.#sweep.run({ from, to, compacted: revision });
      from = to;
      await yieldToEventLoop();
    }
    if (this.#closed) return;
    this.#setMeta.run(META_SWEPT, revision);
  }

  /** Queues a sweep after the running one; the result rejects if this sweep fails. */
  #startSweep(revision: number): Promise<void> {
    // A failed sweep must not block later ones (each sweep starts from scratch).
    const sweep = this.#compaction.catch(() => {}).then(() => this.#sweepTo(revision));
    this.#compaction = sweep;
    sweep.catch((error: unknown) => {
      if (!this.#closed) process.emitWarning(`storage: sqlite compaction to ${revision} failed: ${String(error)}`);
    });
    return sweep;
  }
}

function rowToEvent(row: LogRow): WatchEvent {
  const kv = Object.freeze({
    key: row.name,
    value: row.value,
    createRevision: row.create_revision,
    modRevision: row.id,
  });
  if (row.created) return Object.freeze({ type: 'create', kv, revision: row.id });
  const prevKv = Object.freeze({
    key: row.name,
    value: row.old_value ?? '',
    createRevision: row.create_revision,
    modRevision: row.prev_revision,
  });
  return Object.freeze({ type: row.deleted ? 'delete' : 'update', kv, prevKv, revision: row.id });
}
