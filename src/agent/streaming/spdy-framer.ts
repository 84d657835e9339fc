// SPDY/3.1 framing (the transport kubectl ≤ 1.29 uses for exec and attach,
// and newer ones fall back to). Every frame has an 8-byte header:
//   control: 1 bit set, 15-bit version (3), 16-bit type | 8-bit flags, 24-bit length
//   data:    1 bit clear, 31-bit stream id              | 8-bit flags, 24-bit length
// Header blocks (in SYN_STREAM, SYN_REPLY, HEADERS) are a count and
// length-prefixed names and values, compressed with one zlib stream per
// direction for the whole connection, primed with SPDY3_HEADER_DICTIONARY.
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY3_HEADER_DICTIONARY } from './spdy-dictionary.ts';

export const SPDY_VERSION = 3;
export const FRAME_TYPE = { synStream: 1, synReply: 2, rstStream: 3, settings: 4, ping: 6, goAway: 7, headers: 8, windowUpdate: 9 } as const;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const RST_STATUS = { protocolError: 1, invalidStream: 2, refusedStream: 3, cancel: 5, streamInUse: 8, streamAlreadyClosed: 9 } as const;
export const GOAWAY_STATUS = { ok: 0, protocolError: 1, internalError: 2 } as const;
const MAX_LENGTH = 0xffffff;
const STREAM_ID_MASK = 0x7fffffff;

export type RawFrame =
  | { control: false; streamId: number; flags: number; data: Buffer }
  | { control: true; version: number; type: number; flags: number; payload: Buffer };

/** Splits a byte stream into frames; bytes of an incomplete frame wait for the next push. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: RawFrame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4) & MAX_LENGTH;
      if (this.pending.length < 8 + length) break;
      const body = this.pending.subarray(8, 8 + length);
      const flags = this.pending[4]!;
      const first = this.pending.readUInt32BE(0);
      if (first & 0x80000000) frames.push({ control: true, version: (first >>> 16) & 0x7fff, type: first & 0xffff, flags, payload: body });
      else frames.push({ control: false, streamId: first & STREAM_ID_MASK, flags, data: body });
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}

function frameHeader(first: number, flags: number, length: number): Buffer {
  if (length > MAX_LENGTH) throw new Error(`SPDY frame of ${length} bytes is too long`);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(first >>> 0, 0);
  header.writeUInt32BE(((flags & 0xff) << 24 | length) >>> 0, 4);
  return header;
}

export function encodeDataFrame(options: { streamId: number; data?: Buffer; fin?: boolean }): Buffer {
  const data = options.data ?? Buffer.alloc(0);
  return Buffer.concat([frameHeader(options.streamId & STREAM_ID_MASK, options.fin ? FLAG_FIN : 0, data.length), data]);
}

export function encodeControlFrame(options: { type: number; flags?: number; payload: Buffer }): Buffer {
  const first = 0x80000000 | (SPDY_VERSION << 16) | options.type;
  return Buffer.concat([frameHeader(first, options.flags ?? 0, options.payload.length), options.payload]);
}

function words(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => buffer.writeUInt32BE(value >>> 0, i * 4));
  return buffer;
}

export interface SynStream {
  streamId: number;
  associatedStreamId: number;
  priority: number;
  flags: number;
  /** Still compressed. */
  headerBlock: Buffer;
}

export function encodeSynStream(options: Omit<SynStream, 'flags'> & { flags?: number }): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(options.streamId & STREAM_ID_MASK, 0);
  fixed.writeUInt32BE(options.associatedStreamId & STREAM_ID_MASK, 4);
  fixed[8] = (options.priority & 0x7) << 5;
  return encodeControlFrame({ type: FRAME_TYPE.synStream, flags: options.flags, payload: Buffer.concat([fixed, options.headerBlock]) });
}

export function decodeSynStream(frame: { flags: number; payload: Buffer }): SynStream {
  if (frame.payload.length < 10) throw new Error('SYN_STREAM frame too short');
  return {
    streamId: frame.payload.readUInt32BE(0) & STREAM_ID_MASK,
    associatedStreamId: frame.payload.readUInt32BE(4) & STREAM_ID_MASK,
    priority: frame.payload[8]! >> 5,
    flags: frame.flags,
    headerBlock: frame.payload.subarray(10),
  };
}

/** SYN_REPLY and HEADERS: a stream id, then a (compressed) header block. */
export function encodeStreamHeaders(options: { type: number; streamId: number; headerBlock: Buffer; fin?: boolean }): Buffer {
  const payload = Buffer.concat([words(options.streamId & STREAM_ID_MASK), options.headerBlock]);
  return encodeControlFrame({ type: options.type, flags: options.fin ? FLAG_FIN : 0, payload });
}

export function decodeStreamHeaders(frame: { payload: Buffer }): { streamId: number; headerBlock: Buffer } {
  if (frame.payload.length < 4) throw new Error('SYN_REPLY/HEADERS frame too short');
  return { streamId: frame.payload.readUInt32BE(0) & STREAM_ID_MASK, headerBlock: frame.payload.subarray(4) };
}

export function encodeRstStream(options: { streamId: number; status: number }): Buffer {
  return encodeControlFrame({ type: FRAME_TYPE.rstStream, payload: words(options.streamId & STREAM_ID_MASK, options.status) });
}

export function encodePing(id: number): Buffer {
  return encodeControlFrame({ type: FRAME_TYPE.ping, payload: words(id) });
}

export function encodeGoAway(options: { lastGoodStreamId: number; status: number }): Buffer {
  return encodeControlFrame({ type: FRAME_TYPE.goAway, payload: words(options.lastGoodStreamId & STREAM_ID_MASK, options.status) });
}

/** The two 32-bit words of RST_STREAM (stream, status), PING (id) or GOAWAY (last good stream, status). */
export function decodeWords(frame: { payload: Buffer }, count: number): number[] {
  if (frame.payload.length < count * 4) throw new Error('control frame too short');
  return Array.from({ length: count }, (_, i) => frame.payload.readUInt32BE(i * 4));
}

/** Header names and their values (several values of one name travel NUL-separated). */
export type HeaderMap = Map<string, string[]>;

export function encodeHeaderBlock(headers: HeaderMap): Buffer {
  const parts: Buffer[] = [words(headers.size)];
  for (const [name, values] of headers) {
    const nameBytes = Buffer.from(name.toLowerCase(), 'utf8');
    const valueBytes = Buffer.from(values.join('\0'), 'utf8');
    parts.push(words(nameBytes.length), nameBytes, words(valueBytes.length), valueBytes);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): HeaderMap {
  const headers: HeaderMap = new Map();
  let offset = 0;
  const take = (length: number): Buffer => {
    if (offset + length > block.length) throw new Error('truncated SPDY header block');
    const bytes = block.subarray(offset, offset + length);
    offset += length;
    return bytes;
  };
  const count = take(4).readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const name = take(take(4).readUInt32BE(0)).toString('utf8').toLowerCase();
    const values = take(take(4).readUInt32BE(0)).toString('utf8').split('\0');
    headers.set(name, [...(headers.get(name) ?? []), ...values]);
  }
  return headers;
}

/**
 * One direction's header compression state: each block is pushed through the
 * same zlib stream and ended with a sync flush, so the peer can inflate it as
 * soon as it arrives. Calls are serialized (the stream's state is shared).
 */
class HeaderZlib {
  private readonly stream: Deflate | Inflate;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(stream: Deflate | Inflate) {
    this.stream = stream;
    // Errors surface through process(); this keeps an unread 'error' from being thrown.
    stream.on('error', () => undefined);
  }

  process(input: Buffer): Promise<Buffer> {
    const result = this.queue.then(() => new Promise<Buffer>((resolve, reject) => {
      const stream = this.stream;
      const onError = (error: Error): void => reject(error);
      stream.once('error', onError);
      stream.write(input);
      // The readable side is never put in flowing mode: zlib pushes its output
      // before it calls back, so at the callback the whole block is buffered.
      stream.flush(constants.Z_SYNC_FLUSH, () => {
        stream.off('error', onError);
        const chunks: Buffer[] = [];
        for (let chunk: Buffer | null; (chunk = stream.read() as Buffer | null) !== null;) chunks.push(chunk);
        resolve(Buffer.concat(chunks));
      });
    }));
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.stream.destroy();
  }
}

// Large enough that one header block never fills the readable buffer (which would stall the flush).
const ZLIB_BUFFER = { readableHighWaterMark: 1024 * 1024 };

export class HeaderCompressor {
  private readonly zlib = new HeaderZlib(createDeflate({ dictionary: SPDY3_HEADER_DICTIONARY, ...ZLIB_BUFFER }));
  compress(headers: HeaderMap): Promise<Buffer> {
    return this.zlib.process(encodeHeaderBlock(headers));
  }
  close(): void {
    this.zlib.close();
  }
}

export class HeaderDecompressor {
  private readonly zlib = new HeaderZlib(createInflate({ dictionary: SPDY3_HEADER_DICTIONARY, ...ZLIB_BUFFER }));
  async decompress(block: Buffer): Promise<HeaderMap> {
    return decodeHeaderBlock(await this.zlib.process(block));
  }
  close(): void {
    this.zlib.close();
  }
}
