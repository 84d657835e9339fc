// The sliding window of recent events of one resource type: what lets a
// WATCH from a recent resourceVersion be served from memory.
//
// Every event of the type with a revision greater than `startRevision` is
// held. The window keeps at least `minSize` events and at most `maxSize`;
// between the two it keeps whatever is younger than `freshMs`, so it grows
// with the write rate (as upstream's watch cache sizes itself by its "event
// fresh duration") and shrinks back when writes slow down.
import type { WatchEvent } from '../interface.ts';

export interface WindowEntry {
  event: WatchEvent;
  /** Index keys ("name\0value") the object had before or after the write: which triggered watchers it concerns. */
  touched: readonly string[];
  /** When the cache received it (ms). */
  at: number;
}

export interface EventWindowOptions {
  startRevision: number;
  minSize: number;
  maxSize: number;
  freshMs: number;
  now?: () => number;
}

export class EventWindow {
  #entries: WindowEntry[] = [];
  #head = 0;
  #startRevision: number;
  readonly #o: EventWindowOptions;
  readonly #now: () => number;

  constructor(options: EventWindowOptions) {
    this.#o = options;
    this.#startRevision = options.startRevision;
    this.#now = options.now ?? Date.now;
  }

  /** Every event with a revision above this one is in the window. */
  get startRevision(): number {
    return this.#startRevision;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  push(event: WatchEvent, touched: readonly string[]): void {
    const now = this.#now();
    this.#entries.push({ event, touched, at: now });
    while (this.size > this.#o.maxSize || (this.size > this.#o.minSize && now - this.#entries[this.#head]!.at > this.#o.freshMs)) {
      this.#startRevision = this.#entries[this.#head]!.event.revision;
      this.#head++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The entries with a revision greater than `revision`, oldest first (a copy: the window moves on). */
  since(revision: number): WindowEntry[] {
    let lo = this.#head;
    let hi = this.#entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#entries[mid]!.event.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return this.#entries.slice(lo);
  }
}
