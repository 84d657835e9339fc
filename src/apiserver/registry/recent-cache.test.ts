import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentCache } from './recent-cache.ts';

test('RecentCache keeps the newest additions up to its capacity', () => {
  const cache = new RecentCache<string, number>(2);
  cache.set('a', 1);
  cache.set('b', 2);
  cache.set('c', 3);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('b'), 2);
  assert.equal(cache.get('c'), 3);
  // Setting an existing key again makes it the newest.
  cache.set('b', 20);
  cache.set('d', 4);
  assert.equal(cache.get('c'), undefined);
  assert.equal(cache.get('b'), 20);
  assert.equal(cache.get('d'), 4);
});

test('RecentCache refuses a capacity below one', () => {
  assert.throws(() => new RecentCache(0), /at least 1/);
});
