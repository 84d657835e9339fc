// Read queries that take a key range: list and count (latest values from the
// `current` table, older revisions from the log) and watch history.
// Statements differ by shape (inclusive or exclusive lower bound, with or
// without an upper bound), so they are prepared per shape on first use and
// cached.
//
// A key prefix becomes the range [prefix, prefixEnd(prefix)): SQLite compares
// TEXT with memcmp over UTF-8 (BINARY collation), the same order as keys.ts,
// so an index range scan finds exactly the keys with the prefix.

import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { KeyValue } from '../interface.ts';
import { compareKeys, prefixEnd } from '../keys.ts';

export interface LogRow {
  id: number;
  name: string;
  created: number;
  deleted: number;
  create_revision: number;
  prev_revision: number;
  value: string;
  old_value: string | null;
}

export interface RangeOptions {
  prefix: string;
  /** Only keys strictly greater than this one. */
  after?: string | undefined;
  revision: number;
  /** `revision` is the current revision: read the `current` table. */
  latest: boolean;
}

interface KeyRange {
  lower: string;
  /** True for `name > lower` (paging after a key), false for `name >= lower`. */
  exclusive: boolean;
  upper: string | undefined;
}

function keyRange(prefix: string, after: string | undefined): KeyRange {
  const upper = prefixEnd(prefix);
  if (after !== undefined && compareKeys(after, prefix) >= 0) return { lower: after, exclusive: true, upper };
  return { lower: prefix, exclusive: false, upper };
}

/** SQL condition and parameters for a key range on column `column`. */
function rangeSql(range: KeyRange, column: string): { sql: string; params: Record<string, SQLInputValue> } {
  let sql = `${column} ${range.exclusive ? '>' : '>='} :lower`;
  const params: Record<string, SQLInputValue> = { lower: range.lower };
  if (range.upper !== undefined) {
    sql += ` AND ${column} < :upper`;
    params.upper = range.upper;
  }
  return { sql, params };
}

/**
 * The row of each key visible at :revision: its newest row at or below the
 * revision, unless that row is a deletion. The correlated MAX is one index
 * seek on (name, id), and scanning the index in name order lets LIMIT stop
 * the scan early.
 */
const VISIBLE_AT_REVISION = `l.id <= :revision
  AND l.id = (SELECT MAX(id) FROM log WHERE name = l.name AND id <= :revision)
  AND l.deleted = 0`;

export class ListQueries {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Keys visible at `revision` in the range, and how many more follow the
   * first `limit`. `latest` says `revision` is the current revision.
   */
  list(options: RangeOptions & { limit?: number }): { items: KeyValue[]; remaining: number } {
    const range = rangeSql(keyRange(options.prefix, options.after), options.latest ? 'c.name' : 'l.name');
    const statement = this.#prepare(
      options.latest
        ? `SELECT c.name, l.id, l.create_revision, l.value FROM current AS c JOIN log AS l ON l.id = c.id
           WHERE ${range.sql} ORDER BY c.name LIMIT :limit`
        : `SELECT l.name, l.id, l.create_revision, l.value FROM log AS l
           WHERE ${range.sql} AND ${VISIBLE_AT_REVISION} ORDER BY l.name LIMIT :limit`,
    );
    const limit = options.limit || -1; // -1: no limit in SQLite
    const params = options.latest ? { ...range.params, limit } : { ...range.params, revision: options.revision, limit };
    const rows = statement.all(params);
    const items = rows.map((row) => ({
      key: row.name as string,
      value: row.value as string,
      createRevision: row.create_revision as number,
      modRevision: row.id as number,
    }));
    let remaining = 0;
    if (limit > 0 && items.length === limit) {
      remaining = this.count({ ...options, after: items[items.length - 1]!.key });
    }
    return { items, remaining };
  }

  /** How many keys in the range are visible at `revision`. */
  count(options: RangeOptions): number {
    if (options.latest) {
      const range = rangeSql(keyRange(options.prefix, options.after), 'name');
      return this.#prepare(`SELECT COUNT(*) AS n FROM current WHERE ${range.sql}`).get(range.params)!.n as number;
    }
    const range = rangeSql(keyRange(options.prefix, options.after), 'l.name');
    const statement = this.#prepare(
      `SELECT COUNT(*) AS n FROM log AS l WHERE ${range.sql} AND ${VISIBLE_AT_REVISION}`,
    );
    return statement.get({ ...range.params, revision: options.revision })!.n as number;
  }

  /** Up to `limit` rows with id in (after, upTo] and a key in the prefix, by id. */
  history(options: { prefix: string; after: number; upTo: number; limit: number }): LogRow[] {
    // `+name` keeps SQLite from using the name index: walking ids in order is
    // what a watch wants, and the id range is the narrow part.
    const range = rangeSql(keyRange(options.prefix, undefined), '+name');
    const statement = this.#prepare(
      `SELECT id, name, created, deleted, create_revision, prev_revision, value, old_value FROM log
       WHERE id > :after AND id <= :upTo AND ${range.sql}
       ORDER BY id LIMIT :limit`,
    );
    const params = { ...range.params, after: options.after, upTo: options.upTo, limit: options.limit };
    return statement.all(params) as unknown as LogRow[];
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
