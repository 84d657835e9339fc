// A remote command (exec or attach) joined to its client, whatever carries
// the channels (WebSocket messages or SPDY streams): client stdin and resizes
// in, stdout/stderr out, and at the end the exit status on the error channel
// followed by a normal end of the connection — the order kubectl waits for.
import type { StreamSession } from '../runtime/types.ts';
import { CHANNEL, exitPayload, parseResize, type ChannelProtocol } from './channel-protocol.ts';

export interface StreamRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The client's end of the conversation, as a transport presents it. */
export interface CommandChannels {
  /** Resolves when the client is gone (connection closed, by either side). */
  readonly closed: Promise<void>;
  isOpen(): boolean;
  /** Bytes accepted by send() but not yet written out. */
  bufferedAmount(): number;
  /** `done` runs once the payload is written, or dropped because the connection is gone. */
  send(channel: number, payload: Buffer, done: () => void): void;
  /** The normal end, after the status went out (WebSocket close 1000; SPDY FINs and GOAWAY). */
  finish(): void;
  /** Drops the connection (the client did not leave after finish). */
  terminate(): void;
}

/** Applies what the client sends to the session; transports call it per message. */
export interface ClientInput {
  data(channel: number, payload: Buffer): void;
  /** The client closed a channel (v5 close signal, SPDY FIN). */
  close(channel: number): void;
}

export function clientInput(session: StreamSession, request: StreamRequest): ClientInput {
  session.stdin?.on?.('error', () => undefined); // writes after the process ended
  return {
    data(channel, payload) {
      if (channel === CHANNEL.stdin && request.stdin) session.stdin?.write(payload);
      else if (channel === CHANNEL.resize && request.tty) for (const size of parseResize(payload)) session.resize(size);
    },
    close(channel) {
      if (channel === CHANNEL.stdin) session.stdin?.end();
    },
  };
}

export interface RunRemoteCommandOptions {
  channels: CommandChannels;
  session: StreamSession;
  request: StreamRequest;
  /** The protocol version decides the error channel's format (exitPayload). */
  protocol: Pick<ChannelProtocol, 'version'>;
}

// Output is paused while this much is queued on the connection, so a fast
// producer and a slow client do not grow the agent's memory without bound.
const HIGH_WATER_BYTES = 1024 * 1024;
// After the process exits, its pipes normally end at once; a background child
// that inherited them could keep them open for ever, so the wait is bounded.
const OUTPUT_DRAIN_AFTER_EXIT_MS = 2000;

/** Resolves when the session is over and the connection closed (by either side). */
export async function runRemoteCommand(options: RunRemoteCommandOptions): Promise<void> {
  const { channels, session, request, protocol } = options;
  let clientGone = !channels.isOpen();
  const closed = channels.closed.then(() => {
    clientGone = true;
  });

  const outputs = [pump(session.stdout, request.stdout ? CHANNEL.stdout : undefined)];
  if (session.stderr) outputs.push(pump(session.stderr, request.stderr && !request.tty ? CHANNEL.stderr : undefined));

  function pump(stream: NodeJS.ReadableStream, channel: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer | string) => {
        // Output nobody asked for is read and dropped, so the process never blocks on a full pipe.
        if (channel === undefined) return;
        channels.send(channel, Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk), () => {
          if (channels.bufferedAmount() < HIGH_WATER_BYTES && stream.isPaused()) stream.resume();
        });
        if (channels.bufferedAmount() >= HIGH_WATER_BYTES) stream.pause();
      });
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
    });
  }

  const exited = session.exited.then((exitCode) => ({ exitCode }), (error: Error) => ({ error: error.message }));
  const outcome = clientGone ? undefined : await Promise.race([exited, closed.then(() => undefined)]);
  if (clientGone || !outcome) {
    // The client left (or detached): an exec'd process is killed, an attach only detaches.
    session.close();
    return;
  }
  await Promise.race([Promise.all(outputs), delay(OUTPUT_DRAIN_AFTER_EXIT_MS)]);
  const status = exitPayload(protocol, outcome);
  await new Promise<void>((resolve) => (status ? channels.send(CHANNEL.error, status, resolve) : resolve()));
  if (channels.isOpen()) channels.finish();
  session.close();
  await Promise.race([closed, delay(OUTPUT_DRAIN_AFTER_EXIT_MS)]);
  if (!clientGone) channels.terminate();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
