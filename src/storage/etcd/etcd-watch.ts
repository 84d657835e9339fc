// One Store watch on an etcd gRPC watch stream.
//
// etcd itself replays history from the start revision and then streams live
// writes, in order and without gaps, so the hand-over the other backends build
// (watch-stream.ts) is etcd's job here. What this file adds:
// - it reconnects by itself when the stream breaks (etcd restarted, member
//   lost, connection dropped), from the revision after the last event it
//   delivered, so the consumer sees one gap-free stream across outages;
// - compaction below that revision ends the watch with CompactedError;
// - large responses arrive in fragments (1 MiB objects) and are reassembled;
// - a slow consumer pauses the gRPC stream (HTTP/2 flow control pushes back
//   on etcd) instead of buffering without bound.
import type { Duplex } from 'node:stream';
import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { CompactedError, type KeyValue, type Watch, type WatchEvent } from '../interface.ts';
import { DONE, watchIterator } from '../watch-stream.ts';
import { toEtcdRevision, toStoreRevision, type KeyCodec } from './codec.ts';
import type { EtcdConnection } from './connection.ts';

export interface EtcdWatchOptions {
  connection: EtcdConnection;
  codec: KeyCodec;
  prefix: string;
  /** Deliver writes with a (store) revision greater than this. */
  fromRevision: number;
  /** Every response header's revision (store terms), to keep the store's view current. */
  onRevision: (storeRevision: number) => void;
  /** etcd reported this (store) revision as compacted. */
  onCompacted: (storeRevision: number) => void;
  /** Called once when the watch ends. */
  onStop: () => void;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;
type Waiter = { resolve: (result: IteratorResult<WatchEvent>) => void; reject: (error: unknown) => void };

/** Pause the stream above this many undelivered events, resume below the low mark. */
const HIGH_WATER = 1024;
const LOW_WATER = 256;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

export class EtcdWatch implements Watch {
  readonly events: AsyncIterable<WatchEvent>;
  readonly #o: EtcdWatchOptions;
  /** The etcd revision the next (re)created etcd watch starts at. */
  #startRevision: number;
  #stream: Stream | undefined;
  #paused = false;
  #fragments: IEvent[] = [];
  #queue: WatchEvent[] = [];
  #head = 0;
  #waiters: Waiter[] = [];
  /** An error to hand the consumer once the queued events are read. */
  #failure: unknown;
  #stopped = false;
  #reconnects = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: EtcdWatchOptions) {
    this.#o = options;
    this.#startRevision = toEtcdRevision(options.fromRevision) + 1;
    this.events = watchIterator({ next: () => this.#next(), stop: () => this.stop() });
    void this.#connect();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#closeStream();
    this.#queue = [];
    this.#head = 0;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve(DONE);
    this.#o.onStop();
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let stream: Stream;
    try {
      stream = await this.#o.connection.client.watchClient.watch();
    } catch {
      this.#reconnectLater();
      return;
    }
    if (this.#stopped) {
      stream.cancel();
      return;
    }
    this.#stream = stream;
    this.#paused = false;
    this.#fragments = [];
    stream.on('data', (response) => {
      if (stream === this.#stream) this.#onResponse(response);
    });
    stream.on('error', () => this.#onBroken(stream));
    stream.on('end', () => this.#onBroken(stream));
    const range = this.#o.codec.range(this.#o.prefix);
    stream.write({ create_request: { ...range, start_revision: this.#startRevision, prev_kv: true, fragment: true } });
  }

  #onBroken(stream: Stream): void {
    if (stream !== this.#stream || this.#stopped) return;
    this.#closeStream();
    this.#reconnectLater();
  }

  #reconnectLater(): void {
    if (this.#stopped) return;
    const delay = Math.min(RECONNECT_MIN_MS * 2 ** this.#reconnects, RECONNECT_MAX_MS);
    this.#reconnects++;
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }

  #closeStream(): void {
    const stream = this.#stream;
    this.#stream = undefined;
    if (!stream) return;
    try {
      stream.cancel();
    } catch {
      // already closed
    }
  }

  #onResponse(response: IWatchResponse): void {
    this.#o.onRevision(toStoreRevision(response.header.revision));
    const compacted = Number(response.compact_revision);
    if (compacted > 0) {
      const storeCompacted = toStoreRevision(compacted);
      this.#o.onCompacted(storeCompacted);
      this.#fail(new CompactedError(toStoreRevision(this.#startRevision) - 1, storeCompacted));
      return;
    }
    if (response.canceled) {
      // Not compaction: e.g. the member lost its leader. Start over elsewhere.
      if (this.#stream) this.#onBroken(this.#stream);
      return;
    }
    if (response.created) this.#reconnects = 0;
    if (response.fragment) {
      this.#fragments.push(...response.events);
      return;
    }
    const events = this.#fragments.length > 0 ? [...this.#fragments, ...response.events] : response.events;
    this.#fragments = [];
    for (const event of events) {
      this.#startRevision = Number(event.kv.mod_revision) + 1;
      this.#deliver(this.#toStoreEvent(event));
    }
  }

  #toStoreEvent(event: IEvent): WatchEvent {
    const codec = this.#o.codec;
    const revision = toStoreRevision(event.kv.mod_revision);
    const prevKv: KeyValue | undefined = event.prev_kv ? codec.value(event.prev_kv) : undefined;
    if (event.type === 'Delete') {
      // etcd's delete event carries only the key: the Store contract wants the last value.
      const kv = { key: codec.decode(event.kv.key), value: prevKv?.value ?? '', createRevision: prevKv?.createRevision ?? 0, modRevision: revision };
      return prevKv ? { type: 'delete', kv, prevKv, revision } : { type: 'delete', kv, revision };
    }
    const kv = codec.value(event.kv);
    if (kv.createRevision === kv.modRevision) return { type: 'create', kv, revision };
    return prevKv ? { type: 'update', kv, prevKv, revision } : { type: 'update', kv, revision };
  }

  #deliver(event: WatchEvent): void {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ done: false, value: event });
      return;
    }
    this.#queue.push(event);
    if (!this.#paused && this.#queue.length - this.#head > HIGH_WATER && this.#stream) {
      this.#paused = true;
      (this.#stream as unknown as Duplex).pause();
    }
  }

  #fail(error: unknown): void {
    if (this.#stopped) return;
    this.#closeStream();
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.reject(error);
      this.stop();
    } else {
      this.#failure = error;
    }
  }

  #next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#stopped) return Promise.resolve(DONE);
    if (this.#head < this.#queue.length) {
      const event = this.#queue[this.#head]!;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      if (this.#paused && this.#queue.length - this.#head < LOW_WATER && this.#stream) {
        this.#paused = false;
        (this.#stream as unknown as Duplex).resume();
      }
      return Promise.resolve({ done: false, value: event });
    }
    if (this.#failure !== undefined) {
      const failure = this.#failure;
      this.stop();
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }
}
