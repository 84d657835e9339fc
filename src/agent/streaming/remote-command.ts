// Joins one WebSocket speaking a channel protocol to a runtime StreamSession
// (an exec'd process or an attached container): client stdin and resizes in,
// stdout/stderr out, and at the end the exit status on the error channel
// followed by a normal close — the order kubectl waits for.
import type { WebSocket } from 'ws';
import type { StreamSession } from '../runtime/types.ts';
import { CHANNEL, decodeFrame, encodeFrame, exitPayload, parseResize, type ChannelProtocol } from './channel-protocol.ts';

export interface StreamRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface ServeRemoteCommandOptions {
  socket: WebSocket;
  protocol: ChannelProtocol;
  session: StreamSession;
  request: StreamRequest;
}

// Output is paused while this much is queued on the socket, so a fast producer
// and a slow client do not grow the agent's memory without bound.
const HIGH_WATER_BYTES = 1024 * 1024;
// After the process exits, its pipes normally end at once; a background child
// that inherited them could keep them open for ever, so the wait is bounded.
const OUTPUT_DRAIN_AFTER_EXIT_MS = 2000;

/** Resolves when the session is over and the socket closed (by either side). */
export async function serveRemoteCommand(options: ServeRemoteCommandOptions): Promise<void> {
  const { socket, protocol, session, request } = options;
  let socketClosed = socket.readyState !== socket.OPEN;
  const closed = new Promise<void>((resolve) => {
    if (socketClosed) resolve();
    socket.once('close', () => {
      socketClosed = true;
      resolve();
    });
  });

  socket.on('message', (data, isBinary) => {
    const frame = decodeFrame(protocol, toBuffer(data), isBinary);
    if (!frame) return;
    if (frame.kind === 'close') {
      if (frame.channel === CHANNEL.stdin) session.stdin?.end();
      return;
    }
    if (frame.channel === CHANNEL.stdin && request.stdin) session.stdin?.write(frame.payload);
    else if (frame.channel === CHANNEL.resize && request.tty) for (const size of parseResize(frame.payload)) session.resize(size);
  });
  socket.on('error', () => undefined); // a broken connection shows up as 'close'
  session.stdin?.on?.('error', () => undefined); // writes after the process ended

  const send = (channel: number, payload: Buffer, done?: () => void): void => {
    if (socket.readyState !== socket.OPEN) return done?.();
    const frame = encodeFrame(protocol, channel, payload);
    socket.send(frame.data, { binary: frame.binary }, () => done?.());
  };
  const outputs = [pump(session.stdout, request.stdout ? CHANNEL.stdout : undefined)];
  if (session.stderr) outputs.push(pump(session.stderr, request.stderr && !request.tty ? CHANNEL.stderr : undefined));

  function pump(stream: NodeJS.ReadableStream, channel: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer | string) => {
        // Output nobody asked for is read and dropped, so the process never blocks on a full pipe.
        if (channel === undefined) return;
        send(channel, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), () => {
          if (socket.bufferedAmount < HIGH_WATER_BYTES && stream.isPaused()) stream.resume();
        });
        if (socket.bufferedAmount >= HIGH_WATER_BYTES) stream.pause();
      });
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
    });
  }

  const exited = session.exited.then((exitCode) => ({ exitCode }), (error: Error) => ({ error: error.message }));
  const outcome = await Promise.race([exited, closed.then(() => undefined)]) ?? { error: 'client went away' };
  if (socketClosed) {
    // The client left (or detached): an exec'd process is killed, an attach only detaches.
    session.close();
    return;
  }
  await Promise.race([Promise.all(outputs), delay(OUTPUT_DRAIN_AFTER_EXIT_MS)]);
  const status = exitPayload(protocol, outcome);
  await new Promise<void>((resolve) => (status ? send(CHANNEL.error, status, resolve) : resolve()));
  if (socket.readyState === socket.OPEN) socket.close(1000);
  session.close();
  await Promise.race([closed, delay(OUTPUT_DRAIN_AFTER_EXIT_MS)]);
  if (!socketClosed) socket.terminate();
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
