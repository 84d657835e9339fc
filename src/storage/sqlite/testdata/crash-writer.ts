// Child process for the sqlite durability test: opens the store at argv[2],
// creates keys in a loop and prints each key after create() resolved, so the
// parent knows every acknowledged write. The parent kills it with SIGKILL.

import { openSqliteStore } from '../sqlite-store.ts';

const path = process.argv[2];
const prefix = process.argv[3] ?? '/crash/';
if (!path) throw new Error('usage: crash-writer.ts DB_PATH [PREFIX]');

const store = openSqliteStore({ path, compactIntervalMs: 0 });
const value = JSON.stringify({ filler: 'x'.repeat(512), text: 'é中😀' });
// Bounded so a parent that forgets to kill us does not fill the disk.
for (let i = 0; i < 1_000_000; i++) {
  const key = `${prefix}${String(i).padStart(7, '0')}`;
  const kv = await store.create(key, value);
  process.stdout.write(`${key} ${kv.modRevision}\n`);
  // Let stdout drain now and then so the parent sees a steady stream.
  if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
}
await store.close();
