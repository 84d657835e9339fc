// Helpers shared by the storage conformance suite (conformance.ts,
// conformance-watch.ts). Not a test file itself.

import assert from 'node:assert/strict';
import type { KeyValue, Store, Watch, WatchEvent } from './interface.ts';

export type MakeStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/** Runs `body` against a fresh store, always closing and cleaning it up. */
export type WithStore = (body: (store: Store) => Promise<void>) => Promise<void>;

export function storeRunner(makeStore: MakeStore): WithStore {
  return async (body) => {
    const { store, cleanup } = await makeStore();
    try {
      await body(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };
}

/** Long enough for a slow CI machine, short enough that a hung watch fails clearly. */
const WATCH_TIMEOUT_MS = 5000;

/** Reads one event, failing the test if none arrives in time. Undefined = iterator ended. */
export async function nextEvent(
  iterator: AsyncIterator<WatchEvent>,
  timeoutMs = WATCH_TIMEOUT_MS,
): Promise<WatchEvent | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const result = await Promise.race([iterator.next(), timeout]);
    return result.done ? undefined : result.value;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads exactly `count` events from a watch. */
export async function collect(watch: Watch | AsyncIterator<WatchEvent>, count: number): Promise<WatchEvent[]> {
  const iterator = 'events' in watch ? watch.events[Symbol.asyncIterator]() : watch;
  const events: WatchEvent[] = [];
  while (events.length < count) {
    const event = await nextEvent(iterator);
    if (!event) assert.fail(`watch ended after ${events.length} of ${count} events`);
    events.push(event);
  }
  return events;
}

/**
 * True if no event arrives within `ms` (for "this watch must not see that
 * write"). Leaves a next() pending that swallows the following event, so call
 * it last on an iterator.
 */
export async function quiet(iterator: AsyncIterator<WatchEvent>, ms = 50): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<'idle'>((resolve) => {
    timer = setTimeout(() => resolve('idle'), ms);
  });
  const result = await Promise.race([iterator.next(), idle]);
  clearTimeout(timer);
  return result === 'idle';
}

export function kv(key: string, value: string, createRevision: number, modRevision: number): KeyValue {
  return { key, value, createRevision, modRevision };
}

/** A plain copy of an event (backends may freeze or share event objects). */
export function plain(event: WatchEvent): WatchEvent {
  const copy: WatchEvent = { type: event.type, kv: { ...event.kv }, revision: event.revision };
  if (event.prevKv) copy.prevKv = { ...event.prevKv };
  return copy;
}

/** Strings that tend to break encodings: multi-byte, astral, NUL, quotes, RTL, newlines. */
export const AWKWARD_TEXT = [
  'plain ascii',
  'é è ü ß — “quotes” ‘single’',
  '中文 日本語 한국어',
  'emoji 😀🚀 and ZWJ 👩‍👩‍👧 and flags 🇳🇱',
  'combining e\u0301 and RTL \u05e9\u05dc\u05d5\u05dd',
  'NUL \u0000 inside, tab\t, CR\r, LF\n, backslash \\, quote " \' `',
  '\uffff \ufffd \u{10ffff} \u{1f600}',
  '{"json":"with \\"escapes\\"","n":[1,2,3]}',
];

/** A value of exactly `bytes` UTF-8 bytes mixing ASCII and multi-byte characters. */
export function bigValue(bytes: number): string {
  const chunk = 'skiff-é-中-😀-';
  const size = Buffer.byteLength(chunk);
  const text = chunk.repeat(Math.floor(bytes / size)) + 'x'.repeat(bytes % size);
  assert.equal(Buffer.byteLength(text), bytes);
  return text;
}
