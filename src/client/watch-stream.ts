// The client side of a watch: a response body of newline-delimited JSON
// events turned into an async iterator. Chunks split lines (and multi-byte
// characters) anywhere, so bytes are decoded with a StringDecoder and only
// complete lines are parsed. A slow consumer pauses the HTTP/2 stream, which
// lets flow control push back on the server instead of buffering without end.
//
// How a watch ends:
// - stop() (or `break` out of for-await): the iterator finishes normally;
// - the server ends the stream: the iterator finishes normally after the
//   last event;
// - the watch could not be set up (non-2xx, no connection): the first next()
//   rejects with that error (an ApiStatusError for a Status answer);
// - the connection breaks mid-stream: next() rejects once the buffered
//   events are consumed, so callers can tell "ended" from "lost".
// ERROR events (e.g. 410 Expired) are yielded like any other event.
import type { ClientHttp2Stream } from 'node:http2';
import { StringDecoder } from 'node:string_decoder';
import type { OpenedStream } from './http2-connection.ts';
import type { KubeObject, WatchEvent, WatchStream } from './interface.ts';

/** Pause reading once this many parsed events wait for the consumer. */
const HIGH_WATER_EVENTS = 256;

/** Splits decoded text into complete lines, keeping the unfinished tail. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private tail = '';

  /** Complete lines in this chunk (without their newline). */
  push(chunk: Buffer): string[] {
    const text = this.tail + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.tail = lines.pop()!;
    return lines;
  }

  /** Whatever is left when the stream ends (a last event without a newline). */
  end(): string[] {
    const rest = this.tail + this.decoder.end();
    this.tail = '';
    return rest ? [rest] : [];
  }
}

type Opener = () => Promise<OpenedStream>;

/**
 * A watch over a response stream. `open` resolves with a stream already
 * answered 2xx (setup errors reject it); it is called at once, so events
 * buffer even before iteration starts.
 */
export class HttpWatchStream<T extends KubeObject> implements WatchStream<T>, AsyncIterator<WatchEvent<T>> {
  private readonly buffer: WatchEvent<T>[] = [];
  private waiter: { resolve: (r: IteratorResult<WatchEvent<T>>) => void; reject: (e: unknown) => void } | undefined;
  private stream: ClientHttp2Stream | undefined;
  private finished = false;
  private failure: unknown;
  private readonly splitter = new LineSplitter();

  constructor(open: Opener) {
    open().then((stream) => this.attach(stream), (error) => this.finish(error));
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    return this;
  }

  next(): Promise<IteratorResult<WatchEvent<T>>> {
    const event = this.buffer.shift();
    if (event) {
      if (this.buffer.length < HIGH_WATER_EVENTS / 2 && this.stream?.isPaused()) this.stream.resume();
      return Promise.resolve({ value: event, done: false });
    }
    if (this.finished) {
      if (this.failure !== undefined) {
        const failure = this.failure;
        this.failure = undefined; // reported once; afterwards the iterator is simply done
        return Promise.reject(failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /** Called by `break` inside for-await. */
  return(): Promise<IteratorResult<WatchEvent<T>>> {
    this.stop();
    return Promise.resolve({ value: undefined, done: true });
  }

  stop(): void {
    if (this.finished) return;
    this.buffer.length = 0;
    this.finish(undefined);
  }

  private attach({ stream, endedCleanly }: OpenedStream): void {
    if (this.finished) {
      stream.close();
      return;
    }
    this.stream = stream;
    stream.on('data', (chunk: Buffer) => {
      for (const line of this.splitter.push(chunk)) this.accept(line);
    });
    stream.on('end', () => {
      if (!endedCleanly()) {
        this.finish(new Error('watch stream broke: the connection closed'));
        return;
      }
      for (const line of this.splitter.end()) this.accept(line);
      this.finish(undefined);
    });
    stream.on('error', (error) => this.finish(new Error(`watch stream broke: ${error.message}`, { cause: error })));
    // 'close' without 'end' is a reset (server went away, session destroyed).
    stream.on('close', () => this.finish(new Error(`watch stream closed before its end (code ${stream.rstCode})`)));
  }

  private accept(line: string): void {
    if (this.finished || line.trim() === '') return;
    let event: WatchEvent<T>;
    try {
      event = JSON.parse(line) as WatchEvent<T>;
    } catch (error) {
      this.finish(new Error(`watch stream sent a malformed event: ${(error as Error).message}`));
      return;
    }
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: event, done: false });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length >= HIGH_WATER_EVENTS) this.stream?.pause();
  }

  /** Ends the watch: `error` undefined is a normal end. Only the first call counts. */
  private finish(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    const stream = this.stream;
    if (stream && !stream.closed && !stream.destroyed) stream.close();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if (error !== undefined) {
      this.failure = undefined;
      waiter.reject(error);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }
}
