// kubectl port-forward over SPDY/3.1 (also when tunnelled in WebSocket
// messages). One connection carries many forwarded connections: for each,
// the client opens an error stream and a data stream, both with headers
// `streamtype` (error | data), `port` and `requestid` (older clients send no
// request id: kubelet then pairs stream N (error) with N+2 (data)). Once both
// streams of a pair are open the node dials the pod's port and copies bytes;
// a failure is written to the error stream. When the pod closes, the data
// stream and then the error stream are finished (kubectl waits for both).
import type { Duplex } from 'node:stream';
import { forwardingError, parsePort, PodConnection } from './port-forward.ts';
import { SpdyConnection, type SpdyStream } from './spdy-connection.ts';
import type { PodTarget } from './types.ts';

// kubelet's default stream creation timeout: a pair whose other half never comes is dropped.
const STREAM_CREATION_TIMEOUT_MS = 30_000;

interface StreamPair {
  requestId: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
  connection: PodConnection;
}

export interface ServeSpdyPortForwardOptions {
  /** The connection after the 101 (or the tunnel inside a WebSocket). */
  socket: Duplex;
  head: Buffer;
  target: PodTarget;
  dial: (port: number) => Promise<Duplex>;
  streamCreationTimeoutMs?: number;
}

/** Resolves when the client's connection is closed; every pod connection it opened is dropped then. */
export function serveSpdyPortForward(options: ServeSpdyPortForwardOptions): Promise<void> {
  const { target } = options;
  const pairs = new Map<string, StreamPair>();
  const byStream = new Map<number, StreamPair>();
  let closeConnection: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closeConnection = resolve));

  const requestIdOf = (stream: SpdyStream, type: string): string => {
    const header = stream.headers.get('requestid')?.[0];
    if (header) return header;
    return String(type === 'data' ? stream.id - 2 : stream.id);
  };

  const release = (pair: StreamPair): void => {
    clearTimeout(pair.timer);
    pairs.delete(pair.requestId);
    for (const stream of [pair.data, pair.error]) if (stream) byStream.delete(stream.id);
  };

  /** Writes `message` on the pair's error stream, then ends both streams. */
  const fail = (pair: StreamPair, message: string): void => {
    if (pair.error) connection.write(pair.error, Buffer.from(message));
    for (const stream of [pair.data, pair.error]) if (stream) connection.finish(stream);
    pair.connection.destroy();
    release(pair);
  };

  const forward = async (pair: StreamPair & { data: SpdyStream; error: SpdyStream }): Promise<void> => {
    clearTimeout(pair.timer);
    let port: number;
    try {
      port = parsePort(pair.data.headers.get('port')?.[0]);
    } catch (error) {
      fail(pair, (error as Error).message);
      return;
    }
    let socket: Duplex;
    try {
      socket = await options.dial(port);
    } catch (error) {
      fail(pair, forwardingError(target, port, error));
      return;
    }
    if (!connection.isOpen) {
      socket.destroy();
      return;
    }
    const { data, error } = pair;
    await pair.connection.attach(socket, {
      write: (chunk, done) => connection.write(data, chunk, done),
      end: () => connection.finish(data),
      bufferedAmount: () => connection.bufferedAmount,
    });
    connection.finish(error);
    release(pair);
  };

  const connection = new SpdyConnection({
    socket: options.socket,
    head: options.head,
    onStream(stream) {
      const type = stream.headers.get('streamtype')?.[0];
      if (type !== 'data' && type !== 'error') {
        // kubelet answers an unknown stream type by ending it; the connection lives on.
        connection.finish(stream);
        return;
      }
      const requestId = requestIdOf(stream, type);
      let pair = pairs.get(requestId);
      if (!pair) {
        const created: StreamPair = {
          requestId,
          connection: new PodConnection(),
          timer: setTimeout(() => fail(created, 'timed out waiting for streams'), options.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS),
        };
        pair = created;
        pairs.set(requestId, pair);
      }
      if (pair[type]) {
        connection.finish(stream); // a second stream of one type for one request: ignored
        return;
      }
      pair[type] = stream;
      byStream.set(stream.id, pair);
      if (pair.data && pair.error) void forward(pair as StreamPair & { data: SpdyStream; error: SpdyStream });
    },
    onData(stream, chunk) {
      const pair = byStream.get(stream.id);
      if (pair && pair.data === stream) pair.connection.write(chunk);
    },
    onStreamEnd(stream) {
      const pair = byStream.get(stream.id);
      if (!pair || pair.data !== stream) return;
      if (stream.reset) pair.connection.destroy();
      else pair.connection.end();
    },
    onClose: () => closeConnection(),
  });

  return closed.then(() => {
    for (const pair of pairs.values()) {
      clearTimeout(pair.timer);
      pair.connection.destroy();
    }
    pairs.clear();
    byStream.clear();
  });
}
