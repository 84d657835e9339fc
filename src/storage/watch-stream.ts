// One running watch, shared by the backends.
//
// A watch first replays history (writes in (fromRevision, historyEnd], read
// lazily in batches from the backend so a long catch-up never sits in memory at
// once), then delivers live writes that the store pushes after each commit.
// `historyEnd` is the store's revision when the watch was registered, and the
// store registers the watch in the same synchronous step in which it reads that
// revision, so every later write is pushed: the hand-over has no gap, and since
// pushed revisions are all > historyEnd, no duplicate.

import type { Watch, WatchEvent } from './interface.ts';

export interface WatchStreamOptions {
  prefix: string;
  fromRevision: number;
  /** The store's current revision when the watch was registered. */
  historyEnd: number;
  /**
   * Up to one batch of matching events with revision in (after, upTo], in
   * revision order; an empty array when there are none. May throw (e.g.
   * CompactedError if history was compacted away during the catch-up); the
   * error is delivered to the consumer and the watch ends.
   */
  readHistory: (after: number, upTo: number) => WatchEvent[];
  /** Called exactly once when the watch ends, so the store can unregister it. */
  onStop: () => void;
}

/** A FIFO that does not pay O(n) for every shift. */
class Queue<T> {
  #items: T[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(item: T): void {
    this.#items.push(item);
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
  replace(items: T[]): void {
    this.#items = items;
    this.#head = 0;
  }
  clear(): void {
    this.replace([]);
  }
}

type Waiter = {
  resolve: (result: IteratorResult<WatchEvent>) => void;
  reject: (error: unknown) => void;
};

/** The end of a watch's event sequence. */
export const DONE: IteratorResult<WatchEvent> = { done: true, value: undefined };

/** A watch's `events`: pulls from `next`; a consumer that leaves early (`break`) stops the watch. */
export function watchIterator(source: { next: () => Promise<IteratorResult<WatchEvent>>; stop: () => void }): AsyncIterableIterator<WatchEvent> {
  const iterator: AsyncIterableIterator<WatchEvent> = {
    next: source.next,
    return: async () => {
      source.stop();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

export class WatchStream implements Watch {
  readonly prefix: string;
  readonly events: AsyncIterable<WatchEvent>;
  #cursor: number;
  readonly #historyEnd: number;
  readonly #readHistory: WatchStreamOptions['readHistory'];
  readonly #onStop: () => void;
  readonly #history = new Queue<WatchEvent>();
  readonly #live = new Queue<WatchEvent>();
  #waiters: Waiter[] = [];
  #stopped = false;

  constructor(options: WatchStreamOptions) {
    this.prefix = options.prefix;
    this.#cursor = options.fromRevision;
    this.#historyEnd = options.historyEnd;
    this.#readHistory = options.readHistory;
    this.#onStop = options.onStop;
    this.events = watchIterator({ next: () => this.#next(), stop: () => this.stop() });
  }

  /** Called by the store after each committed write whose key has this watch's prefix. */
  push(event: WatchEvent): void {
    if (this.#stopped) return;
    const waiter = this.#waiters.shift();
    // A waiter only exists once history is drained and the live queue is empty.
    if (waiter) waiter.resolve({ done: false, value: event });
    else this.#live.push(event);
  }

  stop(): void {
    this.#end();
  }

  #end(error?: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#history.clear();
    this.#live.clear();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (error === undefined) waiter.resolve(DONE);
      else waiter.reject(error);
    }
    this.#onStop();
  }

  #next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      if (this.#stopped) return Promise.resolve(DONE);
      const fromHistory = this.#history.shift();
      if (fromHistory) return Promise.resolve({ done: false, value: fromHistory });
      if (this.#cursor < this.#historyEnd) {
        let batch: WatchEvent[];
        try {
          batch = this.#readHistory(this.#cursor, this.#historyEnd);
        } catch (error) {
          this.#end();
          return Promise.reject(error);
        }
        this.#cursor = batch.length === 0 ? this.#historyEnd : batch[batch.length - 1]!.revision;
        this.#history.replace(batch);
        continue;
      }
      const live = this.#live.shift();
      if (live) return Promise.resolve({ done: false, value: live });
      return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
    }
  }
}

/**
 * The running watches of one store: opening them (history up to the current
 * revision, then live events), delivering each committed event to those whose
 * prefix it matches, and stopping them all at close. Shared by every backend.
 */
export class WatchHub {
  readonly #streams = new Set<WatchStream>();

  open(options: Omit<WatchStreamOptions, 'onStop'>): WatchStream {
    const stream: WatchStream = new WatchStream({ ...options, onStop: () => this.#streams.delete(stream) });
    this.#streams.add(stream);
    return stream;
  }

  publish(event: WatchEvent): void {
    for (const stream of this.#streams) {
      if (event.kv.key.startsWith(stream.prefix)) stream.push(event);
    }
  }

  stopAll(): void {
    for (const stream of [...this.#streams]) stream.stop();
  }
}
