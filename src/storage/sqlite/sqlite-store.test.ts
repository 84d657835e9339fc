import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runStorageConformance } from '../conformance.ts';
import { collect } from '../conformance-support.ts';
import { CompactedError } from '../interface.ts';
import { openSqliteStore } from './sqlite-store.ts';

let dir = '';
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-sqlite-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function freshPath(): string {
  counter++;
  return join(dir, `store-${counter}.db`);
}

async function removeDatabase(path: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(path + suffix, { force: true });
}

runStorageConformance('sqlite', async () => {
  const path = freshPath();
  return { store: openSqliteStore({ path, compactIntervalMs: 0 }), cleanup: () => removeDatabase(path) };
});

describe('sqlite store', () => {
  it('keeps data, revision and compaction across reopen', async () => {
    const path = freshPath();
    const first = openSqliteStore({ path, compactIntervalMs: 0 });
    await first.create('/a', '1');
    await first.create('/b', '1');
    await first.update('/a', '2', 1);
    await first.delete('/b');
    await first.compact(4); // the newest row (a tombstone) is compacted away
    await first.close();
    const second = openSqliteStore({ path, compactIntervalMs: 0 });
    try {
      assert.equal(await second.currentRevision(), 4);
      assert.equal(await second.compactedRevision(), 4);
      assert.deepEqual(await second.get('/a'), { key: '/a', value: '2', createRevision: 1, modRevision: 3 });
      assert.equal((await second.create('/b', 'again')).modRevision, 5);
    } finally {
      await second.close();
    }
  });

  it('refuses a second open of the same file while the first is open', async () => {
    const path = freshPath();
    const first = openSqliteStore({ path, compactIntervalMs: 0 });
    try {
      assert.throws(() => openSqliteStore({ path, compactIntervalMs: 0 }), /locked/);
    } finally {
      await first.close();
    }
  });

  it('compacts automatically on a timer, keeping historyRevisions', async () => {
    const store = openSqliteStore({ path: freshPath(), compactIntervalMs: 20, historyRevisions: 10 });
    try {
      await store.create('/k', '0');
      for (let i = 1; i < 50; i++) await store.update('/k', String(i), i);
      const deadline = Date.now() + 5000;
      while ((await store.compactedRevision()) !== 40 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.equal(await store.compactedRevision(), 40);
      assert.equal((await store.get('/k'))?.value, '49');
    } finally {
      await store.close();
    }
  });

  it('compacts a long history in batches without losing latest values', async () => {
    const store = openSqliteStore({ path: freshPath(), compactIntervalMs: 0 });
    try {
      for (let i = 0; i < 300; i++) await store.create(`/many/${i}`, 'v0');
      for (let round = 1; round <= 10; round++) {
        for (let i = 0; i < 300; i++) {
          const key = `/many/${i}`;
          const current = (await store.get(key))!;
          await store.update(key, `v${round}`, current.modRevision);
        }
      }
      for (let i = 0; i < 300; i += 3) await store.delete(`/many/${i}`);
      const before = await store.list({ prefix: '/many/' });
      await store.compact(2000);
      await store.compact(await store.currentRevision());
      assert.deepEqual(await store.list({ prefix: '/many/' }), before);
      assert.equal(await store.count('/many/'), 200);
    } finally {
      await store.close();
    }
  });

  it('ends a catching-up watch with CompactedError when its history is compacted', async () => {
    const store = openSqliteStore({ path: freshPath(), compactIntervalMs: 0 });
    try {
      await store.create('/k', '0');
      for (let i = 1; i < 400; i++) await store.update('/k', String(i), i);
      const watch = store.watch({ prefix: '', fromRevision: 0 });
      const iterator = watch.events[Symbol.asyncIterator]();
      assert.equal((await collect(iterator, 1))[0]!.revision, 1);
      await store.compact(300);
      // The first history batch is already in memory; the next read fails.
      await assert.rejects(collect(iterator, 400), CompactedError);
      assert.equal((await iterator.next()).done, true);
    } finally {
      await store.close();
    }
  });

  it('keeps every acknowledged write when the writer is killed with SIGKILL', { timeout: 60_000 }, async () => {
    const path = freshPath();
    const node = process.execPath; // the pinned Node 24 that runs this test
    const script = new URL('./testdata/crash-writer.ts', import.meta.url).pathname;
    const child = spawn(node, [script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    let buffered = '';
    const killedAt = 3000;
    const exited = new Promise<NodeJS.Signals | null>((resolve) => {
      child.on('exit', (_code, signal) => resolve(signal));
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) acknowledged.push(line.split(' ')[0]!);
      if (acknowledged.length >= killedAt && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    const timeout = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      assert.equal(await exited, 'SIGKILL');
    } finally {
      clearTimeout(timeout);
    }
    assert.ok(acknowledged.length >= killedAt, `only ${acknowledged.length} writes acknowledged`);

    const store = openSqliteStore({ path, compactIntervalMs: 0 });
    try {
      const revision = await store.currentRevision();
      assert.ok(revision >= acknowledged.length);
      const stored = new Set((await store.list({ prefix: '/crash/' })).items.map((item) => item.key));
      const missing = acknowledged.filter((key) => !stored.has(key));
      assert.deepEqual(missing, []);
      assert.equal(stored.size, revision); // one create per revision, none half-written
      assert.equal((await store.create('/after-crash', 'x')).modRevision, revision + 1);
    } finally {
      await store.close();
    }
  });
});
