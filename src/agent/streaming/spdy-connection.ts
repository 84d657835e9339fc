// The server end of one SPDY/3.1 connection, as far as remote commands need
// it: the client opens the streams (SYN_STREAM), the server accepts each with
// an empty SYN_REPLY (what kubelet's spdystream does), data flows both ways,
// FIN or RST_STREAM ends a stream, PINGs are echoed, GOAWAY ends the
// conversation. Flow control (SETTINGS, WINDOW_UPDATE) is ignored, as the
// Go client does.
import type { Duplex } from 'node:stream';
import {
  decodeStreamHeaders, decodeSynStream, decodeWords, encodeDataFrame, encodeGoAway, encodePing, encodeRstStream,
  encodeStreamHeaders, FLAG_FIN, FRAME_TYPE, FrameReader, GOAWAY_STATUS, HeaderCompressor, HeaderDecompressor,
  RST_STATUS, SPDY_VERSION, type HeaderMap, type RawFrame,
} from './spdy-framer.ts';

export interface SpdyStream {
  id: number;
  headers: HeaderMap;
  /** The client sent FIN or reset the stream: nothing more comes from it. */
  remoteClosed: boolean;
  /** This side sent FIN (or a reset): nothing more may be sent on it. */
  localClosed: boolean;
  /** The client reset the stream (RST_STREAM) rather than finishing it. */
  reset?: boolean;
}

export interface SpdyConnectionOptions {
  socket: Duplex;
  /** Bytes that arrived with the upgrade request, before the 101. */
  head?: Buffer;
  /** A stream the client opened (already accepted). */
  onStream(stream: SpdyStream): void;
  onData(stream: SpdyStream, data: Buffer): void;
  /** The client finished (FIN) or reset the stream. */
  onStreamEnd(stream: SpdyStream): void;
  /** The client said GOAWAY, broke the protocol, or the socket closed; called once. */
  onClose(): void;
}

// DATA frames may carry up to 16 MiB; smaller ones keep other streams moving.
const MAX_DATA_FRAME = 64 * 1024;

export class SpdyConnection {
  private readonly o: SpdyConnectionOptions;
  private readonly reader = new FrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private readonly streams = new Map<number, SpdyStream>();
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private queuedBytes = 0;
  private lastStreamId = 0;
  private closed = false;
  private goneAway = false;

  constructor(options: SpdyConnectionOptions) {
    this.o = options;
    const { socket } = options;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined); // shows up as 'close'
    socket.once('close', () => this.shutDown());
    socket.once('end', () => this.shutDown());
    if (options.head?.length) this.receive(options.head);
  }

  /** Bytes written or waiting to be (for back-pressure). */
  get bufferedAmount(): number {
    return this.queuedBytes + this.o.socket.writableLength;
  }

  get isOpen(): boolean {
    return !this.closed && !this.o.socket.destroyed;
  }

  /** Sends `data` on the stream in DATA frames; `done` runs once it is written (or dropped). */
  write(stream: SpdyStream, data: Buffer, done?: () => void): void {
    if (stream.localClosed) return done?.();
    for (let offset = 0; offset < data.length; offset += MAX_DATA_FRAME) {
      const last = offset + MAX_DATA_FRAME >= data.length;
      this.send(encodeDataFrame({ streamId: stream.id, data: data.subarray(offset, offset + MAX_DATA_FRAME) }), last ? done : undefined);
    }
    if (data.length === 0) done?.();
  }

  /** Half-closes the stream from this side (an empty DATA frame with FIN). */
  finish(stream: SpdyStream, done?: () => void): void {
    if (stream.localClosed) return done?.();
    stream.localClosed = true;
    this.forgetIfDone(stream);
    this.send(encodeDataFrame({ streamId: stream.id, fin: true }), done);
  }

  /** GOAWAY, then the socket is ended once everything queued is written. */
  end(): void {
    if (!this.goneAway) {
      this.goneAway = true;
      this.send(encodeGoAway({ lastGoodStreamId: this.lastStreamId, status: GOAWAY_STATUS.ok }));
    }
    this.outbound = this.outbound.then(() => {
      this.o.socket.end();
    });
  }

  destroy(): void {
    this.o.socket.destroy();
    this.shutDown();
  }

  private send(frame: Buffer | (() => Promise<Buffer>), done?: () => void): void {
    const size = Buffer.isBuffer(frame) ? frame.length : 0;
    this.queuedBytes += size;
    this.outbound = this.outbound.then(async () => {
      const bytes = Buffer.isBuffer(frame) ? frame : await frame();
      this.queuedBytes -= size;
      const { socket } = this.o;
      if (socket.destroyed || socket.writableEnded) return done?.();
      socket.write(bytes, () => done?.());
    }).catch(() => {
      this.destroy();
      done?.();
    });
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    for (const frame of this.reader.push(chunk)) {
      // In order: header blocks share one zlib stream, and data must follow its stream's SYN_STREAM.
      this.inbound = this.inbound.then(() => this.handle(frame)).catch(() => this.protocolError());
    }
  }

  private async handle(frame: RawFrame): Promise<void> {
    if (this.closed) return;
    if (!frame.control) return this.handleData(frame);
    if (frame.version !== SPDY_VERSION) return this.protocolError();
    switch (frame.type) {
      case FRAME_TYPE.synStream: return this.handleSynStream(frame);
      case FRAME_TYPE.headers: {
        // Nothing to learn from them, but they advance the zlib stream.
        await this.decompressor.decompress(decodeStreamHeaders(frame).headerBlock);
        return;
      }
      case FRAME_TYPE.rstStream: {
        const [id] = decodeWords(frame, 2);
        const stream = this.streams.get(id! & 0x7fffffff);
        if (!stream) return;
        stream.localClosed = true;
        stream.reset = true;
        this.endRemote(stream);
        return;
      }
      case FRAME_TYPE.ping: {
        const [id] = decodeWords(frame, 1);
        this.send(encodePing(id!));
        return;
      }
      case FRAME_TYPE.goAway: return this.shutDown();
      default: return; // SETTINGS, WINDOW_UPDATE, SYN_REPLY (we open no streams): nothing to do
    }
  }

  private async handleSynStream(frame: { flags: number; payload: Buffer }): Promise<void> {
    const syn = decodeSynStream(frame);
    const headers = await this.decompressor.decompress(syn.headerBlock);
    // Client streams have odd, increasing ids.
    if (syn.streamId % 2 !== 1 || syn.streamId <= this.lastStreamId) {
      this.send(encodeRstStream({ streamId: syn.streamId, status: this.streams.has(syn.streamId) ? RST_STATUS.streamInUse : RST_STATUS.protocolError }));
      return;
    }
    this.lastStreamId = syn.streamId;
    const stream: SpdyStream = { id: syn.streamId, headers, remoteClosed: false, localClosed: false };
    this.streams.set(stream.id, stream);
    this.send(async () => encodeStreamHeaders({ type: FRAME_TYPE.synReply, streamId: stream.id, headerBlock: await this.compressor.compress(new Map()) }));
    this.o.onStream(stream);
    if (syn.flags & FLAG_FIN) this.endRemote(stream);
  }

  private handleData(frame: { streamId: number; flags: number; data: Buffer }): void {
    const stream = this.streams.get(frame.streamId);
    if (!stream || stream.remoteClosed) {
      this.send(encodeRstStream({ streamId: frame.streamId, status: stream ? RST_STATUS.streamAlreadyClosed : RST_STATUS.invalidStream }));
      return;
    }
    if (frame.data.length > 0) this.o.onData(stream, frame.data);
    if (frame.flags & FLAG_FIN) this.endRemote(stream);
  }

  private endRemote(stream: SpdyStream): void {
    if (stream.remoteClosed) return;
    stream.remoteClosed = true;
    this.forgetIfDone(stream);
    this.o.onStreamEnd(stream);
  }

  /** A long-lived connection (port-forward) opens streams for ever: closed ones are dropped. */
  private forgetIfDone(stream: SpdyStream): void {
    if (stream.localClosed && stream.remoteClosed) this.streams.delete(stream.id);
  }

  private protocolError(): void {
    if (this.closed) return;
    this.goneAway = true;
    this.send(encodeGoAway({ lastGoodStreamId: this.lastStreamId, status: GOAWAY_STATUS.protocolError }));
    this.outbound = this.outbound.then(() => {
      this.o.socket.destroy();
    });
    this.shutDown();
  }

  private shutDown(): void {
    if (this.closed) return;
    this.closed = true;
    this.compressor.close();
    this.decompressor.close();
    this.o.onClose();
  }
}
