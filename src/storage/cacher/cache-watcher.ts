// One WATCH served from the cache.
//
// It first hands out the window's events after its start revision (copied
// when it was registered), then live events that the dispatcher pushes into
// its own bounded buffer. The dispatcher never waits for a watcher: when the
// buffer is full the watcher is ended at once (a clean end of the stream; the
// client re-watches from the last revision it saw, as upstream's cacher does
// with a watcher that cannot keep up), so one slow client never holds up the
// others or grows memory without bound.
import type { Watch, WatchEvent } from '../interface.ts';
import { DONE, watchIterator } from '../watch-stream.ts';

export interface CacheWatcherOptions {
  /** Keys with this prefix (an exact key for a watch of one object). */
  prefix: string;
  /** Deliver events with a revision above this. */
  fromRevision: number;
  /** Window events to deliver first (already filtered for this watcher). */
  initial: WatchEvent[];
  /** Live events buffered at most; one more ends the watch. */
  capacity: number;
  /** The revision the cache has dispatched up to (for progress()). */
  cacheRevision: () => number;
  /** Called exactly once when the watch ends. */
  onStop: () => void;
}

type Waiter = (result: IteratorResult<WatchEvent>) => void;

export class CacheWatcher implements Watch {
  readonly prefix: string;
  readonly events: AsyncIterable<WatchEvent>;
  readonly #o: CacheWatcherOptions;
  #initial: WatchEvent[];
  #initialHead = 0;
  #buffer: WatchEvent[] = [];
  #bufferHead = 0;
  /** Pending next() calls; only non-empty while nothing is buffered. */
  #waiters: Waiter[] = [];
  #lastRevision: number;
  #stopped = false;
  /** Why the watch ended early (for tests and metrics). */
  endReason: 'overflow' | 'reset' | undefined;

  constructor(options: CacheWatcherOptions) {
    this.#o = options;
    this.prefix = options.prefix;
    this.#initial = options.initial;
    this.#lastRevision = options.fromRevision;
    this.events = watchIterator({ next: () => this.#next(), stop: () => this.stop() });
  }

  /** Called by the dispatcher for each event of this watcher's type (key and trigger already checked). */
  push(event: WatchEvent): void {
    if (this.#stopped || event.revision <= this.#lastRevision || !event.kv.key.startsWith(this.prefix)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#lastRevision = event.revision;
      waiter({ done: false, value: event });
      return;
    }
    if (this.#buffer.length - this.#bufferHead >= this.#o.capacity) {
      this.end('overflow');
      return;
    }
    this.#buffer.push(event);
  }

  /**
   * The revision a client may resume from without missing an event of this
   * watch: the cache's revision when nothing is waiting, else the revision just
   * before the next waiting event (a bookmark written now precedes that event
   * in the stream). What a BOOKMARK carries.
   */
  progress(): number {
    const next = this.#initial[this.#initialHead] ?? this.#buffer[this.#bufferHead];
    if (!next) return Math.max(this.#lastRevision, this.#o.cacheRevision());
    return Math.max(this.#lastRevision, next.revision - 1);
  }

  stop(): void {
    this.end();
  }

  end(reason?: 'overflow' | 'reset'): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.endReason = reason;
    this.#initial = [];
    this.#buffer = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter(DONE);
    this.#o.onStop();
  }

  #take(): WatchEvent | undefined {
    if (this.#initialHead < this.#initial.length) {
      const event = this.#initial[this.#initialHead++]!;
      if (this.#initialHead === this.#initial.length) {
        this.#initial = [];
        this.#initialHead = 0;
      }
      return event;
    }
    if (this.#bufferHead < this.#buffer.length) {
      const event = this.#buffer[this.#bufferHead++]!;
      if (this.#bufferHead > 1024 && this.#bufferHead * 2 > this.#buffer.length) {
        this.#buffer = this.#buffer.slice(this.#bufferHead);
        this.#bufferHead = 0;
      }
      return event;
    }
    return undefined;
  }

  #next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#stopped) return Promise.resolve(DONE);
    const event = this.#take();
    if (event) {
      this.#lastRevision = Math.max(this.#lastRevision, event.revision);
      return Promise.resolve({ done: false, value: event });
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
