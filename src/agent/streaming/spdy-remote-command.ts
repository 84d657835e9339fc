// kubectl exec/attach over SPDY/3.1 (kubelet's older transport; kubectl ≤ 1.29
// speaks only this, newer ones fall back to it). After the 101, the client
// opens one stream per channel, named by its `streamtype` header; the command
// starts streaming once every stream the request implies is open. The
// conversation itself is command-session.ts, shared with WebSocket.
import type { Duplex } from 'node:stream';
import type { StreamSession } from '../runtime/types.ts';
import { CHANNEL, type ChannelProtocol } from './channel-protocol.ts';
import { clientInput, runRemoteCommand, type CommandChannels, type StreamRequest } from './command-session.ts';
import { SpdyConnection, type SpdyStream } from './spdy-connection.ts';

export type SpdyProtocol = Pick<ChannelProtocol, 'name' | 'version'>;

/** Server preference, newest first (kubelet's list for SPDY). */
const SPDY_PROTOCOLS: readonly SpdyProtocol[] = [
  { name: 'v4.channel.k8s.io', version: 4 },
  { name: 'v3.channel.k8s.io', version: 3 },
  { name: 'v2.channel.k8s.io', version: 2 },
  { name: 'channel.k8s.io', version: 1 },
];
export const SPDY_PROTOCOL_NAMES: readonly string[] = SPDY_PROTOCOLS.map((p) => p.name);

/**
 * The X-Stream-Protocol-Version to answer with. A client that offers none gets
 * the first protocol (channel.k8s.io), as kubelet's handshake allows;
 * undefined when it offers only unknown ones.
 */
export function negotiateSpdyProtocol(offered: readonly string[]): SpdyProtocol | undefined {
  if (offered.length === 0) return SPDY_PROTOCOLS[SPDY_PROTOCOLS.length - 1];
  const names = new Set(offered.map((p) => p.trim()));
  return SPDY_PROTOCOLS.find((p) => names.has(p.name));
}

const STREAM_TYPES: Record<string, number> = {
  stdin: CHANNEL.stdin, stdout: CHANNEL.stdout, stderr: CHANNEL.stderr, error: CHANNEL.error, resize: CHANNEL.resize,
};

/** The streams kubelet waits for before it starts: error, the requested ones, resize (v3+) with a TTY. */
function expectedChannels(protocol: SpdyProtocol, request: StreamRequest): number[] {
  const channels: number[] = [CHANNEL.error];
  if (request.stdin) channels.push(CHANNEL.stdin);
  if (request.stdout) channels.push(CHANNEL.stdout);
  if (request.stderr && !request.tty) channels.push(CHANNEL.stderr);
  if (request.tty && protocol.version >= 3) channels.push(CHANNEL.resize);
  return channels;
}

// kubelet's default stream creation timeout.
const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface ServeSpdyRemoteCommandOptions {
  /** The connection, after the 101 response was written on it. */
  socket: Duplex;
  head: Buffer;
  protocol: SpdyProtocol;
  session: StreamSession;
  request: StreamRequest;
  streamCreationTimeoutMs?: number;
}

/** Resolves when the session is over and the connection closed (by either side). */
export async function serveSpdyRemoteCommand(options: ServeSpdyRemoteCommandOptions): Promise<void> {
  const { protocol, session, request } = options;
  const input = clientInput(session, request);
  const byChannel = new Map<number, SpdyStream>();
  const expected = expectedChannels(protocol, request);
  let allOpen: () => void = () => undefined;
  const streamsOpen = new Promise<void>((resolve) => (allOpen = resolve));
  let closeConnection: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (closeConnection = resolve));

  const channelOf = (stream: SpdyStream): number | undefined => STREAM_TYPES[stream.headers.get('streamtype')?.[0] ?? ''];
  const connection = new SpdyConnection({
    socket: options.socket,
    head: options.head,
    onStream(stream) {
      const channel = channelOf(stream);
      if (channel === undefined || byChannel.has(channel)) return; // kubelet ignores what it does not know
      byChannel.set(channel, stream);
      if (expected.every((c) => byChannel.has(c))) allOpen();
    },
    onData(stream, data) {
      const channel = channelOf(stream);
      if (channel !== undefined && byChannel.get(channel) === stream) input.data(channel, data);
    },
    onStreamEnd(stream) {
      const channel = channelOf(stream);
      if (channel !== undefined && byChannel.get(channel) === stream) input.close(channel);
    },
    onClose: () => closeConnection(),
  });

  // The command is already running (started before the 101, so refusals are
  // HTTP answers): what it says before the client's streams are open waits.
  // Until then, sends and the final finish are queued; the pending bytes
  // count as buffered, so the output pumps pause as for a slow client.
  let ready = false;
  let pendingBytes = 0;
  const pending: Array<{ run: () => void; drop: () => void; bytes: number }> = [];
  const whenReady = (action: { run: () => void; drop: () => void; bytes: number }): void => {
    if (ready) return action.run();
    if (!connection.isOpen) return action.drop();
    pendingBytes += action.bytes;
    pending.push(action);
  };
  const timer = setTimeout(() => connection.destroy(), options.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS);
  void streamsOpen.then(() => {
    clearTimeout(timer);
    ready = true;
    pendingBytes = 0;
    for (const action of pending.splice(0)) action.run();
  });
  void closed.then(() => {
    clearTimeout(timer);
    // The client never opened the streams the request asked for: nothing can be delivered.
    for (const action of pending.splice(0)) action.drop();
  });

  const channels: CommandChannels = {
    closed,
    isOpen: () => connection.isOpen,
    bufferedAmount: () => pendingBytes + connection.bufferedAmount,
    send(channel, payload, done) {
      whenReady({
        bytes: payload.length,
        drop: done,
        run() {
          const stream = byChannel.get(channel);
          if (!stream || !connection.isOpen) return done();
          connection.write(stream, payload, done);
        },
      });
    },
    finish() {
      whenReady({
        bytes: 0,
        drop: () => undefined,
        run() {
          // Every stream this side writes ends, then the connection (kubelet closes its spdystream connection).
          for (const stream of byChannel.values()) connection.finish(stream);
          connection.end();
        },
      });
    },
    terminate: () => connection.destroy(),
  };
  await runRemoteCommand({ channels, session, request, protocol });
}
