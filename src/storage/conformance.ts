// The storage conformance suite: one set of behaviour tests that every Store
// backend (memory, sqlite, etcd) registers from its own test file:
//
//   runStorageConformance('sqlite', async () => ({ store, cleanup }));
//
// Each test gets a fresh store. Watch behaviour lives in conformance-watch.ts.
//
// Contract details pinned here beyond the comments in interface.ts:
// - revisions start at 1 (an empty store is at revision 0) and failed writes
//   do not consume a revision;
// - delete returns the last value with modRevision = the delete's revision
//   (the same kv the delete watch event carries);
// - keys sort by UTF-8 bytes (etcd's order), see keys.ts;
// - compact(r) with r <= compactedRevision is a no-op; r > current throws
//   FutureRevisionError; a list or watch at exactly the compacted revision works.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CompactedError,
  ConflictError,
  FutureRevisionError,
  KeyExistsError,
  NotFoundError,
  type Store,
} from './interface.ts';
import { AWKWARD_TEXT, bigValue, kv, storeRunner, type MakeStore } from './conformance-support.ts';
import { watchConformance } from './conformance-watch.ts';

export function runStorageConformance(name: string, makeStore: MakeStore): void {
  const withStore = storeRunner(makeStore);
  describe(`storage conformance: ${name}`, () => {
    describe('create and get', () => createAndGet(withStore));
    describe('update', () => updates(withStore));
    describe('delete', () => deletes(withStore));
    describe('list', () => lists(withStore));
    describe('compact', () => compaction(withStore));
    describe('concurrency', () => concurrency(withStore));
    describe('watch', () => watchConformance(withStore));
  });
}

type WithStore = ReturnType<typeof storeRunner>;

function createAndGet(withStore: WithStore): void {
  it('starts empty at revision 0', () =>
    withStore(async (store) => {
      assert.equal(await store.currentRevision(), 0);
      assert.equal(await store.compactedRevision(), 0);
      assert.equal(await store.get('/a'), undefined);
      assert.deepEqual(await store.list({ prefix: '' }), { items: [], revision: 0, more: false, remaining: 0 });
      assert.equal(await store.count(''), 0);
    }));

  it('creates a key and reads it back', () =>
    withStore(async (store) => {
      assert.deepEqual(await store.create('/registry/pods/a', 'v1'), kv('/registry/pods/a', 'v1', 1, 1));
      assert.deepEqual(await store.get('/registry/pods/a'), kv('/registry/pods/a', 'v1', 1, 1));
      assert.deepEqual(await store.create('/registry/pods/b', ''), kv('/registry/pods/b', '', 2, 2));
      assert.deepEqual(await store.get('/registry/pods/b'), kv('/registry/pods/b', '', 2, 2));
      assert.equal(await store.currentRevision(), 2);
    }));

  it('refuses to create an existing key without consuming a revision', () =>
    withStore(async (store) => {
      await store.create('/k', 'v1');
      await assert.rejects(store.create('/k', 'v2'), (error: unknown) => {
        assert.ok(error instanceof KeyExistsError);
        assert.equal(error.key, '/k');
        return true;
      });
      assert.equal(await store.currentRevision(), 1);
      assert.equal((await store.get('/k'))?.value, 'v1');
    }));

  it('creates a key again after it was deleted, with a new createRevision', () =>
    withStore(async (store) => {
      await store.create('/k', 'v1');
      await store.delete('/k');
      assert.deepEqual(await store.create('/k', 'v2'), kv('/k', 'v2', 3, 3));
      assert.deepEqual(await store.get('/k'), kv('/k', 'v2', 3, 3));
    }));

  it('stores 1 MiB values intact', () =>
    withStore(async (store) => {
      const value = bigValue(1024 * 1024);
      await store.create('/big', value);
      assert.equal((await store.get('/big'))?.value, value);
      const updated = value.slice(0, -1) + '!';
      await store.update('/big', updated, 1);
      assert.equal((await store.get('/big'))?.value, updated);
      assert.equal((await store.list({ prefix: '/b' })).items[0]?.value, updated);
    }));

  it('stores any unicode in values and keys', () =>
    withStore(async (store) => {
      for (const [i, text] of AWKWARD_TEXT.entries()) {
        const key = `/u/${i}/${text.replaceAll('\u0000', '')}`;
        await store.create(key, text);
        assert.deepEqual(await store.get(key), kv(key, text, i + 1, i + 1));
      }
      const listed = await store.list({ prefix: '/u/' });
      assert.deepEqual(
        listed.items.map((item) => item.value),
        AWKWARD_TEXT,
      );
    }));
}

function updates(withStore: WithStore): void {
  it('updates when modRevision matches, keeping createRevision', () =>
    withStore(async (store) => {
      await store.create('/other', 'x');
      await store.create('/k', 'v1');
      assert.deepEqual(await store.update('/k', 'v2', 2), kv('/k', 'v2', 2, 3));
      assert.deepEqual(await store.update('/k', 'v3', 3), kv('/k', 'v3', 2, 4));
      assert.deepEqual(await store.get('/k'), kv('/k', 'v3', 2, 4));
    }));

  it('throws ConflictError on a stale modRevision and changes nothing', () =>
    withStore(async (store) => {
      await store.create('/k', 'v1');
      await store.update('/k', 'v2', 1);
      await assert.rejects(store.update('/k', 'v3', 1), (error: unknown) => {
        assert.ok(error instanceof ConflictError);
        assert.equal(error.key, '/k');
        return true;
      });
      assert.deepEqual(await store.get('/k'), kv('/k', 'v2', 1, 2));
      assert.equal(await store.currentRevision(), 2);
    }));

  it('throws NotFoundError for a missing or deleted key', () =>
    withStore(async (store) => {
      await assert.rejects(store.update('/missing', 'v', 0), NotFoundError);
      await store.create('/k', 'v1');
      await store.delete('/k');
      await assert.rejects(store.update('/k', 'v2', 1), NotFoundError);
      await assert.rejects(store.update('/k', 'v2', 2), NotFoundError);
      assert.equal(await store.currentRevision(), 2);
    }));
}

function deletes(withStore: WithStore): void {
  it('deletes without a precondition and returns the last value at the delete revision', () =>
    withStore(async (store) => {
      await store.create('/k', 'v1');
      await store.update('/k', 'v2', 1);
      assert.deepEqual(await store.delete('/k'), kv('/k', 'v2', 1, 3));
      assert.equal(await store.get('/k'), undefined);
      assert.equal(await store.count(''), 0);
      assert.equal(await store.currentRevision(), 3);
    }));

  it('deletes with a matching precondition', () =>
    withStore(async (store) => {
      await store.create('/k', 'v1');
      assert.deepEqual(await store.delete('/k', 1), kv('/k', 'v1', 1, 2));
      assert.equal(await store.get('/k'), undefined);
    }));

  it('throws ConflictError on a stale precondition and keeps the key', () =>
    withStore(async (store) => {
      await store.create('/k', 'v1');
      await store.update('/k', 'v2', 1);
      await assert.rejects(store.delete('/k', 1), ConflictError);
      assert.deepEqual(await store.get('/k'), kv('/k', 'v2', 1, 2));
      assert.equal(await store.currentRevision(), 2);
    }));

  it('throws NotFoundError for a missing key and for a second delete', () =>
    withStore(async (store) => {
      await assert.rejects(store.delete('/missing'), NotFoundError);
      await store.create('/k', 'v1');
      await store.delete('/k');
      await assert.rejects(store.delete('/k'), NotFoundError);
      await assert.rejects(store.delete('/k', 2), NotFoundError);
      assert.equal(await store.currentRevision(), 2);
    }));

  it('gives every successful write the next revision, and failed writes none', () =>
    withStore(async (store) => {
      const revisions: number[] = [];
      const record = async (write: Promise<{ modRevision: number }>) => {
        revisions.push((await write).modRevision);
        assert.equal(await store.currentRevision(), revisions[revisions.length - 1]);
      };
      await record(store.create('/a', '1'));
      await record(store.create('/b', '1'));
      await assert.rejects(store.create('/a', 'x'));
      await record(store.update('/a', '2', 1));
      await assert.rejects(store.update('/a', 'x', 1));
      await record(store.delete('/b'));
      await assert.rejects(store.delete('/b'));
      await record(store.create('/b', '2'));
      await record(store.delete('/a', 3));
      assert.deepEqual(revisions, [1, 2, 3, 4, 5, 6]);
    }));
}

async function seed(store: Store, keys: string[]): Promise<void> {
  for (const key of keys) await store.create(key, `value of ${key}`);
}

function lists(withStore: WithStore): void {
  it('lists by prefix without leaking neighbouring prefixes', () =>
    withStore(async (store) => {
      await seed(store, [
        '/registry/podsx/a',
        '/registry/pods/b',
        '/registry/pods',
        '/registry/pods/a',
        '/registry/pod/c',
      ]);
      const pods = await store.list({ prefix: '/registry/pods/' });
      assert.deepEqual(
        pods.items.map((item) => item.key),
        ['/registry/pods/a', '/registry/pods/b'],
      );
      assert.equal(pods.revision, 5);
      assert.deepEqual(pods.items[0], kv('/registry/pods/a', 'value of /registry/pods/a', 4, 4));
      assert.equal((await store.list({ prefix: '/registry/podsx/' })).items.length, 1);
      assert.equal((await store.list({ prefix: '' })).items.length, 5);
      assert.equal((await store.list({ prefix: '/nothing/' })).items.length, 0);
    }));

  it('orders by key in UTF-8 byte order and hides deleted keys', () =>
    withStore(async (store) => {
      // '\uff01' < '😀' in UTF-8 bytes (EF.. < F0..) though not in UTF-16 units.
      const sorted = ['/k/A', '/k/B', '/k/a', '/k/a/b', '/k/a0', '/k/b', '/k/é', '/k/中', '/k/\uff01', '/k/😀'];
      await seed(store, ['/k/gone', ...[...sorted].reverse()]);
      await store.delete('/k/gone');
      const listed = await store.list({ prefix: '/k/' });
      assert.deepEqual(
        listed.items.map((item) => item.key),
        sorted,
      );
      assert.equal(listed.more, false);
      assert.equal(listed.remaining, 0);
    }));

  it('lists and counts prefixes that end in multi-byte characters', () =>
    withStore(async (store) => {
      // '丮' is the code point right after '中'; '\ue000' right after the surrogate block.
      const keys = ['/m/中', '/m/中/a', '/m/中😀', '/m/丮', '/m/\ud7ff/x', '/m/\ue000'];
      keys.push('/m/😀/a', '/m/😀', '/m/😁');
      await seed(store, keys);
      const listed = async (prefix: string) => (await store.list({ prefix })).items.map((item) => item.key);
      assert.deepEqual(await listed('/m/中'), ['/m/中', '/m/中/a', '/m/中😀']);
      assert.deepEqual(await listed('/m/\ud7ff'), ['/m/\ud7ff/x']);
      assert.deepEqual(await listed('/m/😀'), ['/m/😀', '/m/😀/a']);
      assert.equal(await store.count('/m/中'), 3);
      assert.equal(await store.count('/m/😀'), 2);
    }));

  it('pages with limit and after, reporting more and remaining', () =>
    withStore(async (store) => {
      await seed(store, ['/p/e', '/p/d', '/p/c', '/p/b', '/p/a', '/q/a']);
      const page1 = await store.list({ prefix: '/p/', limit: 2 });
      assert.deepEqual(
        page1.items.map((item) => item.key),
        ['/p/a', '/p/b'],
      );
      assert.deepEqual([page1.more, page1.remaining, page1.revision], [true, 3, 6]);
      const page2 = await store.list({ prefix: '/p/', limit: 2, after: '/p/b' });
      assert.deepEqual(
        page2.items.map((item) => item.key),
        ['/p/c', '/p/d'],
      );
      assert.deepEqual([page2.more, page2.remaining], [true, 1]);
      const page3 = await store.list({ prefix: '/p/', limit: 2, after: '/p/d' });
      assert.deepEqual(
        page3.items.map((item) => item.key),
        ['/p/e'],
      );
      assert.deepEqual([page3.more, page3.remaining], [false, 0]);
      const exact = await store.list({ prefix: '/p/', limit: 5 });
      assert.deepEqual([exact.items.length, exact.more, exact.remaining], [5, false, 0]);
      const noLimit = await store.list({ prefix: '/p/', limit: 0, after: '/p/bb' });
      assert.deepEqual(
        noLimit.items.map((item) => item.key),
        ['/p/c', '/p/d', '/p/e'],
      );
      const afterBeforePrefix = await store.list({ prefix: '/p/', after: '/a' });
      assert.equal(afterBeforePrefix.items.length, 5);
      const afterEverything = await store.list({ prefix: '/p/', after: '/p/z' });
      assert.deepEqual([afterEverything.items.length, afterEverything.more], [0, false]);
    }));

  it('lists a consistent snapshot at an older revision', () =>
    withStore(async (store) => {
      await seed(store, ['/s/a', '/s/b', '/s/c']);
      const snapshot = await store.currentRevision();
      await store.update('/s/a', 'changed', 1);
      await store.delete('/s/b');
      await store.create('/s/d', 'new');
      await store.create('/s/b', 'reborn');
      const old = await store.list({ prefix: '/s/', revision: snapshot });
      assert.equal(old.revision, snapshot);
      assert.deepEqual(old.items, [
        kv('/s/a', 'value of /s/a', 1, 1),
        kv('/s/b', 'value of /s/b', 2, 2),
        kv('/s/c', 'value of /s/c', 3, 3),
      ]);
      const middle = await store.list({ prefix: '/s/', revision: 5 });
      assert.deepEqual(
        middle.items.map((item) => [item.key, item.value]),
        [
          ['/s/a', 'changed'],
          ['/s/c', 'value of /s/c'],
        ],
      );
      // Paging at a fixed revision stays on the snapshot while writes go on.
      const page1 = await store.list({ prefix: '/s/', revision: snapshot, limit: 1 });
      await store.create('/s/aa', 'between pages');
      const page2 = await store.list({ prefix: '/s/', revision: snapshot, limit: 1, after: page1.items[0]!.key });
      assert.deepEqual(
        page2.items.map((item) => item.key),
        ['/s/b'],
      );
      assert.deepEqual([page2.more, page2.remaining], [true, 1]);
      const latest = await store.list({ prefix: '/s/' });
      assert.deepEqual(
        latest.items.map((item) => item.value),
        ['changed', 'between pages', 'reborn', 'value of /s/c', 'new'],
      );
      assert.equal(latest.revision, 8);
    }));

  it('rejects a future revision and a compacted one', () =>
    withStore(async (store) => {
      await seed(store, ['/a', '/b', '/c']);
      await assert.rejects(store.list({ prefix: '', revision: 4 }), FutureRevisionError);
      await store.update('/a', 'x', 1);
      await store.compact(3);
      await assert.rejects(store.list({ prefix: '', revision: 2 }), (error: unknown) => {
        assert.ok(error instanceof CompactedError);
        assert.equal(error.compactedRevision, 3);
        return true;
      });
      assert.equal((await store.list({ prefix: '', revision: 3 })).items.length, 3);
    }));

  it('counts live keys by prefix', () =>
    withStore(async (store) => {
      await seed(store, ['/c/a', '/c/b', '/c/c', '/cx/a', '/d']);
      assert.equal(await store.count('/c/'), 3);
      assert.equal(await store.count(''), 5);
      await store.delete('/c/b');
      await store.update('/c/a', 'u', 1);
      assert.equal(await store.count('/c/'), 2);
      assert.equal(await store.count('/cx/'), 1);
      assert.equal(await store.count('/none/'), 0);
    }));
}

function compaction(withStore: WithStore): void {
  it('keeps latest values and drops older revisions', () =>
    withStore(async (store) => {
      await seed(store, ['/a', '/b', '/c', '/d']);
      await store.update('/a', 'a2', 1);
      await store.update('/a', 'a3', 5);
      await store.delete('/b');
      await store.delete('/c');
      await store.create('/c', 'c2');
      const latestBefore = await store.list({ prefix: '' });
      await store.compact(9);
      assert.equal(await store.compactedRevision(), 9);
      assert.deepEqual(await store.list({ prefix: '' }), latestBefore);
      assert.deepEqual(await store.get('/a'), kv('/a', 'a3', 1, 6));
      assert.equal(await store.get('/b'), undefined);
      assert.equal(await store.count(''), 3);
      await assert.rejects(store.list({ prefix: '', revision: 8 }), CompactedError);
      // Writes go on at the next revision; deleted-and-compacted keys can be created again.
      assert.deepEqual(await store.create('/b', 'b2'), kv('/b', 'b2', 10, 10));
      assert.deepEqual(await store.update('/a', 'a4', 6), kv('/a', 'a4', 1, 11));
      assert.equal(await store.currentRevision(), 11);
    }));

  it('keeps the snapshot at the compacted revision itself', () =>
    withStore(async (store) => {
      await seed(store, ['/a', '/b', '/c']);
      await store.update('/a', 'a2', 1);
      await store.delete('/b');
      await store.update('/a', 'a3', 4);
      await store.delete('/c');
      await store.compact(5);
      const atCompacted = await store.list({ prefix: '', revision: 5 });
      assert.deepEqual(atCompacted.items, [kv('/a', 'a2', 1, 4), kv('/c', 'value of /c', 3, 3)]);
    }));

  it('ignores an older compaction and rejects a future one', () =>
    withStore(async (store) => {
      await seed(store, ['/a', '/b', '/c']);
      await store.compact(2);
      await store.compact(1);
      assert.equal(await store.compactedRevision(), 2);
      await assert.rejects(store.compact(4), FutureRevisionError);
      assert.equal(await store.compactedRevision(), 2);
      await store.compact(3);
      assert.equal(await store.compactedRevision(), 3);
      assert.equal(await store.count(''), 3);
    }));
}

function concurrency(withStore: WithStore): void {
  it('lets exactly one of many concurrent CAS updates win', () =>
    withStore(async (store) => {
      const created = await store.create('/cas', 'start');
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => store.update('/cas', `writer ${i}`, created.modRevision)),
      );
      const won = results.filter((result) => result.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const result of results) {
        if (result.status === 'rejected') assert.ok(result.reason instanceof ConflictError);
      }
      assert.equal((await store.get('/cas'))?.value, won[0]!.value.value);
      assert.equal(await store.currentRevision(), 2);
    }));

  it('lets exactly one of many concurrent creates win', () =>
    withStore(async (store) => {
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => store.create('/once', `creator ${i}`)),
      );
      assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
      assert.equal(await store.currentRevision(), 1);
    }));

  it('counts correctly with read-modify-write retry loops racing', () =>
    withStore(async (store) => {
      await store.create('/counter', '0');
      const workers = 10;
      const incrementsEach = 20;
      const seen = new Set<number>();
      const worker = async () => {
        for (let done = 0; done < incrementsEach; ) {
          const current = (await store.get('/counter'))!;
          try {
            const next = await store.update('/counter', String(Number(current.value) + 1), current.modRevision);
            assert.ok(!seen.has(next.modRevision), 'two writes got the same revision');
            seen.add(next.modRevision);
            done++;
          } catch (error) {
            if (!(error instanceof ConflictError)) throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: workers }, worker));
      assert.equal((await store.get('/counter'))?.value, String(workers * incrementsEach));
      assert.equal(await store.currentRevision(), 1 + workers * incrementsEach);
    }));

  it('rejects operations after close, and close twice is harmless', () =>
    withStore(async (store) => {
      await store.create('/a', '1');
      await store.close();
      await store.close();
      await assert.rejects(store.get('/a'));
      await assert.rejects(store.create('/b', '1'));
    }));
}
