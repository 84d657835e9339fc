import assert from 'node:assert/strict';
import type { DatabaseSync } from 'node:sqlite';
import { describe, it } from 'node:test';
import { GroupCommit } from './group-commit.ts';

/** A stand-in database that records transaction statements and can fail COMMIT. */
function fakeDb(options: { failCommit?: boolean } = {}) {
  const statements: string[] = [];
  const db = {
    exec(sql: string) {
      statements.push(sql);
      if (sql === 'COMMIT' && options.failCommit) throw new Error('disk I/O error');
    },
  } as unknown as DatabaseSync;
  return { db, statements };
}

describe('GroupCommit', () => {
  it('runs the writes of one turn in one transaction and acknowledges after COMMIT', async () => {
    const { db, statements } = fakeDb();
    let rollbacks = 0;
    const commit = new GroupCommit({ db, onRollback: () => rollbacks++ });
    const published: number[] = [];
    const writes = [1, 2, 3].map((n) =>
      commit.submit(() => {
        statements.push(`write ${n}`);
        return { result: n, afterCommit: () => published.push(n) };
      }),
    );
    assert.deepEqual(await Promise.all(writes), [1, 2, 3]);
    assert.deepEqual(statements, ['BEGIN IMMEDIATE', 'write 1', 'write 2', 'write 3', 'COMMIT']);
    assert.deepEqual(published, [1, 2, 3]);
    assert.equal(rollbacks, 0);
  });

  it('fails only the write that threw; the rest of the batch commits', async () => {
    const { db } = fakeDb();
    const commit = new GroupCommit({ db, onRollback: () => {} });
    const ok = commit.submit(() => ({ result: 'ok', afterCommit: () => {} }));
    const bad = commit.submit(() => {
      throw new Error('key exists');
    });
    assert.equal(await ok, 'ok');
    await assert.rejects(bad, /key exists/);
  });

  it('rejects every write and publishes nothing when COMMIT fails', async () => {
    const { db, statements } = fakeDb({ failCommit: true });
    let rollbacks = 0;
    const commit = new GroupCommit({ db, onRollback: () => rollbacks++ });
    let published = 0;
    const writes = [1, 2].map((n) => commit.submit(() => ({ result: n, afterCommit: () => published++ })));
    for (const write of writes) await assert.rejects(write, /disk I\/O error/);
    assert.equal(published, 0);
    assert.equal(rollbacks, 1);
    assert.equal(statements.at(-1), 'ROLLBACK');
  });

  it('flushes on demand (before the database closes)', async () => {
    const { db, statements } = fakeDb();
    const commit = new GroupCommit({ db, onRollback: () => {} });
    const write = commit.submit(() => ({ result: 7, afterCommit: () => {} }));
    commit.flush();
    assert.deepEqual(statements, ['BEGIN IMMEDIATE', 'COMMIT']);
    assert.equal(await write, 7);
  });
});
