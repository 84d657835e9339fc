// Joins one WebSocket speaking a channel protocol to a runtime StreamSession
// (an exec'd process or an attached container); the conversation itself is
// command-session.ts, shared with the SPDY transport.
import type { WebSocket } from 'ws';
import type { StreamSession } from '../runtime/types.ts';
import { decodeFrame, encodeFrame, type ChannelProtocol } from './channel-protocol.ts';
import { clientInput, runRemoteCommand, type CommandChannels, type StreamRequest } from './command-session.ts';

export type { StreamRequest } from './command-session.ts';

export interface ServeRemoteCommandOptions {
  socket: WebSocket;
  protocol: ChannelProtocol;
  session: StreamSession;
  request: StreamRequest;
}

/** Resolves when the session is over and the socket closed (by either side). */
export async function serveRemoteCommand(options: ServeRemoteCommandOptions): Promise<void> {
  const { socket, protocol, session, request } = options;
  const closed = new Promise<void>((resolve) => {
    if (socket.readyState !== socket.OPEN) resolve();
    socket.once('close', () => resolve());
  });
  const input = clientInput(session, request);
  socket.on('message', (data, isBinary) => {
    const frame = decodeFrame(protocol, toBuffer(data), isBinary);
    if (!frame) return;
    if (frame.kind === 'close') input.close(frame.channel);
    else input.data(frame.channel, frame.payload);
  });
  socket.on('error', () => undefined); // a broken connection shows up as 'close'

  const channels: CommandChannels = {
    closed,
    isOpen: () => socket.readyState === socket.OPEN,
    bufferedAmount: () => socket.bufferedAmount,
    send(channel, payload, done) {
      if (socket.readyState !== socket.OPEN) return done();
      const frame = encodeFrame(protocol, channel, payload);
      socket.send(frame.data, { binary: frame.binary }, () => done());
    },
    finish: () => socket.close(1000),
    terminate: () => socket.terminate(),
  };
  await runRemoteCommand({ channels, session, request, protocol });
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
