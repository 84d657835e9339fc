// Watch part of the storage conformance suite (see conformance.ts).

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CompactedError, FutureRevisionError, type Store, type WatchEvent } from './interface.ts';
import { bigValue, collect, kv, nextEvent, plain, quiet, type WithStore } from './conformance-support.ts';

export function watchConformance(withStore: WithStore): void {
  it('delivers live creates, updates and deletes in order with prevKv', () =>
    withStore(async (store) => {
      await store.create('/w/before', 'old');
      const watch = store.watch({ prefix: '/w/', fromRevision: await store.currentRevision() });
      await store.create('/w/a', 'a1');
      await store.update('/w/a', 'a2', 2);
      await store.delete('/w/a');
      await store.delete('/w/before', 1);
      const events = (await collect(watch, 4)).map(plain);
      assert.deepEqual(events, [
        { type: 'create', kv: kv('/w/a', 'a1', 2, 2), revision: 2 },
        { type: 'update', kv: kv('/w/a', 'a2', 2, 3), prevKv: kv('/w/a', 'a1', 2, 2), revision: 3 },
        { type: 'delete', kv: kv('/w/a', 'a2', 2, 4), prevKv: kv('/w/a', 'a2', 2, 3), revision: 4 },
        { type: 'delete', kv: kv('/w/before', 'old', 1, 5), prevKv: kv('/w/before', 'old', 1, 1), revision: 5 },
      ]);
      watch.stop();
    }));

  it('replays history from a revision exactly as it was delivered live', () =>
    withStore(async (store) => {
      const live = store.watch({ prefix: '', fromRevision: 0 });
      await writeMix(store, '/h/');
      const total = await store.currentRevision();
      const liveEvents = (await collect(live, total)).map(plain);
      const replay = store.watch({ prefix: '', fromRevision: 0 });
      assert.deepEqual((await collect(replay, total)).map(plain), liveEvents);
      const partial = store.watch({ prefix: '', fromRevision: 5 });
      assert.deepEqual((await collect(partial, total - 5)).map(plain), liveEvents.slice(5));
      assertContiguous(liveEvents, 1);
      live.stop();
      replay.stop();
      partial.stop();
    }));

  it('hands over from history to live events with no gap or duplicate', () =>
    withStore(async (store) => {
      // Enough history that backends reading it in batches need several batches.
      for (let i = 0; i < 700; i++) await store.create(`/hand/${String(i).padStart(4, '0')}`, `v${i}`);
      const watch = store.watch({ prefix: '/hand/', fromRevision: 100 });
      const iterator = watch.events[Symbol.asyncIterator]();
      // Interleave live writes with reading history so writes land mid catch-up.
      const received: WatchEvent[] = [];
      let written = 700;
      while (received.length < 900 - 100) {
        const event = await nextEvent(iterator);
        assert.ok(event);
        received.push(event);
        if (written < 900 && received.length % 3 === 0) {
          await store.create(`/hand/${String(written).padStart(4, '0')}`, `v${written}`);
          written++;
        }
        if (received.length === 600) while (written < 900) await store.create(`/hand/${written++}`, 'burst');
      }
      assertContiguous(received, 101);
      assert.equal(await quiet(iterator), true);
      watch.stop();
    }));

  it('isolates prefixes in history and live events', () =>
    withStore(async (store) => {
      await store.create('/registry/podsx/a', 'x');
      await store.create('/registry/pods/a', 'p');
      const watch = store.watch({ prefix: '/registry/pods/', fromRevision: 0 });
      const iterator = watch.events[Symbol.asyncIterator]();
      await store.create('/registry/podsx/b', 'x');
      await store.create('/registry/pods', 'bare');
      await store.create('/registry/pods/b', 'p');
      const events = await collect(iterator, 2);
      assert.deepEqual(
        events.map((event) => [event.kv.key, event.revision]),
        [
          ['/registry/pods/a', 2],
          ['/registry/pods/b', 5],
        ],
      );
      assert.equal(await quiet(iterator), true);
      watch.stop();
    }));

  it('serves several concurrent watchers from different revisions', () =>
    withStore(async (store) => {
      await store.create('/m/a', '1');
      await store.create('/m/b', '1');
      const watches = [0, 1, 2].map((fromRevision) => store.watch({ prefix: '/m/', fromRevision }));
      const other = store.watch({ prefix: '/n/', fromRevision: 2 });
      const writes = Array.from({ length: 20 }, (_, i) =>
        i % 2 ? store.create(`/n/${i}`, 'n') : store.create(`/m/c${i}`, 'm'),
      );
      await Promise.all(writes);
      const [w0, w1, w2] = await Promise.all([
        collect(watches[0]!, 12),
        collect(watches[1]!, 11),
        collect(watches[2]!, 10),
      ]);
      assert.deepEqual(w0.slice(2).map(plain), w2.map(plain));
      assert.deepEqual(w1.slice(1).map(plain), w2.map(plain));
      assert.deepEqual(
        w0.slice(0, 2).map((event) => event.kv.key),
        ['/m/a', '/m/b'],
      );
      const revisions = w2.map((event) => event.revision);
      assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b));
      assert.equal((await collect(other, 10)).length, 10);
      for (const watch of [...watches, other]) watch.stop();
    }));

  it('delivers large values in watch events', () =>
    withStore(async (store) => {
      const value = bigValue(1024 * 1024);
      const watch = store.watch({ prefix: '/big', fromRevision: 0 });
      await store.create('/big', value);
      await store.update('/big', value + '!', 1);
      const [created, updated] = await collect(watch, 2);
      assert.equal(created!.kv.value, value);
      assert.equal(updated!.kv.value, value + '!');
      assert.equal(updated!.prevKv?.value, value);
      watch.stop();
    }));

  it('ends the iterator on stop(), also while a next() is pending', () =>
    withStore(async (store) => {
      const watch = store.watch({ prefix: '', fromRevision: 0 });
      const iterator = watch.events[Symbol.asyncIterator]();
      const pending = iterator.next();
      watch.stop();
      assert.equal((await pending).done, true);
      await store.create('/after-stop', 'x');
      assert.equal((await iterator.next()).done, true);
      // Stopping with undelivered events drops them.
      const buffered = store.watch({ prefix: '', fromRevision: 0 });
      buffered.stop();
      assert.equal(await nextEvent(buffered.events[Symbol.asyncIterator]()), undefined);
      watch.stop();
    }));

  it('stops the watch when the consumer breaks out of for-await', () =>
    withStore(async (store) => {
      await store.create('/a', '1');
      await store.create('/b', '1');
      const watch = store.watch({ prefix: '', fromRevision: 0 });
      for await (const event of watch.events) {
        assert.equal(event.kv.key, '/a');
        break;
      }
      assert.equal((await watch.events[Symbol.asyncIterator]().next()).done, true);
    }));

  it('ends every watch on close()', () =>
    withStore(async (store) => {
      await store.create('/a', '1');
      const watches = [store.watch({ prefix: '', fromRevision: 0 }), store.watch({ prefix: '/b', fromRevision: 1 })];
      const iterators = watches.map((watch) => watch.events[Symbol.asyncIterator]());
      assert.equal((await nextEvent(iterators[0]!))?.kv.key, '/a');
      const pending = iterators[1]!.next();
      await store.close();
      assert.equal((await pending).done, true);
      assert.equal(await nextEvent(iterators[0]!), undefined);
    }));

  it('throws synchronously for compacted and future start revisions', () =>
    withStore(async (store) => {
      await store.create('/a', '1');
      await store.create('/b', '1');
      await store.update('/a', '2', 1);
      assert.throws(() => store.watch({ prefix: '', fromRevision: 4 }), FutureRevisionError);
      await store.compact(2);
      assert.throws(
        () => store.watch({ prefix: '', fromRevision: 1 }),
        (error: unknown) => error instanceof CompactedError && error.compactedRevision === 2,
      );
      // Starting exactly at the compacted revision is allowed and sees what came after.
      const watch = store.watch({ prefix: '', fromRevision: 2 });
      const [event] = await collect(watch, 1);
      assert.deepEqual(plain(event!), {
        type: 'update',
        kv: kv('/a', '2', 1, 3),
        prevKv: kv('/a', '1', 1, 1),
        revision: 3,
      });
      watch.stop();
    }));

  it('keeps prevKv in history events after the previous version was compacted', () =>
    withStore(async (store) => {
      await store.create('/a', 'a1');
      await store.create('/b', 'b1');
      await store.update('/a', 'a2', 1);
      await store.delete('/b');
      await store.compact(3);
      const events = (await collect(store.watch({ prefix: '', fromRevision: 3 }), 1)).map(plain);
      assert.deepEqual(events, [
        { type: 'delete', kv: kv('/b', 'b1', 2, 4), prevKv: kv('/b', 'b1', 2, 2), revision: 4 },
      ]);
    }));
}

/** Writes a mix of creates, updates and deletes under `prefix`. */
async function writeMix(store: Store, prefix: string): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const created = await store.create(`${prefix}${i}`, `v${i}`);
    if (i % 2 === 0) await store.update(created.key, `v${i}-updated`, created.modRevision);
    if (i % 3 === 0) await store.delete(created.key);
  }
}

function assertContiguous(events: WatchEvent[], first: number): void {
  events.forEach((event, i) => assert.equal(event.revision, first + i, `event ${i} has a gap`));
}
