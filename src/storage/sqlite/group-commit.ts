// Group commit: writes submitted during one event-loop turn run together in
// one SQLite transaction. Each write still gets its own revision and its own
// success or failure, and is acknowledged (its promise resolved, its watch
// event published) only after the transaction has committed, so "every
// acknowledged write survives kill -9" still holds. What changes is the cost:
// one WAL commit (a few pages) per batch instead of per write, which is what
// dominates a small write.
import type { DatabaseSync } from 'node:sqlite';

/** One write: validates and inserts (throwing on KeyExists/Conflict), returns what to hand out after commit. */
export type WriteStep<T> = () => { result: T; afterCommit: () => void };

interface Pending {
  step: WriteStep<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  db: DatabaseSync;
  /** Undo in-memory state of a batch whose transaction did not commit. */
  onRollback: () => void;
}

export class GroupCommit {
  readonly #db: DatabaseSync;
  readonly #onRollback: () => void;
  #pending: Pending[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(options: GroupCommitOptions) {
    this.#db = options.db;
    this.#onRollback = options.onRollback;
  }

  submit<T>(step: WriteStep<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ step, resolve: resolve as (value: unknown) => void, reject });
      this.#scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Run every submitted write now (also used before closing the database). */
  flush(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; result: unknown; afterCommit: () => void } | { ok: false; error: unknown })[] = [];
    try {
      this.#db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const write of batch) write.reject(error);
      return;
    }
    for (const write of batch) {
      try {
        const { result, afterCommit } = write.step();
        outcomes.push({ ok: true, result, afterCommit });
      } catch (error) {
        // A failed write is one statement: SQLite undoes only it, the batch goes on.
        outcomes.push({ ok: false, error });
      }
    }
    try {
      this.#db.exec('COMMIT');
    } catch (error) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // Already rolled back by SQLite.
      }
      this.#onRollback();
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) {
        outcome.afterCommit();
        write.resolve(outcome.result);
      } else {
        write.reject(outcome.error);
      }
    });
  }
}
